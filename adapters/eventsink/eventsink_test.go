package eventsink_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
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

// TestHTTPSinkErrorsHideSecrets: the sink URL's password and token appear
// in no error, whether the sink refuses, fails or cannot be reached.
func TestHTTPSinkErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("token") != "s3cr3t-token" {
			t.Errorf("the sink got %s, without its token", r.URL)
		}
		w.WriteHeader(map[bool]int{true: 400, false: 503}[r.Header.Get("ce-id") == "refuse"])
	}))
	defer srv.Close()
	withSecrets := func(base string) string {
		return strings.Replace(base, "http://", "http://hook:s3cr3t-password@", 1) + "/in?token=s3cr3t-token"
	}
	sink, err := eventsink.HTTP(withSecrets(srv.URL), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	env, ev := event(t)
	var errs []error
	errs = append(errs, sink(context.Background(), env, ev)) // 503
	env.ID = "refuse"
	errs = append(errs, sink(context.Background(), env, ev)) // 400
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	unreachable, err := eventsink.HTTP(withSecrets(closed), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	errs = append(errs, unreachable(context.Background(), env, ev))
	_, err = eventsink.HTTP("ftp://hook:s3cr3t-password@x/?token=s3cr3t-token", 0)
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Fatalf("error %d is nil", i)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error %d shows a secret: %v", i, err)
		}
	}
	if !functions.IsPermanent(errs[1]) || functions.IsPermanent(errs[0]) {
		t.Errorf("masking changed what is permanent: %v, %v", errs[0], errs[1])
	}
}
