package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/internal/devserver"
)

// syncBuffer is a bytes.Buffer safe for the demo's concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cli runs the CLI and returns its exit code, stdout and stderr.
func cli(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut syncBuffer
	code := run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	code, out, errOut := cli(ctx)
	if code != 2 || out != "" || !strings.Contains(errOut, "usage: weft <command>") {
		t.Errorf("no arguments: exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", code, out, errOut)
	}
	code, _, errOut = cli(ctx, "bogus")
	if code != 2 || !strings.Contains(errOut, `unknown command "bogus"`) || !strings.Contains(errOut, "usage:") {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
	for _, h := range []string{"help", "-h", "--help"} {
		code, out, errOut = cli(ctx, h)
		if code != 0 || !strings.Contains(out, "usage: weft <command>") || errOut != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", h, code, out, errOut)
		}
		for _, cmd := range []string{"demo", "dev", "dispatch", "describe", "result", "signal", "cancel", "retry-workflow-task", "retry-tasks"} {
			if !strings.Contains(out, "  "+cmd+" ") {
				t.Errorf("usage does not list %s", cmd)
			}
		}
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code, out, errOut := cli(ctx, "demo")
	if code != 0 {
		t.Fatalf("demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"trip 1 result: booked", "trip 2 result: failed as expected", "fan-out result: sum of squares 1..100 = 338350",
		"approval 1 result: approved by dave", "approval 2 result: expired"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

var (
	add1  = weft.NewTask[int, int]("Calc", "add1")
	echo  = weft.NewWorkflow[int, int]("Echo", "run")
	gated = weft.NewWorkflow[int, int]("Gated", "run")
	gate  = weft.NewChannel[string]("Gated", "open")
)

// devServer serves the dev server API over a small registry and returns
// its host:port.
func devServer(t *testing.T) string {
	t.Helper()
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(r, add1, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
	weft.MustRegister(weft.RegisterWorkflow(r, echo, func(ctx weft.Context, n int) (int, error) { return weft.Call(ctx, add1, n) }))
	weft.MustRegister(weft.RegisterWorkflow(r, gated, func(ctx weft.Context, n int) (int, error) {
		s, err := weft.Receive(ctx, gate).Await()
		return n + len(s), err
	}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	rt, err := embedded.Start(ctx, r, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(devserver.Handler(rt.Client(), devserver.Options{}))
	t.Cleanup(func() {
		srv.Close()
		if err := rt.Stop(); err != nil {
			t.Error(err)
		}
		cancel()
	})
	return strings.TrimPrefix(srv.URL, "http://")
}

// eventually runs the CLI until it exits 0, or fails after a deadline.
func eventually(t *testing.T, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, out, errOut := cli(context.Background(), args...)
		if code == 0 {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRemoteCommands(t *testing.T) {
	t.Parallel()
	addr := devServer(t)
	ctx := context.Background()
	a := []string{"-addr", addr}
	args := func(cmd string, rest ...string) []string { return append(append([]string{cmd}, a...), rest...) }

	code, out, errOut := cli(ctx, args("dispatch", "-wait", "Echo", "run", "41")...)
	if code != 0 || !strings.Contains(out, `"result":42`) {
		t.Fatalf("dispatch -wait: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = cli(ctx, args("dispatch", "Gated", "run", "10")...)
	var d struct {
		WorkflowID string `json:"workflowId"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || d.WorkflowID == "" {
		t.Fatalf("dispatch: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	id := d.WorkflowID
	if out := eventually(t, args("describe", id)...); !strings.Contains(out, `"workflowId": "`+id+`"`) {
		t.Fatalf("describe: %s", out)
	}
	code, _, errOut = cli(ctx, args("result", id)...)
	if code != 1 || !strings.Contains(errOut, "409") || !strings.Contains(errOut, "not_ended") {
		t.Fatalf("result while running: exit %d, stderr %q", code, errOut)
	}
	if out := eventually(t, args("signal", "Gated", id, "open", `"abc"`)...); !strings.Contains(out, "sent") {
		t.Fatalf("signal: %s", out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, out, errOut = cli(ctx, args("result", id)...)
		if code == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if code != 0 || !strings.Contains(out, `"state":"completed"`) || !strings.Contains(out, `"value":13`) {
		t.Fatalf("result: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// Cancel, and the retry commands, on another running instance.
	_, out, _ = cli(ctx, args("dispatch", "Gated", "run", "1")...)
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	eventually(t, args("describe", d.WorkflowID)...)
	for _, cmd := range []string{"retry-workflow-task", "retry-tasks", "cancel"} {
		if code, out, errOut := cli(ctx, args(cmd, "Gated", d.WorkflowID)...); code != 0 || !strings.Contains(out, "sent") {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q", cmd, code, out, errOut)
		}
	}
	if out := eventually(t, args("result", d.WorkflowID)...); !strings.Contains(out, `"state":"canceled"`) {
		t.Fatalf("result after cancel: %s", out)
	}

	// Errors from the server reach stderr with the status.
	code, _, errOut = cli(ctx, args("dispatch", "Nope", "run", "1")...)
	if code != 1 || !strings.Contains(errOut, "404") || !strings.Contains(errOut, "workflow_unknown") {
		t.Fatalf("unknown workflow: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = cli(ctx, args("dispatch", "Echo", "run", "{oops")...)
	if code != 1 || !strings.Contains(errOut, "400") {
		t.Fatalf("bad JSON: exit %d, stderr %q", code, errOut)
	}
	// Workflow ids are unique across workflow types: Echo cannot start
	// under the id of a running Gated instance.
	code, _, errOut = cli(ctx, args("dispatch", "-id", d.WorkflowID, "Echo", "run", "1")...)
	if code != 1 || !strings.Contains(errOut, "400") || !strings.Contains(errOut, "instance of workflow Gated") {
		t.Fatalf("dispatch with another workflow's id: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = cli(ctx, args("dispatch", "-wait", "-id", d.WorkflowID, "Echo", "run", "1")...)
	if code != 1 || !strings.Contains(errOut, "400") || !strings.Contains(errOut, "instance of workflow Gated") {
		t.Fatalf("dispatch -wait with another workflow's id: exit %d, stderr %q", code, errOut)
	}
	code, out, errOut = cli(ctx, args("dispatch", "-wait", "-id", "echo-own-id", "Echo", "run", "1")...)
	if code != 0 || !strings.Contains(out, `"result":2`) {
		t.Fatalf("dispatch -wait -id: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestRemoteArgumentCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := map[string][]string{
		"dispatch takes 3 argument(s), got 2":            {"dispatch", "Echo", "run"},
		"dispatch takes 3 argument(s), got 0":            {"dispatch", "-wait"},
		"describe takes 1 argument(s), got 0":            {"describe"},
		"result takes 1 argument(s), got 2":              {"result", "a", "b"},
		"signal takes 4 argument(s), got 3":              {"signal", "W", "id", "ch"},
		"cancel takes 2 argument(s), got 1":              {"cancel", "W"},
		"retry-workflow-task takes 2 argument(s), got 3": {"retry-workflow-task", "W", "id", "x"},
		"retry-tasks takes 2 argument(s), got 0":         {"retry-tasks"},
	}
	for want, args := range cases {
		// An address nobody listens on: the count is checked first.
		code, out, errOut := cli(ctx, append([]string{args[0], "-addr", "127.0.0.1:1"}, args[1:]...)...)
		if code != 1 || out != "" || !strings.Contains(errOut, want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", args, code, out, errOut, want)
		}
	}
}

func TestRemoteUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	code, _, errOut := cli(context.Background(), "describe", "-addr", addr, "some-id")
	if code != 1 || !strings.Contains(errOut, "dev server at "+addr) {
		t.Fatalf("exit %d, stderr %q; want an error naming %s", code, errOut, addr)
	}
}

// TestDevServer runs `weft dev` on a free port, drives it with the remote
// commands, and stops it by cancelling its context.
func TestDevServer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	exit := make(chan int, 1)
	go func() { exit <- run(ctx, []string{"dev", "-addr", "127.0.0.1:0"}, &out, &errOut) }()
	addrRE := regexp.MustCompile(`http://(127\.0\.0\.1:\d+)`)
	var addr string
	deadline := time.Now().Add(20 * time.Second)
	for addr == "" {
		if m := addrRE.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case code := <-exit:
			t.Fatalf("dev exited with %d: %s %s", code, out.String(), errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev printed no address: %q", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	code, res, e := cli(context.Background(), "dispatch", "-addr", addr, "-wait", "FanOut", "sumOfSquares", "10")
	if code != 0 || !strings.Contains(res, `"result":385`) {
		t.Fatalf("dispatch on the dev server: exit %d, stdout %q, stderr %q", code, res, e)
	}
	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("dev exited with %d after its context ended: %s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dev did not stop when its context ended")
	}
	// A second dev server on a busy address reports the address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, e = cli(context.Background(), "dev", "-addr", ln.Addr().String())
	if code != 1 || !strings.Contains(e, ln.Addr().String()) {
		t.Fatalf("dev on a busy address: exit %d, stderr %q", code, e)
	}
}
