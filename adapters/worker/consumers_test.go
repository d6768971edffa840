package worker_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/adapters/worker"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
)

// TestOutputsToUnconsumedTopicsAreReported: what a worker publishes to a
// topic nothing has subscribed to (a task of a service no executor serves)
// is reported in Unconsumed and logged as a warning naming the topic and
// what would consume it; consumed topics and topics nobody need consume
// (clients' responses) are not.
func TestOutputsToUnconsumedTopicsAreReported(t *testing.T) {
	t.Parallel()
	mem, _ := setup(t)
	served := subscribe(t, mem, "task-executor:Served", "executor")
	defer served.Close()
	fn := newFn("in:unconsumed", false, func(_ context.Context, in core.Envelope) (functions.Result, error) {
		return functions.Result{Outputs: []core.Envelope{
			env("task-executor:Ghost", in.ID+"-1", ""), env("task-executor:Served", in.ID+"-2", ""), env("response:client-gone", in.ID+"-3", ""),
		}}, nil
	})
	var logs syncBuffer
	w, err := worker.New(mem, fn, worker.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	<-w.Ready()
	publish(t, mem, env("in:unconsumed", "in-1", ""))
	receive(t, served) // the outputs are out
	deadline := time.Now().Add(30 * time.Second)
	for !slices.Equal(w.Unconsumed(), []string{"task-executor:Ghost"}) {
		if time.Now().After(deadline) {
			t.Fatalf("Unconsumed = %v, want [task-executor:Ghost]", w.Unconsumed())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The warning is logged right after the topic is listed: wait for it.
	out := logs.String()
	for !strings.Contains(out, "level=WARN") || !strings.Contains(out, "topic=task-executor:Ghost") || !strings.Contains(out, "executor serving the service") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning naming the topic and its consumer:\n%s", out)
		}
		time.Sleep(5 * time.Millisecond)
		out = logs.String()
	}
	if strings.Contains(out, "Served") || strings.Contains(out, "client-gone") {
		t.Fatalf("a consumed or unwatched topic was reported:\n%s", out)
	}
	// Published again within the minute: not asked, not logged again.
	publish(t, mem, env("in:unconsumed", "in-2", ""))
	receive(t, served)
	if n := strings.Count(logs.String(), "topic=task-executor:Ghost"); n != 1 {
		t.Fatalf("warned %d times within a minute, want once:\n%s", n, logs.String())
	}
}
