package eventsink_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/adapters/eventsink"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
)

func event(t *testing.T) (core.Envelope, *core.Event) {
	t.Helper()
	ev := &core.Event{Kind: core.EventTaskCompleted, Service: "Billing", TaskID: "t-1", Value: []byte(`{"ok":true}`)}
	env, err := core.BuildEnvelope(core.EventOut(ev), "in-1", time.Unix(100, 0), "weft/executor", time.Unix(100, 0))
	if err != nil {
		t.Fatal(err)
	}
	return env, ev
}

func TestHTTPSinkPostsBinaryCloudEvents(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = r.Header.Clone()
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	sink, err := eventsink.HTTP(srv.URL, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	env, ev := event(t)
	if err := sink(context.Background(), env, ev); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for h, want := range map[string]string{"Ce-Id": env.ID, "Ce-Type": "weft.event.task.completed", "Ce-Source": "weft/executor",
		"Ce-Subject": "t-1", "Ce-Specversion": "1.0", "Content-Type": "application/json"} {
		if got.Get(h) != want {
			t.Errorf("header %s = %q, want %q", h, got.Get(h), want)
		}
	}
	if string(body) != string(env.Data) {
		t.Errorf("body %s, want %s", body, env.Data)
	}
}

func TestHTTPSinkErrors(t *testing.T) {
	for _, c := range []struct {
		status    int
		permanent bool
	}{{400, true}, {404, true}, {429, false}, {500, false}, {503, false}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(c.status) }))
		sink, err := eventsink.HTTP(srv.URL, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		env, ev := event(t)
		err = sink(context.Background(), env, ev)
		srv.Close()
		if err == nil || functions.IsPermanent(err) != c.permanent {
			t.Errorf("HTTP %d: %v (permanent %v), want permanent=%v", c.status, err, functions.IsPermanent(err), c.permanent)
		}
	}
	// Unreachable: retried, not permanent.
	sink, _ := eventsink.HTTP("http://127.0.0.1:1/", 200*time.Millisecond)
	env, ev := event(t)
	if err := sink(context.Background(), env, ev); err == nil || functions.IsPermanent(err) {
		t.Errorf("unreachable sink: %v, want a retryable error", err)
	}
	if _, err := eventsink.HTTP("ftp://x", 0); err == nil {
		t.Error("a non-http sink URL was accepted")
	}
}
