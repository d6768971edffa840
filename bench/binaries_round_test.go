//go:build linux

package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/examples"
	"github.com/weftio/weft/examples/fanout"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/testenv"
	"github.com/weftio/weft/transport"
)

const (
	// startTimeout bounds the wait for a ready line, and answerTimeout
	// the one for a first answer: generous, the machine may be loaded.
	startTimeout  = 2 * time.Minute
	answerTimeout = 2 * time.Minute
	// idleAfterReady is how long a role idles after its ready line (and
	// its first answer) before its RSS is read.
	idleAfterReady = time.Second
	// stopGrace is how long a role gets after SIGTERM before SIGKILL; its
	// own shutdown grace (WEFT_WORKER_SHUTDOWN_GRACE) is shorter.
	stopGrace = 15 * time.Second
)

// round is one start of every role binary, in a namespace of its own (a
// fresh schema, key prefix or Pulsar namespace, so no round sees another's
// messages): one fanout workflow, dispatched with a customId tag before
// any role runs, walks through the roles one process at a time. The tag
// engine forwards the dispatch to workflow-cmd:FanOut; the state engine
// turns it into a workflow task on workflow-task-executor:FanOut; the
// executor runs it and sends its result to workflow-engine:FanOut; the
// event listener hands the events the others emitted to the harness's
// HTTP sink. Each role so finds its message waiting when it starts, and
// stops before the next starts.
type round struct {
	env        map[string]string // the WEFT_* settings of every role
	workflowID string
	sink       *httptest.Server
	probes     map[string]*probe // by role: where its first answer shows
	closers    []func() error
}

// roleSettings are what every role of a round serves: the fanout example
// only, so each subscribes to its topics and no others.
var roleSettings = map[string]string{
	"WEFT_WORKFLOWS":             fanout.SumOfSquares.Workflow(),
	"WEFT_SERVICES":              fanout.Square.Service(),
	"WEFT_EVENTS_ENABLED":        "true",
	"WEFT_WORKER_SHUTDOWN_GRACE": "5s",
}

// newRound prepares a round: it opens the profile's transport and storage
// in the benchmark's process, creates every role's consumer groups (as
// earlier runs of a deployment would have: on pgqueue a group gets only
// what is published once it exists, and the probes' groups exist first),
// subscribes the probes and dispatches the workflow.
func newRound(ctx context.Context, t testing.TB, p binaryProfile) (r *round, err error) {
	ns := "bin_" + testenv.Suffix()
	r = &round{env: testenv.Settings(t, p.storage, p.transport, ns), workflowID: "bench-" + ns, probes: map[string]*probe{}}
	defer func() {
		if err != nil {
			err = errors.Join(err, r.close())
		}
	}()
	for k, v := range roleSettings {
		r.env[k] = v
	}
	sinkProbe, sink := probeSink(r.workflowID)
	r.sink, r.probes["event-listener"] = sink, sinkProbe
	r.closers = append(r.closers, func() error { sinkProbe.stop(); return nil })
	cfg, err := config.Load(config.Source{Lookup: func(k string) (string, bool) {
		if k == "WEFT_EVENTS_SINK" {
			return sink.URL, true
		}
		v, ok := r.env[k]
		return v, ok
	}})
	if err != nil {
		return r, err
	}
	log := slog.New(slog.DiscardHandler)
	stores, err := bootstrap.OpenStorage(ctx, cfg)
	if err != nil {
		return r, err
	}
	r.closers = append(r.closers, stores.Close)
	tr, err := bootstrap.OpenTransport(ctx, cfg, log)
	if err != nil {
		return r, err
	}
	r.closers = append(r.closers, tr.Close)
	reg := weft.NewRegistry()
	if err := examples.Register(reg, io.Discard); err != nil {
		return r, err
	}
	evSink, err := bootstrap.EventSink(cfg)
	if err != nil {
		return r, err
	}
	fns, err := bootstrap.Roles{Config: cfg, Registry: reg, Transport: tr, Store: stores.KeyValue, Tags: stores.KeySet,
		Sink: evSink, Logger: log}.Functions(config.AllRoles)
	if err != nil {
		return r, err
	}
	for _, fn := range fns {
		// The groups and topics the role binaries subscribe to: their
		// worker's group is the function's name.
		for _, s := range fn.Subscriptions() {
			sub, err := tr.Subscribe(ctx, s.Topic, transport.SubscribeOptions{Group: fn.Name(), Keyed: s.Keyed})
			if err != nil {
				return r, fmt.Errorf("create group %s on %s: %w", fn.Name(), s.Topic, err)
			}
			if err := sub.Close(); err != nil {
				return r, err
			}
		}
	}
	if err := r.probeTopics(ctx, tr); err != nil {
		return r, err
	}
	c, err := client.New(ctx, client.Config{Transport: tr, Store: stores.KeyValue, Tags: stores.KeySet, Registry: reg, Logger: log})
	if err != nil {
		return r, err
	}
	r.closers = append(r.closers, c.Close)
	_, err = client.Dispatch(ctx, c, fanout.SumOfSquares, 2, client.WithID(r.workflowID), client.WithTags(core.CustomIDPrefix+ns))
	return r, err
}

// probeTopics subscribes a probe to the topic each role's first answer
// goes to, matching that answer for the round's workflow.
func (r *round) probeTopics(ctx context.Context, tr transport.Transport) error {
	w, id := fanout.SumOfSquares.Workflow(), r.workflowID
	for role, c := range map[string]struct {
		prefix string
		match  func(core.Message) bool
	}{
		"tag-engine": {core.PrefixWorkflowCmd, func(m core.Message) bool {
			d, ok := m.(*core.DispatchWorkflow)
			return ok && d.WorkflowID == id
		}},
		"state-engine": {core.PrefixWorkflowTaskExecutor, func(m core.Message) bool {
			t, ok := m.(*core.ExecuteWorkflowTask)
			return ok && t.WorkflowID == id
		}},
		"executor": {core.PrefixWorkflowEngine, func(m core.Message) bool {
			t, ok := m.(*core.WorkflowTaskCompleted)
			return ok && t.WorkflowID == id
		}},
	} {
		p, err := probeTopic(ctx, tr, core.Topic(c.prefix, w), c.match)
		if err != nil {
			return err
		}
		r.probes[role] = p
		r.closers = append(r.closers, func() error { p.stop(); return nil })
	}
	return nil
}

// childEnv is the environment of role's process: this one's without any
// WEFT_* variable (a role binary refuses settings of drivers it does not
// link) or K_SINK, plus the round's settings.
func (r *round) childEnv(role string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WEFT_") && !strings.HasPrefix(kv, "K_SINK=") {
			env = append(env, kv)
		}
	}
	for k, v := range r.env {
		env = append(env, k+"="+v)
	}
	if role == "event-listener" {
		env = append(env, "WEFT_EVENTS_SINK="+r.sink.URL)
	}
	return env
}

// measure starts role's binary, times its ready line and its first answer,
// reads its RSS once it has idled, and stops it.
func (r *round) measure(bin, role string) (s startSample, err error) {
	c, err := startChild(bin, role, r.childEnv(role))
	if err != nil {
		return s, err
	}
	defer func() {
		err = errors.Join(err, c.stop(stopGrace))
		s.logged = c.stderr.String()
	}()
	if s.ready, err = c.waitReady(startTimeout); err != nil {
		return s, err
	}
	at, err := r.probes[role].wait(answerTimeout, c.done)
	if err != nil {
		return s, fmt.Errorf("%s: %w\n%s", role, err, c.stderr)
	}
	if at.Before(c.started) {
		return s, fmt.Errorf("%s: its answer arrived before it was started: the harness probes the wrong topic", role)
	}
	s.answer = at.Sub(c.started)
	time.Sleep(time.Until(c.readyAt.Add(idleAfterReady)))
	s.rss, err = rss(c.cmd.Process.Pid)
	return s, err
}

// run starts every role binary once, in order, and returns their samples.
func (r *round) run(bins map[string]string) (map[string]startSample, error) {
	out := map[string]startSample{}
	for _, role := range roleBinaries {
		s, err := r.measure(bins[role], role)
		if err != nil {
			return nil, err
		}
		out[role] = s
	}
	return out, nil
}

func (r *round) close() error {
	var errs []error
	for i := len(r.closers) - 1; i >= 0; i-- {
		errs = append(errs, r.closers[i]())
	}
	r.closers = nil
	return errors.Join(errs...)
}
