//go:build linux

package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

// probeGroup is the consumer group of the harness's probes: a group of its
// own gets its own copy of every message, so probing takes nothing from the
// role that consumes the topic next.
const probeGroup = "bench-probe"

// probe tells when the first answer of a role reached the harness: the
// first matching message on the topic the role publishes to, or the first
// matching event posted to the harness's event sink.
type probe struct {
	first chan time.Time // holds the first match's arrival
	stop  func()
}

func newProbe() *probe { return &probe{first: make(chan time.Time, 1), stop: func() {}} }

func (p *probe) hit(at time.Time) {
	select {
	case p.first <- at:
	default: // a later match: only the first counts
	}
}

// wait returns the arrival of the first match, or an error when exited is
// closed first (the role died) or timeout passes.
func (p *probe) wait(timeout time.Duration, exited <-chan struct{}) (time.Time, error) {
	select {
	case at := <-p.first:
		return at, nil
	case <-exited:
		return time.Time{}, errors.New("the process exited before it answered")
	case <-time.After(timeout):
		return time.Time{}, fmt.Errorf("no answer within %v", timeout)
	}
}

// probeTopic subscribes probeGroup to topic and notes the arrival of the
// first message for which match is true. It must be called before the
// answer is published: a group sees only what is published once it exists
// (pgqueue gives a topic's earlier messages to its first group only).
func probeTopic(ctx context.Context, tr transport.Transport, topic string, match func(core.Message) bool) (*probe, error) {
	sub, err := tr.Subscribe(ctx, topic, transport.SubscribeOptions{Group: probeGroup})
	if err != nil {
		return nil, fmt.Errorf("probe %s: %w", topic, err)
	}
	p := newProbe()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			d, err := sub.Receive(rctx)
			if err != nil {
				if rctx.Err() != nil || errors.Is(err, transport.ErrClosed) {
					return
				}
				time.Sleep(50 * time.Millisecond) // the broker away for a moment
				continue
			}
			at := time.Now()
			_ = d.Ack(rctx)
			env, err := core.DecodeEnvelope(d.Body())
			if err != nil {
				continue
			}
			if m, err := core.DecodeMessage(env); err == nil && match(m) {
				p.hit(at)
			}
		}
	}()
	p.stop = func() {
		cancel()
		_ = sub.Close()
		<-done
	}
	return p, nil
}

// probeSink serves an HTTP CloudEvents sink (binary mode, as
// adapters/eventsink posts) that accepts every event and notes the arrival
// of the first whose subject is subject: a workflow event of that instance.
func probeSink(subject string) (*probe, *httptest.Server) {
	p := newProbe()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		if r.Header.Get("Ce-Subject") == subject && r.Header.Get("Ce-Id") != "" {
			p.hit(at)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	p.stop = srv.Close
	return p, srv
}
