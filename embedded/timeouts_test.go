package embedded_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
)

var (
	slowTask   = weft.NewTask[int, int]("Slow", "run")
	slowChild  = weft.NewWorkflow[int, int]("SlowChild", "run")
	lateParent = weft.NewWorkflow[int, []string]("LateParent", "run")
)

// TestTimeoutsAreTheCallersAndLateSuccessCounts: a task and a child
// workflow each outlive their caller-side timeout. The caller sees the
// timeout, the callees keep running, and once they finish an await of the
// same deferreds sees their values.
func TestTimeoutsAreTheCallersAndLateSuccessCounts(t *testing.T) {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, slowTask, func(ctx weft.TaskContext, n int) (int, error) {
		time.Sleep(300 * time.Millisecond)
		return n * 10, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, slowChild, func(ctx weft.Context, n int) (int, error) {
		if err := weft.Sleep(ctx, 300*time.Millisecond); err != nil {
			return 0, err
		}
		return n + 1, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, lateParent, func(ctx weft.Context, n int) ([]string, error) {
		var seen []string
		task := weft.Dispatch(ctx, slowTask, n, weft.Timeout(50*time.Millisecond))
		child := weft.DispatchChild(ctx, slowChild, n, weft.Timeout(50*time.Millisecond))
		if _, err := task.Await(); errors.Is(err, weft.ErrTaskTimedOut) {
			seen = append(seen, "task timed out")
		} else {
			seen = append(seen, "task: "+errString(err))
		}
		if _, err := child.Await(); errors.Is(err, weft.ErrWorkflowTimedOut) {
			seen = append(seen, "child timed out")
		} else {
			seen = append(seen, "child: "+errString(err))
		}
		if err := weft.Sleep(ctx, 2*time.Second); err != nil {
			return nil, err
		}
		if v, err := task.Await(); err == nil && v == n*10 {
			seen = append(seen, "task completed late")
		} else {
			seen = append(seen, "late task: "+errString(err))
		}
		if v, err := child.Await(); err == nil && v == n+1 {
			seen = append(seen, "child completed late")
		} else {
			seen = append(seen, "late child: "+errString(err))
		}
		return seen, nil
	}))
	c, ctx := start(t, reg, embedded.Options{})
	got, err := client.Run(ctx, c, lateParent, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"task timed out", "child timed out", "task completed late", "child completed late"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %q, want %q", got, want)
			break
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

var (
	hangTask = weft.NewTask[int, int]("Hangs", "run")
	hangFlow = weft.NewWorkflow[int, int]("HangFlow", "run")
)

// TestExecutionTimeoutFailsTheAttemptThenRetries: an attempt that outlives
// its execution timeout has its context cancelled and fails through the
// retry policy; the next attempt succeeds.
func TestExecutionTimeoutFailsTheAttemptThenRetries(t *testing.T) {
	var attempts atomic.Int32
	reg := weft.NewRegistry()
	policy := weft.DefaultRetryPolicy()
	policy.Minimum, policy.Maximum, policy.RandomFactor = 10*time.Millisecond, 10*time.Millisecond, 0
	weft.MustRegister(weft.RegisterTask(reg, hangTask, func(ctx weft.TaskContext, n int) (int, error) {
		if attempts.Add(1) == 1 {
			<-ctx.Done() // hangs until the execution timeout cancels it
			return 0, ctx.Err()
		}
		return n + 1, nil
	}, weft.WithExecutionTimeout(100*time.Millisecond), weft.WithRetry(policy)))
	weft.MustRegister(weft.RegisterWorkflow(reg, hangFlow, func(ctx weft.Context, n int) (int, error) {
		return weft.Call(ctx, hangTask, n)
	}))
	c, ctx := start(t, reg, embedded.Options{})
	if got, err := client.Run(ctx, c, hangFlow, 1); err != nil || got != 2 {
		t.Fatalf("workflow = %d, %v; want 2 after a timed-out first attempt", got, err)
	}
	if n := attempts.Load(); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
}
