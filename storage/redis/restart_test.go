package redis_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/weftio/weft/internal/tcpproxy"
	"github.com/weftio/weft/storage/redis"
)

// TestServerRestart puts a proxy between the Store and the server and cuts
// it, which is what a client sees while the server restarts: calls fail
// (within the timeouts, not hanging), and once the server is back they work
// again on the data written before, with versions continuing.
func TestServerRestart(t *testing.T) {
	t.Parallel()
	proxy, err := tcpproxy.Start(serverAddr(serverConfig(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	host, portText := proxy.HostPort()
	port, _ := strconv.Atoi(portText)
	const timeout = time.Second
	s := newStore(t, func(c *redis.Config) {
		c.Host, c.Port = host, port
		c.DialTimeout, c.ReadTimeout, c.WriteTimeout = timeout, timeout, timeout
	})
	ctx := t.Context()

	if v, err := s.Put(ctx, "k", []byte("before"), 0, 0); err != nil || v != 1 {
		t.Fatalf("Put before the restart = %d, %v", v, err)
	}
	if err := s.Add(ctx, "set", []byte("m")); err != nil {
		t.Fatalf("Add before the restart: %v", err)
	}

	proxy.Down()
	// Far above the 1 s timeouts: go-redis retries a few times with
	// backoff, and the check is "fails instead of hanging".
	const failBound = 15 * time.Second
	ops := map[string]func() error{
		"Get":  func() error { _, _, err := s.Get(ctx, "k"); return err },
		"Put":  func() error { _, err := s.Put(ctx, "k", []byte("during"), 1, 0); return err },
		"Page": func() error { _, _, err := s.Page(ctx, "set", "", 10); return err },
		"Add":  func() error { return s.Add(ctx, "set", []byte("during")) },
	}
	for name, op := range ops {
		start := time.Now()
		err := op()
		took := time.Since(start)
		if err == nil {
			t.Fatalf("%s succeeded while the server was down", name)
		}
		if took > failBound {
			t.Errorf("%s took %v to fail", name, took)
		}
		t.Logf("%s while down (%v): %v", name, took.Round(time.Millisecond), err)
	}

	proxy.Up()
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, ver, err := s.Get(ctx, "k")
		if err == nil {
			if ver != 1 || string(v) != "before" {
				t.Fatalf("Get after the restart = %q v%d, want \"before\" v1", v, ver)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Get still failing 20s after the server came back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v, err := s.Put(ctx, "k", []byte("after"), 1, 0); err != nil || v != 2 {
		t.Fatalf("Put after the restart = %d, %v; want version 2", v, err)
	}
	ms, next, err := s.Page(ctx, "set", "", 10)
	if err != nil || next != "" || len(ms) != 1 || string(ms[0]) != "m" {
		t.Fatalf("Page after the restart = %q, %q, %v; want [m]", ms, next, err)
	}
}
