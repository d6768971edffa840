//go:build linux

package bench

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv, in a child's environment, makes the test binary a stand-in
// role process instead of running tests (see TestMain and roleHelper):
// "ready" to print a ready line and idle, "exit" to exit without one.
const helperEnv = "BENCH_ROLE_HELPER"

const (
	helperDelay = 300 * time.Millisecond // before the helper's ready line
	helperAlloc = 64 << 20               // bytes the helper keeps resident
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		roleHelper(mode)
		return
	}
	os.Exit(m.Run())
}

// roleHelper prints what a role process prints, with lines that mention
// the ready line without being it first, touches helperAlloc bytes and,
// in mode "ready", prints its ready line after helperDelay and idles with
// SIGTERM ignored, so that only SIGKILL stops it.
func roleHelper(mode string) {
	signal.Ignore(syscall.SIGTERM)
	fmt.Println("helper: tag-engine on the worker runtime (pgqueue transport); SIGTERM or Ctrl-C stops it")
	fmt.Println("helper: ready soon")
	fmt.Println(" helper: ready")
	fmt.Println("other: ready")
	if mode == "exit" {
		os.Exit(3)
	}
	mem := make([]byte, helperAlloc)
	for i := 0; i < len(mem); i += 4096 {
		mem[i] = 1 // resident only once written
	}
	time.Sleep(helperDelay)
	fmt.Println("helper: ready")
	for {
		time.Sleep(time.Hour)
		mem[0]++
	}
}

// TestRoleBinaryHarness checks BenchmarkRoleBinaries' process handling on
// a real child (this test binary as roleHelper): the ready time is that
// of the exact ready line, the RSS is in bytes and includes what the child
// touched, and stop kills a child that ignores SIGTERM, leaving nothing
// behind.
func TestRoleBinaryHarness(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	c, err := startChild(exe, "helper", append(os.Environ(), helperEnv+"=ready"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop(time.Second)
	ready, err := c.waitReady(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if ready < helperDelay {
		t.Errorf("ready after %v, but the helper waits %v before its ready line: a decoy line counted", ready, helperDelay)
	}
	if wall := time.Since(before); ready > wall {
		t.Errorf("ready after %v, more than the %v since before the exec", ready, wall)
	}
	pid := c.cmd.Process.Pid
	got, err := rss(pid)
	if err != nil {
		t.Fatal(err)
	}
	if got < helperAlloc || got > helperAlloc+256<<20 {
		t.Errorf("RSS %d bytes; the helper keeps %d bytes resident and little else", got, helperAlloc)
	}
	if err := c.stop(200 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("stop of a child that ignores SIGTERM: %v, want it killed and said so", err)
	}
	select {
	case <-c.done:
	default:
		t.Error("stop returned before the child exited")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d still exists after stop: %v", pid, err)
	}
	if _, err := rss(pid); err == nil {
		t.Error("rss of an exited process did not fail")
	}
}

// TestRoleBinaryHarnessExit checks that a child exiting without its ready
// line is reported at once, with its exit, rather than waited for.
func TestRoleBinaryHarnessExit(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c, err := startChild(exe, "helper", append(os.Environ(), helperEnv+"=exit"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop(time.Second)
	start := time.Now()
	_, err = c.waitReady(time.Minute)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("waitReady on a child that exits without a ready line: %v, want its exit status", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("waitReady took %v to notice the exit", d)
	}
}

// TestRoleBinaryFigures checks the median and max of the samples.
func TestRoleBinaryFigures(t *testing.T) {
	msec := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var samples []startSample
	for _, n := range []int{40, 10, 50, 20, 30} {
		samples = append(samples, startSample{ready: msec(n), answer: msec(2 * n), rss: int64(n) * 1e6})
	}
	f := summarize(123, samples)
	want := binaryFigures{size: 123, ready: msec(30), readyMax: msec(50), answer: msec(60), answerMax: msec(100), rss: 30e6, rssMax: 50e6}
	if f != want {
		t.Errorf("summarize = %+v, want %+v", f, want)
	}
	if got := median([]int{1, 2, 3, 4}); got != 2 {
		t.Errorf("median of 1..4 = %d, want 2 (the lower one)", got)
	}
}
