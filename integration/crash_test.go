package integration

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/integration/internal/chain"
)

var (
	buildOnce   sync.Once
	workerBin   string
	workerBuild error
)

// crashWorker builds the worker binary once per test run.
func crashWorker(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "weft-crashworker-")
		if err != nil {
			workerBuild = err
			return
		}
		workerBin = filepath.Join(dir, "crashworker")
		out, err := exec.Command("go", "build", "-race", "-o", workerBin, "./internal/crashworker").CombinedOutput()
		if err != nil {
			workerBuild = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if workerBuild != nil {
		t.Fatal(workerBuild)
	}
	return workerBin
}

// worker is one running crashworker process.
type worker struct {
	cmd  *exec.Cmd
	done chan error
	log  *bytes.Buffer
}

// startWorker starts the worker with env and waits until its roles run.
func startWorker(t *testing.T, env map[string]string, name string) *worker {
	t.Helper()
	cmd := exec.Command(crashWorker(t))
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	w := &worker{cmd: cmd, done: make(chan error, 1), log: &stderr}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "crashworker ready") {
				close(ready)
				signalled = true
			}
		}
		w.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	select {
	case <-ready:
	case err := <-w.done:
		t.Fatalf("%s exited before it was ready: %v\n%s", name, err, stderr.String())
	case <-time.After(time.Minute):
		t.Fatalf("%s not ready after a minute\n%s", name, stderr.String())
	}
	return w
}

// taskRuns reads the task log: how many times each task id ran.
func taskRuns(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	execs, err := chain.ParseLog(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]int{}
	for _, e := range execs {
		runs[e.TaskID]++
	}
	return runs
}

// TestWorkerKilledMidWorkflow runs chains of sequential tasks on a worker
// process, kills it with SIGKILL while they are half done, starts a new
// one, and checks every workflow completes with the right result, every
// task ran at least once and each task's result was recorded once (the
// workflow saw exactly one result per step, in order).
func TestWorkerKilledMidWorkflow(t *testing.T) {
	combinations(t, func(t *testing.T, st, tr string) {
		const (
			workflows = 12
			steps     = 10
			total     = workflows * steps
		)
		env := settings(t, st, tr)
		logPath := filepath.Join(t.TempDir(), "tasks.log")
		env["CHAIN_TASK_LOG"] = logPath
		env["CHAIN_TASK_PAUSE"] = "40ms"
		env["WEFT_WORKER_CONCURRENCY"] = "4"
		env["WEFT_WORKER_SHUTDOWN_GRACE"] = "5s"

		cfg := load(t, env)
		stores, trans := open(t, cfg)
		kv := stores.KeyValue
		reg := weft.NewRegistry()
		if err := chain.Register(reg, "", 0); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		c, err := client.New(ctx, client.Config{Transport: trans, Store: kv, Registry: reg})
		if err != nil {
			t.Fatalf("client: %v", err)
		}
		defer c.Close()

		first := startWorker(t, env, "first worker")
		var handles []*client.Handle[chain.Output]
		for range workflows {
			h, err := client.Dispatch(ctx, c, chain.Run, chain.Input{Steps: steps})
			if err != nil {
				t.Fatalf("dispatch: %v", err)
			}
			handles = append(handles, h)
		}

		// Kill the worker once about a third of the tasks ran.
		for len(taskRuns(t, logPath)) < total/3 {
			select {
			case err := <-first.done:
				t.Fatalf("first worker exited: %v\n%s", err, first.log)
			case <-ctx.Done():
				t.Fatalf("only %d tasks ran before the deadline\n%s", len(taskRuns(t, logPath)), first.log)
			case <-time.After(5 * time.Millisecond):
			}
		}
		if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-first.done
		atKill := len(taskRuns(t, logPath))
		if atKill >= total {
			t.Fatalf("every task had run before the kill (%d); the test proves nothing", atKill)
		}

		second := startWorker(t, env, "second worker")
		for i, h := range handles {
			out, err := h.Await(ctx)
			if err != nil {
				t.Fatalf("workflow %d (%s): %v\nsecond worker log:\n%s", i, h.WorkflowID, err, second.log)
			}
			want := chain.Expected(steps)
			if fmt.Sprint(out) != fmt.Sprint(want) {
				t.Errorf("workflow %s returned %v, want %v (each step's result recorded once, in order)", h.WorkflowID, out, want)
			}
		}
		runs := taskRuns(t, logPath)
		if len(runs) != total {
			t.Errorf("%d distinct tasks ran, want %d", len(runs), total)
		}
		again := 0
		for _, n := range runs {
			again += n - 1
		}
		if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-second.done:
			if err != nil {
				t.Errorf("second worker stopped with %v\n%s", err, second.log)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("second worker did not stop within 30s of SIGTERM")
		}
		t.Logf("%d of %d tasks had run at the kill; %d task executions repeated after it", atKill, total, again)
	})
}
