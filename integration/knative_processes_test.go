package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/examples"
	"github.com/weftio/weft/integration/internal/chain"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/linkfix"
	"github.com/weftio/weft/internal/testenv"
	storagememory "github.com/weftio/weft/storage/memory"
	ktransport "github.com/weftio/weft/transport/knative"
	"github.com/weftio/weft/transport/knative/knativetest"
)

// knAllRoles are the four roles, each a Knative Service of its own.
var knAllRoles = []config.Role{config.RoleStateEngine, config.RoleExecutor, config.RoleTagEngine, config.RoleEventListener}

// buildKnativeBinaries builds the role binaries with the Knative runtime
// and the storage's driver, as make functions does.
func buildKnativeBinaries(t *testing.T, storage string) string {
	t.Helper()
	dir := t.TempDir()
	flags, err := linkfix.BuildFlags(context.Background(), ".", filepath.Join(dir, ".linkfix"))
	if err != nil {
		t.Fatal(err)
	}
	for role, pkg := range map[config.Role]string{
		config.RoleExecutor:      "./internal/pfexecutor",
		config.RoleStateEngine:   "../functions/state-engine",
		config.RoleTagEngine:     "../functions/tag-engine",
		config.RoleEventListener: "../functions/event-listener",
	} {
		args := append(append([]string{"build"}, flags...), "-trimpath", "-tags", "weft_custom weft_knative weft_"+storage, "-o", filepath.Join(dir, string(role)), pkg)
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", role, err, out)
		}
	}
	return dir
}

// knProcesses runs replicas of the role binaries as processes in Knative
// mode (PORT, K_SERVICE, K_SINK set) behind a test Broker.
type knProcesses struct {
	t      *testing.T
	broker *knativetest.Broker
	dir    string
	env    map[string]string

	mu       sync.Mutex
	replicas map[config.Role][]*procReplica
	prefixes map[config.Role][]string
	seq      int
}

type procReplica struct {
	url  string
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan struct{}
}

// start runs one more replica of role and waits for it to be ready.
func (k *knProcesses) start(role config.Role) *procReplica {
	t := k.t
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	k.mu.Lock()
	k.seq++
	n := k.seq
	k.mu.Unlock()
	cmd := exec.Command(filepath.Join(k.dir, string(role)))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "PORT=" + strconv.Itoa(port),
		"K_SERVICE=weft-" + string(role), "K_REVISION=weft-" + string(role) + "-0000" + strconv.Itoa(n), "K_SINK=" + k.broker.URL()}
	for key, v := range k.env {
		if key == "WEFT_EVENTS_SINK" && role != config.RoleEventListener {
			continue // only the event listener hands events to the sink
		}
		cmd.Env = append(cmd.Env, key+"="+v)
	}
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = &lockedWriter{w: logs}, &lockedWriter{w: logs}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", role, err)
	}
	r := &procReplica{url: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, logs: logs, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-r.done
		}
		if t.Failed() {
			t.Logf("%s replica %d log:\n%s", role, n, tail(logs.String(), 4000))
		}
	})
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(r.url + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-r.done:
			t.Fatalf("%s replica exited before it was ready:\n%s", role, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s replica not ready after a minute:\n%s", role, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.replicas[role] = append(k.replicas[role], r)
	k.route(role)
	return r
}

// kill SIGKILLs a replica: what it held is lost to it, and the Broker
// delivers it again to another.
func (k *knProcesses) kill(role config.Role, r *procReplica) {
	k.mu.Lock()
	var left []*procReplica
	for _, x := range k.replicas[role] {
		if x != r {
			left = append(left, x)
		}
	}
	k.replicas[role] = left
	k.route(role)
	k.mu.Unlock()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		k.t.Fatalf("kill %s: %v", role, err)
	}
	<-r.done
}

func (k *knProcesses) route(role config.Role) {
	var urls []string
	for _, r := range k.replicas[role] {
		urls = append(urls, r.url)
	}
	for _, p := range k.prefixes[role] {
		k.broker.SetReplicas(string(role)+"/"+p, urls...)
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// TestKnativeProcesses runs the role binaries as separate processes in
// Knative mode, two replicas of each, behind a test Broker that fans out
// by trigger filters, delivers in parallel and out of order, retries 429
// and 5xx with backoff and dead-letters after its last try; on Redis and
// on PostgreSQL storage. The three examples run end to end; during chains
// of tasks one replica of every role is SIGKILLed and another started:
// every workflow completes with each step's result once and in order,
// nothing is dead-lettered, and the event listener hands lifecycle events
// to its sink.
func TestKnativeProcesses(t *testing.T) {
	for _, st := range []string{"redis", "postgres"} {
		t.Run(st, func(t *testing.T) {
			runKnativeProcesses(t, st)
		})
	}
}

func runKnativeProcesses(t *testing.T, st string) {
	dir := buildKnativeBinaries(t, st)
	broker := knativetest.New(knativetest.Options{Retry: 40, BackoffDelay: 50 * time.Millisecond, MaxBackoff: time.Second, RetryAfterMax: 2 * time.Second})
	defer broker.Close()

	var events atomic.Int64
	eventSink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		events.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer eventSink.Close()

	reg, err := knRegistry(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	env := settings(t, st, "knative")
	env["WEFT_LOG_LEVEL"] = "warn"
	env["WEFT_WORKFLOWS"] = strings.Join(reg.Workflows(), ",")
	env["WEFT_SERVICES"] = strings.Join(reg.Services(), ",")
	env["WEFT_EVENTS_ENABLED"] = "true"
	env["WEFT_EVENTS_SINK"] = eventSink.URL
	env["WEFT_KNATIVE_DELAY_POLL"] = "100ms"
	env["WEFT_WORKER_SHUTDOWN_GRACE"] = "2s"

	// What each role consumes decides its triggers, as in the manifests.
	k := &knProcesses{t: t, broker: broker, dir: dir, env: env, replicas: map[config.Role][]*procReplica{}, prefixes: map[config.Role][]string{}}
	cfg := load(t, map[string]string{"WEFT_TRANSPORT": "knative", "WEFT_KNATIVE_SINK": broker.URL(), "WEFT_EVENTS_ENABLED": "true"})
	probe, err := ktransport.New(context.Background(), ktransport.Config{Sink: broker.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	mem := storagememory.New()
	for _, role := range knAllRoles {
		fns, err := bootstrap.Roles{Config: cfg, Registry: reg, Transport: probe, Store: mem, Tags: mem,
			Sink: func(context.Context, core.Envelope, *core.Event) error { return nil }}.Functions([]config.Role{role})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range rolePrefixes(fns) {
			k.prefixes[role] = append(k.prefixes[role], p)
			broker.Route(knativetest.Trigger{Name: string(role) + "/" + p, Exact: map[string]string{ktransport.ExtPrefix: p}})
		}
	}
	victims := map[config.Role]*procReplica{}
	for _, role := range knAllRoles {
		victims[role] = k.start(role)
		k.start(role)
	}

	stores, err := bootstrap.OpenStorage(context.Background(), load(t, env))
	if err != nil {
		t.Fatal(err)
	}
	defer stores.Close()
	c := knativeClient(t, broker, stores)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var narrative bytes.Buffer
	if err := examples.RunAll(ctx, c, &narrative); err != nil {
		t.Fatalf("examples on Knative: %v\n%s\n%s", err, narrative.String(), broker)
	}

	const chains, steps = 10, 8
	var handles []*client.Handle[chain.Output]
	for range chains {
		h, err := client.Dispatch(ctx, c, chain.Run, chain.Input{Steps: steps, Pause: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		handles = append(handles, h)
	}
	for _, role := range knAllRoles {
		time.Sleep(150 * time.Millisecond) // pacing only: let some steps run
		k.kill(role, victims[role])
		k.start(role)
	}
	for i, h := range handles {
		got, err := h.Await(ctx)
		if err != nil {
			t.Fatalf("chain %d (%s): %v\n%s", i, h.WorkflowID, err, broker)
		}
		if want := chain.Expected(steps); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("chain %s = %v, want %v", h.WorkflowID, got, want)
		}
	}
	if dead := broker.DeadLetters(); len(dead) > 0 {
		t.Errorf("%d events dead-lettered by the Broker, the first: %s %s (%d %s)", len(dead), dead[0].Event.Type(), dead[0].Event.ID(), dead[0].Code, dead[0].Data)
	}
	if events.Load() == 0 {
		t.Error("the event listeners handed no lifecycle event to the sink")
	}
	t.Logf("%s; %d lifecycle events at the sink", broker, events.Load())
}

// knativeClient is a client on the Knative transport with the deployment's
// storage, receiving its answers through a trigger of its own.
func knativeClient(t *testing.T, broker *knativetest.Broker, stores *bootstrap.Stores) *client.Client {
	t.Helper()
	tr, err := ktransport.New(context.Background(), ktransport.Config{Sink: broker.URL()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tr)
	t.Cleanup(srv.Close)
	name := "knative-client-" + testenv.Suffix()
	broker.Route(knativetest.Trigger{Name: "client", Exact: map[string]string{ktransport.ExtTopic: core.Topic(core.PrefixResponse, name)}}, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.New(ctx, client.Config{Name: name, Transport: tr, Store: stores.KeyValue, Tags: stores.KeySet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); _ = tr.Close() })
	return c
}
