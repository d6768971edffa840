package chaos

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// buildWorker builds integration/internal/crashworker into dir.
func buildWorker(ctx context.Context, dir string, race bool) (string, error) {
	bin := filepath.Join(dir, "crashworker")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "../internal/crashworker")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build crashworker: %v\n%s", err, out)
	}
	return bin, nil
}

// worker is one worker process: its incarnation number, its task log and
// its stderr.
type worker struct {
	n       int
	cmd     *exec.Cmd
	taskLog string
	errLog  string
	done    chan struct{} // closed once it exited
	err     error         // its exit, once done is closed
	killed  atomic.Bool   // stopped or killed by the suite
}

// pool runs the worker processes of one combination.
type pool struct {
	bin  string
	dir  string
	env  map[string]string
	step time.Duration // CHAIN_TASK_PAUSE

	mu   sync.Mutex
	next int
	all  []*worker // every incarnation, for the task logs
	live []*worker
	// exits are the workers that exited without being killed.
	exits []*worker
}

// start starts a new incarnation and waits until it says it is ready. A
// worker that fails to start (its services still coming back) is started
// again until ctx ends.
func (p *pool) start(ctx context.Context) (*worker, error) {
	for {
		w, err := p.startOnce(ctx)
		if err == nil {
			return w, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("start worker: %w (last: %v)", ctx.Err(), err)
		case <-time.After(time.Second):
		}
	}
}

func (p *pool) startOnce(ctx context.Context) (*worker, error) {
	p.mu.Lock()
	p.next++
	n := p.next
	p.mu.Unlock()
	w := &worker{n: n, taskLog: filepath.Join(p.dir, fmt.Sprintf("tasks-%03d.log", n)),
		errLog: filepath.Join(p.dir, fmt.Sprintf("worker-%03d.log", n)), done: make(chan struct{})}
	errf, err := os.Create(w.errLog)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(p.bin)
	cmd.Env = os.Environ()
	for k, v := range p.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "CHAIN_TASK_LOG="+w.taskLog, "CHAIN_TASK_PAUSE="+p.step.String())
	cmd.Stderr = errf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		errf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		errf.Close()
		return nil, err
	}
	w.cmd = cmd
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
		w.err = cmd.Wait()
		errf.Close()
		close(w.done)
		p.mu.Lock()
		defer p.mu.Unlock()
		for i, l := range p.live {
			if l == w {
				p.live = append(p.live[:i], p.live[i+1:]...)
				break
			}
		}
		if !w.killed.Load() && signalled {
			p.exits = append(p.exits, w)
		}
	}()
	p.mu.Lock()
	p.all = append(p.all, w)
	p.mu.Unlock()
	select {
	case <-ready:
		p.mu.Lock()
		p.live = append(p.live, w)
		p.mu.Unlock()
		return w, nil
	case <-w.done:
		return nil, fmt.Errorf("worker %d exited before it was ready: %v\n%s", n, w.err, tail(w.errLog))
	case <-time.After(2 * time.Minute):
		w.kill()
		return nil, fmt.Errorf("worker %d not ready after two minutes\n%s", n, tail(w.errLog))
	case <-ctx.Done():
		w.kill()
		return nil, ctx.Err()
	}
}

// kill SIGKILLs w and waits until it exited.
func (w *worker) kill() {
	w.killed.Store(true)
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	<-w.done
}

// stop asks w to stop (SIGTERM) and waits; it reports a worker that does
// not stop in time or stops with an error.
func (w *worker) stop() error {
	w.killed.Store(true)
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
		if w.err != nil {
			return fmt.Errorf("worker %d stopped with %v\n%s", w.n, w.err, tail(w.errLog))
		}
		return nil
	case <-time.After(time.Minute):
		_ = w.cmd.Process.Signal(syscall.SIGKILL)
		<-w.done
		return fmt.Errorf("worker %d did not stop within a minute of SIGTERM\n%s", w.n, tail(w.errLog))
	}
}

// liveWorkers returns the running workers.
func (p *pool) liveWorkers() []*worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*worker(nil), p.live...)
}

// taskLogs returns every incarnation's task log.
func (p *pool) taskLogs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, w := range p.all {
		out = append(out, w.taskLog)
	}
	return out
}

// unexpectedExits returns the workers that exited by themselves.
func (p *pool) unexpectedExits() []*worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*worker(nil), p.exits...)
}

// stopAll stops every running worker.
func (p *pool) stopAll() error {
	var errs []string
	for _, w := range p.liveWorkers() {
		if err := w.stop(); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

// tail returns the last lines of a log file, or its data race reports
// when it has any.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	if i := strings.Index(string(b), "WARNING: DATA RACE"); i >= 0 {
		return path + ":\n" + string(b[i:])
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return path + ":\n    " + strings.Join(lines, "\n    ")
}
