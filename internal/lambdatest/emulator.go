package lambdatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Emulator is one bootstrap binary under the Runtime Interface Emulator,
// on loopback ports.
type Emulator struct {
	Name    string
	url     string
	cmd     *exec.Cmd
	out     *output
	done    chan struct{}
	mu      sync.Mutex // the emulator runs one invocation at a time
	client  *http.Client
	stopped bool
	// timeouts counts the invocations the emulator ended at the
	// function's timeout.
	timeouts atomic.Int64
}

// ErrTimedOut is the error of an invocation that ran into the function's
// timeout: Lambda then fails the whole batch, which comes back after the
// queue's visibility timeout.
var ErrTimedOut = errors.New("the invocation timed out")

// output collects the emulator's and the function's lines.
type output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// freePort returns a loopback port nobody listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs bin under the emulator rie with the function's timeout and
// env (and no other variable of this process but PATH and HOME). It is
// stopped when the test ends; the emulator starts the bootstrap on the
// first invocation.
func Start(t testing.TB, rie, bin, name string, timeout time.Duration, env map[string]string) *Emulator {
	t.Helper()
	port, apiPort := freePort(t), freePort(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(port),
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(apiPort), bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"AWS_LAMBDA_FUNCTION_NAME=" + name, "AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(max(1, int(timeout/time.Second))),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	e := &Emulator{Name: name, url: fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", port),
		cmd: cmd, out: &output{}, done: make(chan struct{}), client: &http.Client{Timeout: timeout + 30*time.Second}}
	cmd.Stdout, cmd.Stderr = e.out, e.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the emulator for %s: %v", name, err)
	}
	go func() { _ = cmd.Wait(); close(e.done) }()
	t.Cleanup(func() {
		e.Stop()
		if t.Failed() {
			t.Logf("%s emulator output (tail):\n%s", name, Tail(e.Output(), 60))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return e
		}
		select {
		case <-e.done:
			t.Fatalf("the emulator for %s exited: %s", name, e.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emulator for %s does not listen: %v\n%s", name, err, e.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the emulator and its function (SIGTERM, then SIGKILL).
func (e *Emulator) Stop() {
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
	}
}

// Output is what the emulator and the function printed so far.
func (e *Emulator) Output() string { return e.out.String() }

// Invoke posts one event and returns the function's answer; a function
// error (answered with errorMessage and errorType) is an error.
func (e *Emulator) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	// The emulator answers a timeout with 200 and a plain-text body (and
	// logs no line of it).
	if resp.StatusCode == http.StatusOK && bytes.HasPrefix(body, []byte("Task timed out")) {
		e.timeouts.Add(1)
		return nil, fmt.Errorf("%s: %w: %s", e.Name, ErrTimedOut, body)
	}
	if resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"errorMessage"`)) || resp.Header.Get("X-Amz-Function-Error") != "" {
		return nil, fmt.Errorf("%s: HTTP %d: %s", e.Name, resp.StatusCode, body)
	}
	return body, nil
}

// The emulator's log of the init phase (the runtime started until it
// asked for its first invocation); its REPORT line's "Init Duration" does
// not measure that in this emulator, so it is only the fallback.
var (
	initReport   = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	initDuration = regexp.MustCompile(`Init Duration: ([0-9.]+) ms`)
)

// InitDuration is the init duration the emulator reported for the
// function's start, waiting a little for the line (it is printed around
// the first invocation's answer); false when none came.
func (e *Emulator) InitDuration() (time.Duration, bool) {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out := e.Output()
		m := initReport.FindStringSubmatch(out)
		if m == nil && time.Now().After(deadline) {
			m = initDuration.FindStringSubmatch(out)
		}
		if m != nil {
			ms, err := strconv.ParseFloat(m[1], 64)
			return time.Duration(ms * float64(time.Millisecond)), err == nil
		}
		if time.Now().After(deadline) {
			return 0, false
		}
	}
}

// Timeouts is the number of invocations that ran into the function's
// timeout.
func (e *Emulator) Timeouts() int64 { return e.timeouts.Load() }

// Tail is the last n lines of s.
func Tail(s string, n int) string {
	lines := bytes.Split([]byte(s), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
