package bootstrap

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestWorkerHealth: live always; ready only once the workers take
// messages and while the check passes, saying why not.
func TestWorkerHealth(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var ready, failing atomic.Bool
	stop, err := serveHealth(addr, &ready, func(context.Context) error {
		if failing.Load() {
			return errors.New("storage: connection refused")
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/health/live"); code != http.StatusOK {
		t.Errorf("live: %d", code)
	}
	if code, body := get("/health/ready"); code != http.StatusServiceUnavailable || !strings.Contains(body, "starting") {
		t.Errorf("ready before the workers: %d %q", code, body)
	}
	ready.Store(true)
	if code, body := get("/health/ready"); code != http.StatusOK {
		t.Errorf("ready: %d %q", code, body)
	}
	failing.Store(true)
	if code, body := get("/health/ready"); code != http.StatusServiceUnavailable || !strings.Contains(body, "connection refused") {
		t.Errorf("ready with the storage down: %d %q", code, body)
	}
	if _, err := serveHealth(addr, &ready, nil, nil); err == nil || !strings.Contains(err.Error(), "WEFT_WORKER_HEALTH_ADDR") {
		t.Errorf("a second server on the address: %v, want an error naming the setting", err)
	}
}
