package pulsarfunctions

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	apulsar "github.com/apache/pulsar-client-go/pulsar"
)

// fakeProducer keeps what it is sent.
type fakeProducer struct {
	apulsar.Producer // methods the log topic does not call panic
	opts             apulsar.ProducerOptions
	mu               sync.Mutex
	sent             []string
	closed           bool
}

func (p *fakeProducer) SendAsync(_ context.Context, m *apulsar.ProducerMessage, cb func(apulsar.MessageID, *apulsar.ProducerMessage, error)) {
	p.mu.Lock()
	p.sent = append(p.sent, string(m.Payload))
	p.mu.Unlock()
	cb(nil, m, nil)
}

func (p *fakeProducer) FlushWithCtx(context.Context) error { return nil }

func (p *fakeProducer) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

func (p *fakeProducer) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.sent...)
}

func TestLogTopicGetsTheLines(t *testing.T) {
	t.Parallel()
	p := &fakeProducer{}
	var own syncBuffer
	lt := newLogTopic("persistent://public/default/logs", "public/default/fn", func(o apulsar.ProducerOptions) (apulsar.Producer, error) {
		p.opts = o
		return p, nil
	}, slog.New(slog.NewTextHandler(&own, nil)))
	var console syncBuffer
	log := slog.New(lt.handler(slog.NewTextHandler(&console, nil), slog.LevelInfo)).With("role", "engine")
	log.Debug("below the level")
	log.Info("handled", "token", "s3cr3t", "url", "postgres://u:hunter2@db/x")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); lt.run(ctx) }()
	deadline := time.Now().Add(waitTimeout)
	for len(p.lines()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	log.Warn("second")
	cancel()
	<-done

	lines := p.lines()
	if len(lines) != 2 || !strings.Contains(lines[0], "msg=handled") || !strings.Contains(lines[0], "role=engine") || !strings.Contains(lines[1], "msg=second") {
		t.Fatalf("log topic got %q, want the two lines at info and above (the second flushed at stop)", lines)
	}
	for _, secret := range []string{"s3cr3t", "hunter2"} {
		if strings.Contains(lines[0], secret) {
			t.Errorf("log topic line shows %q: %s", secret, lines[0])
		}
	}
	if !strings.Contains(console.String(), "msg=handled") {
		t.Errorf("the instance's own log lost the line: %s", console.String())
	}
	if p.opts.Topic != "persistent://public/default/logs" || p.opts.Properties["function"] != "public/default/fn" || p.opts.CompressionType != apulsar.LZ4 {
		t.Errorf("producer options %+v", p.opts)
	}
	if !p.closed {
		t.Error("producer not closed at stop")
	}
}

func TestLogTopicNeverBlocks(t *testing.T) {
	t.Parallel()
	var own syncBuffer
	lt := newLogTopic("persistent://public/default/logs", "public/default/fn", func(apulsar.ProducerOptions) (apulsar.Producer, error) {
		return nil, errors.New("broker says no")
	}, slog.New(slog.NewTextHandler(&own, nil)))
	log := slog.New(lt.handler(slog.DiscardHandler, slog.LevelInfo))
	// Nothing drains the queue: logging past its size must not block.
	for range logQueue + 10 {
		log.Info("line")
	}
	if n := lt.dropped.Load(); n != 10 {
		t.Errorf("dropped %d lines, want the 10 over the queue", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); lt.run(ctx) }()
	deadline := time.Now().Add(waitTimeout)
	for !strings.Contains(own.String(), "broker says no") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if l := own.String(); !strings.Contains(l, "cannot produce to the log topic") || !strings.Contains(l, "dropped") {
		t.Errorf("the instance's log does not say why lines are missing:\n%s", l)
	}
}
