package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/examples"
	"github.com/weftio/weft/integration/internal/chain"
	"github.com/weftio/weft/internal/cli"
	"github.com/weftio/weft/internal/linkfix"
	"github.com/weftio/weft/internal/testenv"
)

// TestPulsarFunctions deploys the four role binaries with the deploy
// command to the functions worker of the real broker and runs the examples
// end to end with every role a Pulsar Function launched by the worker, on
// Redis and on PostgreSQL storage. It then SIGKILLs the executor's
// instance process mid-way through chains of sequential tasks: the worker
// starts it again and every chain completes with each step's result
// recorded once, in order, and the admin API reports the function running.
func TestPulsarFunctions(t *testing.T) {
	for _, st := range []string{"redis", "postgres"} {
		t.Run(st, func(t *testing.T) { runOnPulsarFunctions(t, st) })
	}
}

// pfRegistry is the code the deployed executor runs: the examples and the
// chain workflow.
func pfRegistry(out io.Writer) (*weft.Registry, error) {
	reg := weft.NewRegistry()
	if err := examples.Register(reg, out); err != nil {
		return nil, err
	}
	return reg, chain.Register(reg, "", 0)
}

// buildRoleBinaries builds the role binaries as make functions does, with
// the executor of the examples and the chain, into a new directory.
func buildRoleBinaries(t *testing.T, storage string) string {
	t.Helper()
	dir := t.TempDir()
	tags := "weft_custom weft_pulsar weft_" + storage
	flags, err := linkfix.BuildFlags(context.Background(), ".", filepath.Join(dir, ".linkfix"))
	if err != nil {
		t.Fatal(err)
	}
	for role, pkg := range map[string]string{
		"executor":       "./internal/pfexecutor",
		"state-engine":   "../functions/state-engine",
		"tag-engine":     "../functions/tag-engine",
		"event-listener": "../functions/event-listener",
	} {
		args := append(append([]string{"build"}, flags...), "-trimpath", "-tags", tags, "-o", filepath.Join(dir, role), pkg)
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", role, err, out)
		}
	}
	return dir
}

// deploy runs the weft command line on the test's registry.
func deployCmd(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p := cli.Program{Name: "weft", Registry: pfRegistry}
	if code := cli.Run(ctx, p, args, &out, &errOut); code != 0 {
		t.Fatalf("weft %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out.String(), errOut.String())
	}
	return out.String()
}

func runOnPulsarFunctions(t *testing.T, st string) {
	env := settings(t, st, "pulsar")
	for k, v := range env {
		t.Setenv(k, v)
	}
	dir := buildRoleBinaries(t, st)
	prefix := "it-" + testenv.Suffix() + "-"
	out := deployCmd(t, "deploy", "pulsar-functions", "-dir", dir, "-prefix", prefix, "-wait", "3m")
	t.Logf("deploy:\n%s", out)
	t.Cleanup(func() { deployCmd(t, "undeploy", "pulsar-functions", "-prefix", prefix) })

	cfg := load(t, env)
	stores, trans := open(t, cfg)
	reg, err := pfRegistry(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	c, err := client.New(ctx, client.Config{Transport: trans, Store: stores.KeyValue, Tags: stores.KeySet, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var narrative bytes.Buffer
	if err := examples.RunAll(ctx, c, &narrative); err != nil {
		t.Fatalf("examples on Pulsar Functions: %v\n%s", err, narrative.String())
	}

	// Chains of sequential steps, with the executor killed mid-way.
	const chains, steps = 6, 10
	var handles []*client.Handle[chain.Output]
	for range chains {
		h, err := client.Dispatch(ctx, c, chain.Run, chain.Input{Steps: steps, Pause: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		handles = append(handles, h)
	}
	pid := instancePID(t, prefix+"executor")
	time.Sleep(time.Second) // let some steps run (pacing only: nothing is asserted on time)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the executor instance %d: %v", pid, err)
	}
	for i, h := range handles {
		got, err := h.Await(ctx)
		if err != nil {
			t.Fatalf("chain %d (%s): %v", i, h.WorkflowID, err)
		}
		if want := chain.Expected(steps); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("chain %s = %v, want %v (each step's result recorded once, in order)", h.WorkflowID, got, want)
		}
	}
	if again := instancePID(t, prefix+"executor"); again == pid {
		t.Errorf("the executor instance is still process %d after SIGKILL", pid)
	}
	// The worker reports the restarted instance running.
	statusURL := env["WEFT_PULSAR_ADMIN_URL"] + "/admin/v3/functions/public/" + env["WEFT_PULSAR_NAMESPACE"] + "/" + prefix + "executor/status"
	for {
		var status struct{ NumInstances, NumRunning int }
		resp, err := http.Get(statusURL)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&status)
			resp.Body.Close()
		}
		if err == nil && status.NumInstances > 0 && status.NumRunning == status.NumInstances {
			t.Logf("executor after the kill: %d of %d instances running", status.NumRunning, status.NumInstances)
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the executor function is not reported running after its restart: %+v, %v", status, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// instancePID finds the process of a function's instance: the worker
// starts the binary it downloaded into a directory named after the
// function.
func instancePID(t *testing.T, function string) int {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			var pid int
			if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
				continue
			}
			cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err != nil {
				continue
			}
			args := strings.Split(string(cmdline), "\x00")
			if strings.Contains(args[0], "/"+function+"/") && len(args) > 1 && strings.HasPrefix(args[1], "-instance-conf") {
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no instance process of %s", function)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
