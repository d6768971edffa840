//go:build linux

package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is one role process of BenchmarkRoleBinaries, from its exec until
// stop: it records when the process printed its ready line.
type child struct {
	name    string
	cmd     *exec.Cmd
	started time.Time // just before the exec
	readyAt time.Time // set before ready is closed
	ready   chan struct{}
	done    chan struct{} // closed once the process exited
	err     error         // its exit status, once done is closed
	stderr  *tail
}

// startChild starts bin with env and watches its stdout for name's ready
// line. The child gets SIGKILL if this process dies first (a go test
// timeout exits without running cleanups), so an aborted benchmark leaves
// no role running. Pdeathsig follows the thread that forked, which the Go
// runtime keeps unless a goroutine locked to it exits: none here does.
func startChild(bin, name string, env []string) (*child, error) {
	c := &child{name: name, ready: make(chan struct{}), done: make(chan struct{}), stderr: &tail{max: 4096}}
	c.cmd = exec.Command(bin)
	c.cmd.Env = env
	c.cmd.Stderr = c.stderr
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.started = time.Now()
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		// Read to the end, ready line or not, so the child never blocks
		// on a full pipe; Wait only after, as StdoutPipe requires.
		watchReady(stdout, name, func() { c.readyAt = time.Now(); close(c.ready) })
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// watchReady reads lines from r until it ends and calls onReady once, at
// the first line that is exactly "<name>: ready" (what internal/cli prints
// once every role takes messages; the banner before it mentions the name
// too, so a prefix or substring match would fire early).
func watchReady(r io.Reader, name string, onReady func()) {
	want := name + ": ready"
	sc := bufio.NewScanner(r)
	fired := false
	for sc.Scan() {
		if !fired && sc.Text() == want {
			fired = true
			onReady()
		}
	}
	_, _ = io.Copy(io.Discard, r) // a line too long for the scanner
}

// waitReady returns the time from exec to the ready line, or an error when
// the process exits first or timeout passes.
func (c *child) waitReady(timeout time.Duration) (time.Duration, error) {
	select {
	case <-c.ready:
		return c.readyAt.Sub(c.started), nil
	case <-c.done:
		return 0, fmt.Errorf("%s exited before it was ready: %v\n%s", c.name, c.err, c.stderr)
	case <-time.After(timeout):
		return 0, fmt.Errorf("%s not ready after %v\n%s", c.name, timeout, c.stderr)
	}
}

// stop sends SIGTERM, and SIGKILL if the process has not exited after
// grace, and waits until it has. It returns the exit error of a process
// that did not stop cleanly on SIGTERM.
func (c *child) stop(grace time.Duration) error {
	select {
	case <-c.done:
		return nil // exited already; waitReady or the caller reports why
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		if c.err != nil {
			return fmt.Errorf("%s stopped with %v\n%s", c.name, c.err, c.stderr)
		}
		return nil
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("%s did not stop within %v of SIGTERM and was killed\n%s", c.name, grace, c.stderr)
	}
}

// rss returns the resident set size of process pid, from the VmRSS line of
// /proc/<pid>/status (in kB there).
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		rest, ok := strings.CutPrefix(string(line), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("process %d: unexpected VmRSS line %q", pid, line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("process %d: VmRSS: %w", pid, err)
		}
		return kb * 1024, nil
	}
	return 0, errors.New("no VmRSS line in /proc/" + strconv.Itoa(pid) + "/status (a zombie?)")
}

// tail keeps the last max bytes written to it: a child's stderr, for
// failure messages.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
