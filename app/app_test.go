package app_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/app"
	"github.com/weftio/weft/examples/greeter"
)

// buffer is a bytes.Buffer safe for a writer and a reader at once.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }
func (b *buffer) String() string              { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

func registry(t *testing.T) *weft.Registry {
	reg := weft.NewRegistry()
	if err := greeter.Register(reg); err != nil {
		t.Fatal(err)
	}
	return reg
}

// Start-up errors name the variable, role or runtime that is wrong, and
// the binary exits 1 without running anything.
func TestStartupErrorsNameTheSetting(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		args []string
		opts []app.Option
		want string
	}{
		{env: map[string]string{"WEFT_STROAGE": "redis"}, want: "WEFT_STROAGE (-): not a weft setting"},
		{env: map[string]string{"WEFT_REDIS_HOST": "r.example"}, want: `WEFT_REDIS_HOST (-): a setting of the redis storage driver is not built into this binary: import _ "github.com/weftio/weft/storage/redis"`},
		{env: map[string]string{"WEFT_ROLES": "executor,scheduler"}, want: `WEFT_ROLES (roles): "scheduler" is not a role`},
		{env: map[string]string{"WEFT_RUNTIME": "knative"}, want: "WEFT_RUNTIME: the knative runtime is not built into this binary"},
		{env: map[string]string{"WEFT_RUNTIME": "openwhisk"}, want: `WEFT_RUNTIME: "openwhisk" is not a runtime`},
		{args: []string{"-instance-conf", "{}"}, want: "the pulsar-functions runtime is not built into this binary"},
		{env: map[string]string{"WEFT_STORAGE": "postgres"}, want: `WEFT_STORAGE (storage): the postgres storage driver is not built into this binary`},
		{opts: []app.Option{app.Roles("executor")}, want: "WEFT_ROLES: the memory transport connects the roles of one process only"},
		{env: map[string]string{"WEFT_ROLES": "state-engine"}, opts: []app.Option{app.Roles("executor")}, want: "runs the executor role only, not state-engine"},
		{opts: []app.Option{app.Roles("scheduler")}, want: `built to run the role "scheduler"`},
		{args: []string{"worker", "extra"}, want: "the worker runtime takes no arguments"},
	} {
		for k, v := range c.env {
			t.Setenv(k, v)
		}
		var out, errOut buffer
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		code := app.Run(ctx, registry(t), c.args, &out, &errOut, c.opts...)
		cancel()
		if code != 1 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("env %v args %q: exit %d, stderr %q; want 1 and %q", c.env, c.args, code, errOut.String(), c.want)
		}
		for k := range c.env {
			os.Unsetenv(k) // for the next case; t.Setenv restores the rest at the end
		}
	}
}

// Without a command the binary runs every role on the worker runtime
// (here on memory) until stopped, then exits 0.
func TestRunsTheRolesUntilStopped(t *testing.T) {
	var out, errOut buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- app.Run(ctx, registry(t), nil, &out, &errOut, app.Name("greeter")) }()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), "greeter: ready") {
		if time.Now().After(deadline) {
			t.Fatalf("no banner; stdout %q, stderr %q", out.String(), errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// All roles but the event listener, which has no sink to hand events to.
	if s := out.String(); !strings.Contains(s, "greeter: state-engine,tag-engine,executor on the worker runtime (memory transport, memory storage; workflows: Greeting; services: Greeter)") {
		t.Errorf("banner %q, want the roles, the runtime and the code", s)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d after stop; stderr %q", code, errOut.String())
	}
}

// The weft commands run on the program's own code: dev serves its
// workflows, config validate checks its configuration, replay checks
// histories against it.
func TestCommandsOnTheProgramsCode(t *testing.T) {
	var out, errOut buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- app.Run(ctx, registry(t), []string{"dev", "-addr", "127.0.0.1:0"}, &out, &errOut, app.Name("greeter"))
	}()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), "greeter dev server on http://127.0.0.1:") {
		if time.Now().After(deadline) {
			t.Fatalf("no dev server; stdout %q, stderr %q", out.String(), errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "workflows: Greeting; services: Greeter") {
		t.Errorf("dev banner %q does not name the program's code", out.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("dev exit %d; stderr %q", code, errOut.String())
	}

	var cfgOut, cfgErr buffer
	if code := app.Run(context.Background(), registry(t), []string{"config", "validate"}, &cfgOut, &cfgErr); code != 0 ||
		!strings.Contains(cfgOut.String(), "WEFT_ROLES") {
		t.Errorf("config validate: exit %d, stdout %q, stderr %q", code, cfgOut.String(), cfgErr.String())
	}

	// States of the examples' approval workflow: this program has no such
	// code, and replay says so instead of checking it against the examples.
	var repOut, repErr buffer
	code := app.Run(context.Background(), registry(t), []string{"replay", "../internal/cli/testdata/replay"}, &repOut, &repErr)
	if code != 1 || !strings.Contains(repOut.String(), `no workflow "ExpenseApproval" is registered (registered: [Greeting])`) {
		t.Errorf("replay of another program's states: exit %d, stdout %q, stderr %q", code, repOut.String(), repErr.String())
	}
}
