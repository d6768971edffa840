package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/storage/memory"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestResultForNoInstanceIsDeadLettered: a result for an instance that does
// not exist fails permanently, naming the instance and the reason, so the
// worker dead-letters it; a signal for one is logged and counted, never
// silently lost from sight.
func TestResultForNoInstanceIsDeadLettered(t *testing.T) {
	ctx := context.Background()
	logs := &lockedBuffer{}
	eng, err := functions.NewStateEngine(functions.StateEngineConfig{
		Store: memory.New(), Workflows: []string{"W"},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	envelope := func(m core.Message, id string) core.Envelope {
		t.Helper()
		at := time.Unix(1, 0)
		env, err := core.BuildEnvelope(core.Out{Topic: core.Topic(core.PrefixWorkflowEngine, "W"), Key: "w-404", Subject: "w-404", Msg: m}, id, at, "test", at)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	res, err := eng.Handle(ctx, envelope(&core.CommandResult{Kind: core.TaskCompleted, Workflow: "W", WorkflowID: "w-404", MethodRunID: "w-404", CommandID: "c-1", Value: json.RawMessage(`1`)}, "r-1"))
	if !functions.IsPermanent(err) {
		t.Fatalf("result for no instance: %v, %+v; want a permanent error", err, res)
	}
	for _, want := range []string{"w-404", "W", "c-1", "TaskCompleted", "no such instance"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if _, err := eng.Handle(ctx, envelope(&core.SendSignal{Workflow: "W", WorkflowID: "w-404", Channel: "ch", SignalID: "s-1", Data: json.RawMessage(`1`)}, "s-1")); err != nil {
		t.Fatalf("signal for no instance: %v", err)
	}
	if d := eng.Drops(); d.NoInstance != 2 || d.Ended != 0 {
		t.Errorf("Drops = %+v, want 2 for no instance", d)
	}
	if l := logs.String(); !strings.Contains(l, "message dropped") || !strings.Contains(l, "w-404") {
		t.Errorf("the dropped signal is not logged: %q", l)
	}
}

// TestMissingGraceAsksAgain: on a transport without per-key order, a
// command for an instance with no state that is younger than MissingGrace
// is asked to come again (its dispatch may be on its way), and applies once
// the dispatch is in; one older than the grace is taken for what it says;
// a dispatch is never deferred.
func TestMissingGraceAsksAgain(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	eng, err := functions.NewStateEngine(functions.StateEngineConfig{Store: memory.New(), Workflows: []string{"W"},
		MissingGrace: time.Minute, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	envelope := func(topic string, m core.Message, id string, at time.Time) core.Envelope {
		t.Helper()
		env, err := core.BuildEnvelope(core.Out{Topic: topic, Key: "w-1", Subject: "w-1", Msg: m}, id, at, "test", at)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	signal := &core.SendSignal{Workflow: "W", WorkflowID: "w-1", Channel: "ch", SignalID: "s-1", Data: json.RawMessage(`1`)}
	_, err = eng.Handle(ctx, envelope(core.Topic(core.PrefixWorkflowCmd, "W"), signal, "s-1", now.Add(-time.Second)))
	after, notYet := functions.IsNotYet(err)
	if !notYet || after <= 0 || !strings.Contains(err.Error(), "w-1") || functions.IsPermanent(err) {
		t.Fatalf("a fresh signal for an instance with no state: %v; want NotYet naming it, with a delay", err)
	}
	if d := eng.Drops(); d.NoInstance != 0 {
		t.Errorf("the deferred signal was counted as dropped: %+v", d)
	}
	// Past the grace it is what it says: a signal for no instance, dropped.
	if _, err := eng.Handle(ctx, envelope(core.Topic(core.PrefixWorkflowCmd, "W"), signal, "s-1", now.Add(-2*time.Minute))); err != nil {
		t.Fatalf("an old signal for no instance: %v", err)
	}
	if d := eng.Drops(); d.NoInstance != 1 {
		t.Errorf("Drops = %+v, want the old signal dropped", d)
	}
	// The dispatch itself is not deferred, and then the signal applies.
	dispatch := &core.DispatchWorkflow{Workflow: "W", WorkflowID: "w-1", Method: "run", Input: json.RawMessage(`{}`)}
	res, err := eng.Handle(ctx, envelope(core.Topic(core.PrefixWorkflowCmd, "W"), dispatch, "d-1", now))
	if err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	if res.Commit != nil {
		if err := res.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := eng.Handle(ctx, envelope(core.Topic(core.PrefixWorkflowCmd, "W"), signal, "s-2", now.Add(-time.Second))); err != nil {
		if _, again := functions.IsNotYet(err); again {
			t.Fatalf("a signal after the dispatch is still deferred: %v", err)
		}
	}
}
