package bootstrap_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
)

// TestEventsReachTheKSink runs a workflow with the sink taken from $K_SINK
// (as under a Knative SinkBinding) and checks the HTTP receiver got its
// lifecycle events as binary-mode CloudEvents.
func TestEventsReachTheKSink(t *testing.T) {
	var mu sync.Mutex
	types := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		types[r.Header.Get("Ce-Type")]++
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	t.Setenv("K_SINK", srv.URL)
	cfg, err := config.Load(config.Source{Lookup: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := bootstrap.EventSink(cfg)
	if err != nil || sink == nil {
		t.Fatalf("EventSink with K_SINK set: %v, %v", sink, err)
	}

	ref := weft.NewWorkflow[int, int]("Evented", "run")
	task := weft.NewTask[int, int]("EventedSvc", "double")
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, task, func(_ weft.TaskContext, n int) (int, error) { return 2 * n, nil }))
	weft.MustRegister(weft.RegisterWorkflow(reg, ref, func(ctx weft.Context, n int) (int, error) { return weft.Call(ctx, task, n) }))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := embedded.Start(ctx, reg, embedded.Options{EventSink: sink})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Stop()
	if got, err := client.Run(ctx, rt.Client(), ref, 21); err != nil || got != 42 {
		t.Fatalf("workflow = %d, %v", got, err)
	}
	want := []string{"weft.event.workflow.dispatched", "weft.event.task.dispatched", "weft.event.task.started",
		"weft.event.task.completed", "weft.event.workflow.methodCompleted", "weft.event.workflow.completed"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		missing := ""
		for _, w := range want {
			if types[w] == 0 {
				missing = w
				break
			}
		}
		mu.Unlock()
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sink never got %s (got %v)", missing, types)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEventSinkConfiguration(t *testing.T) {
	t.Setenv("K_SINK", "")
	cfg, err := config.Load(config.Source{Lookup: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if sink, err := bootstrap.EventSink(cfg); sink != nil || err != nil {
		t.Errorf("no sink configured: %v, %v; want none", sink, err)
	}
	_, err = config.Load(config.Source{Lookup: func(k string) (string, bool) {
		if k == "WEFT_EVENTS_SINK" {
			return "kafka://x", true
		}
		return "", false
	}})
	if err == nil {
		t.Error("a non-http events sink was accepted")
	}
}
