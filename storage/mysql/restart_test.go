package mysql

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/weftio/weft/internal/tcpproxy"
	"github.com/weftio/weft/storage"
)

// TestServerRestart runs a store through a proxy and cuts every connection,
// as a server restart does: calls fail promptly with an error (not a hang,
// not a wrong answer), and once the server is back the same store works
// again with its data intact.
func TestServerRestart(t *testing.T) {
	t.Parallel()
	c := freshConfig(t)
	p, err := tcpproxy.Start(hostPort(c.withDefaults().Host, c.withDefaults().Port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	host, port := p.HostPort()
	c.Host, c.Port = host, mustAtoi(t, port)
	c.ConnectTimeout, c.ReadTimeout, c.WriteTimeout = time.Second, 2*time.Second, 2*time.Second
	s := newStore(t, c)
	ctx := t.Context()

	if _, err := s.Put(ctx, "k", []byte("before"), 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ctx, "set", []byte("m")); err != nil {
		t.Fatal(err)
	}

	p.Down()
	start := time.Now()
	_, _, err = s.Get(ctx, "k")
	wantOutage(t, "Get", err)
	_, err = s.Put(ctx, "k", []byte("during"), 1, 0)
	wantOutage(t, "Put", err)
	_, err = s.PutMany(ctx, []storage.Write{{Key: "k", Value: []byte("during"), Expected: 1}})
	wantOutage(t, "PutMany", err)
	wantOutage(t, "Add", s.Add(ctx, "set", []byte("during")))
	_, _, err = s.Page(ctx, "set", "", 10)
	wantOutage(t, "Page", err)
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("failing calls took %v with 1-2s timeouts", d)
	}

	p.Up()
	// The pool's connections are all dead; the first call must notice,
	// reconnect and succeed rather than fail once more.
	v, ver, err := s.Get(ctx, "k")
	if err != nil || string(v) != "before" || ver != 1 {
		t.Fatalf("Get after restart = (%q, %d, %v), want (before, 1, nil)", v, ver, err)
	}
	if ver, err := s.Put(ctx, "k", []byte("after"), 1, 0); err != nil || ver != 2 {
		t.Fatalf("Put after restart = (%d, %v), want (2, nil)", ver, err)
	}
	ms, _, err := s.Page(ctx, "set", "", 10)
	if err != nil || len(ms) != 1 || string(ms[0]) != "m" {
		t.Fatalf("Page after restart = (%q, %v), want [m]", ms, err)
	}
}

func wantOutage(t *testing.T, op string, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatalf("%s while the server is down: no error", op)
	case errors.Is(err, storage.ErrVersionConflict), errors.Is(err, storage.ErrClosed):
		t.Fatalf("%s while the server is down: %v, want a connection error", op, err)
	}
	t.Logf("%s while down: %v", op, err)
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
