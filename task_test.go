package weft_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
)

// quotaError is a user error type whose name must reach the failure.
type quotaError struct{ left int }

func (e *quotaError) Error() string { return "quota exhausted" }

func executeTask(service, method, input string) *core.ExecuteTask {
	return &core.ExecuteTask{TaskID: "task-1", Service: service, Method: method, Input: json.RawMessage(input),
		RetrySeq: 2, RetryIndex: 1, Requester: &core.Requester{Workflow: "Shop", WorkflowID: "shop-1", MethodRunID: "run-1"},
		Tags: []string{"vip"}, Meta: map[string]string{"region": "eu"}, LastFailure: &core.Failure{Message: "earlier"}}
}

func runTask(t *testing.T, r *weft.Registry, et *core.ExecuteTask) (core.TaskOutcome, weft.RetryPolicy) {
	t.Helper()
	o, p, err := r.RunTask(context.Background(), et)
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	return o, p
}

func TestRunTaskSuccess(t *testing.T) {
	t.Parallel()
	policy := weft.RetryPolicy{Minimum: time.Second, Maximum: time.Minute, Coefficient: 3, RandomFactor: 0.1, MaxRetries: 2, NonRetryable: []string{"*weft_test.quotaError"}}
	var info weft.TaskInfo
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(r, weft.NewTask[int, int]("Calc", "double"), func(ctx weft.TaskContext, n int) (int, error) {
		info = ctx.Info()
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return n * 2, nil
	}, weft.WithRetry(policy)))
	o, p := runTask(t, r, executeTask("Calc", "double", "21"))
	if o.Failure != nil || o.Cause != nil || string(o.Value) != "42" {
		t.Fatalf("outcome = %+v, want the value 42", o)
	}
	if !reflect.DeepEqual(p, policy) {
		t.Errorf("policy = %+v, want the registered %+v", p, policy)
	}
	want := weft.TaskInfo{TaskID: "task-1", Service: "Calc", Method: "double", RetrySeq: 2, RetryIndex: 1, Workflow: "Shop",
		WorkflowID: "shop-1", MethodRunID: "run-1", Tags: []string{"vip"}, Meta: map[string]string{"region": "eu"}, LastFailure: &core.Failure{Message: "earlier"}}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("task info = %+v, want %+v", info, want)
	}
}

func TestRunTaskUserErrors(t *testing.T) {
	t.Parallel()
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(r, weft.NewTask[int, int]("Quota", "plain"), func(weft.TaskContext, int) (int, error) {
		return 0, &quotaError{left: 0}
	}))
	weft.MustRegister(weft.RegisterTask(r, weft.NewTask[int, int]("Quota", "permanent"), func(weft.TaskContext, int) (int, error) {
		return 0, weft.NonRetryable(&quotaError{left: 0})
	}))
	weft.MustRegister(weft.RegisterTask(r, weft.NewTask[int, int]("Quota", "std"), func(weft.TaskContext, int) (int, error) {
		return 0, errors.New("plain failure")
	}))
	cases := []struct {
		method, typ, msg string
		retryable        bool
	}{
		{"plain", "*weft_test.quotaError", "quota exhausted", true},
		// NonRetryable names the wrapped error's type, not its own.
		{"permanent", "*weft_test.quotaError", "quota exhausted", false},
		{"std", "*errors.errorString", "plain failure", true},
	}
	for _, c := range cases {
		o, _ := runTask(t, r, executeTask("Quota", c.method, "1"))
		if o.Failure == nil {
			t.Fatalf("%s: outcome %+v, want a failure", c.method, o)
		}
		if o.Failure.Type != c.typ || o.Failure.Message != c.msg || o.Retryable != c.retryable {
			t.Errorf("%s: failure %+v retryable=%v, want type %s message %q retryable=%v", c.method, o.Failure, o.Retryable, c.typ, c.msg, c.retryable)
		}
		if o.Value != nil {
			t.Errorf("%s: a failed attempt has the value %s", c.method, o.Value)
		}
	}
	if weft.NonRetryable(nil) != nil {
		t.Error("NonRetryable(nil) is not nil")
	}
	if err := weft.NonRetryable(&quotaError{}); !errors.As(err, new(*quotaError)) {
		t.Error("NonRetryable hides the wrapped error from errors.As")
	}
}

func TestRunTaskPanicIsARetryableFailure(t *testing.T) {
	t.Parallel()
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(r, weft.NewTask[int, int]("Crash", "now"), func(weft.TaskContext, int) (int, error) {
		var m map[string]int
		m["x"] = 1 // a runtime panic, not only panic(string)
		return 0, nil
	}))
	weft.MustRegister(weft.RegisterTask(r, weft.NewTask[int, int]("Crash", "explicit"), func(weft.TaskContext, int) (int, error) {
		panic("the printer is on fire")
	}))
	for method, text := range map[string]string{"now": "assignment to entry in nil map", "explicit": "the printer is on fire"} {
		o, _ := runTask(t, r, executeTask("Crash", method, "1"))
		if o.Failure == nil || !strings.Contains(o.Failure.Message, "panicked") || !strings.Contains(o.Failure.Message, text) {
			t.Fatalf("%s: outcome %+v, want a failure saying the task panicked with %q", method, o.Failure, text)
		}
		if !o.Retryable {
			t.Errorf("%s: a panic must be retryable (it may be transient)", method)
		}
	}
}

func TestRunTaskExecutionTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(r, weft.NewTask[int, int]("Slow", "polite"), func(ctx weft.TaskContext, n int) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	}, weft.WithExecutionTimeout(20*time.Millisecond)))
	// Ignores its context: abandoned after a grace period.
	weft.MustRegister(weft.RegisterTask(r, weft.NewTask[int, int]("Slow", "deaf"), func(ctx weft.TaskContext, n int) (int, error) {
		<-release
		return n, nil
	}, weft.WithExecutionTimeout(20*time.Millisecond)))
	// A quick task under a timeout is not affected by it.
	weft.MustRegister(weft.RegisterTask(r, weft.NewTask[int, int]("Slow", "quick"), func(ctx weft.TaskContext, n int) (int, error) {
		if _, ok := ctx.Deadline(); !ok {
			return 0, errors.New("no deadline on the task context")
		}
		return n, nil
	}, weft.WithExecutionTimeout(time.Minute)))
	for _, method := range []string{"polite", "deaf"} {
		o, _ := runTask(t, r, executeTask("Slow", method, "1"))
		if o.Failure == nil || o.Cause == nil {
			t.Fatalf("%s: outcome %+v, want a timed-out failure", method, o)
		}
		if o.Cause.Code != core.CodeExecutionTimedOut || !errors.Is(o.Cause, weft.ErrExecutionTimedOut) {
			t.Errorf("%s: cause %v, want %s", method, o.Cause, core.CodeExecutionTimedOut)
		}
		if !strings.Contains(o.Failure.Message, "20ms") {
			t.Errorf("%s: failure %q does not say which timeout expired", method, o.Failure.Message)
		}
		if !o.Retryable {
			t.Errorf("%s: a timed-out attempt must be retryable", method)
		}
	}
	if o, _ := runTask(t, r, executeTask("Slow", "quick", "5")); o.Failure != nil || string(o.Value) != "5" {
		t.Errorf("quick: outcome %+v %v", o, o.Failure)
	}
}

func TestRunTaskBadInputIsNotRetried(t *testing.T) {
	t.Parallel()
	type order struct {
		ID    string `json:"id"`
		Items int    `json:"items"`
	}
	ran := false
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(r, weft.NewTask[order, int]("Orders", "count"), func(_ weft.TaskContext, o order) (int, error) {
		ran = true
		return o.Items, nil
	}, weft.WithRetry(weft.DefaultRetryPolicy())))
	for _, input := range []string{`{`, `"seven"`, `{"id":"a","items":"many"}`, `{"id":"a","unknown":1}`} {
		o, _ := runTask(t, r, executeTask("Orders", "count", input))
		if o.Failure == nil || o.Cause == nil || o.Cause.Code != core.CodeBadInput {
			t.Fatalf("input %s: outcome %+v cause %v, want a bad_input failure", input, o.Failure, o.Cause)
		}
		if o.Retryable {
			t.Errorf("input %s: bad input must not be retried", input)
		}
		if !strings.Contains(o.Failure.Message, "order") {
			t.Errorf("input %s: failure %q does not name the expected type", input, o.Failure.Message)
		}
	}
	if ran {
		t.Error("the task ran with an input that does not decode")
	}
	// No input at all is the zero value.
	if o, _ := runTask(t, r, executeTask("Orders", "count", "")); o.Failure != nil || string(o.Value) != "0" {
		t.Errorf("empty input: %+v %v", o, o.Failure)
	}
}

func TestRunTaskOutputThatDoesNotEncode(t *testing.T) {
	t.Parallel()
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(r, weft.NewTask[int, chan int]("Odd", "chan"), func(weft.TaskContext, int) (chan int, error) {
		return make(chan int), nil
	}))
	o, _ := runTask(t, r, executeTask("Odd", "chan", "1"))
	if o.Failure == nil || o.Cause == nil || o.Cause.Code != core.CodeBadInput || o.Retryable {
		t.Fatalf("outcome %+v cause %v, want a non-retryable bad_input failure", o.Failure, o.Cause)
	}
}

func TestRunTaskNotRegistered(t *testing.T) {
	t.Parallel()
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(r, weft.NewTask[int, int]("Calc", "double"), okTask))
	for _, et := range []*core.ExecuteTask{executeTask("Nope", "double", "1"), executeTask("Calc", "triple", "1")} {
		_, _, err := r.RunTask(context.Background(), et)
		var we *weft.Error
		if !errors.As(err, &we) || we.Code != core.CodeNotRegistered || !errors.Is(err, weft.ErrNotRegistered) {
			t.Fatalf("%s.%s: error %v, want %s", et.Service, et.Method, err, core.CodeNotRegistered)
		}
		if !strings.Contains(err.Error(), et.Service+"."+et.Method) || we.TaskID != "task-1" {
			t.Errorf("error %q does not name the task", err)
		}
	}
}

// TestRunTaskShutdown: when the runtime's context ends during an attempt,
// RunTask reports the context's error so the attempt is redelivered, and
// does not record a task failure (the task did nothing wrong).
func TestRunTaskShutdown(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	started := make(chan struct{}, 2)
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(r, weft.NewTask[int, int]("Long", "deaf"), func(ctx weft.TaskContext, n int) (int, error) {
		started <- struct{}{}
		<-release
		return n, nil
	}))
	weft.MustRegister(weft.RegisterTask(r, weft.NewTask[int, int]("Long", "polite"), func(ctx weft.TaskContext, n int) (int, error) {
		started <- struct{}{}
		<-ctx.Done()
		return 0, ctx.Err()
	}))
	for _, method := range []string{"deaf", "polite"} {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-started
			cancel()
		}()
		o, _, err := r.RunTask(ctx, executeTask("Long", method, "1"))
		cancel()
		if method == "polite" && err == nil {
			t.Fatalf("a task that honours its cancelled context on shutdown was recorded as a failed attempt (%q, retryable=%v) instead of being redelivered", o.Failure.Message, o.Retryable)
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: RunTask = %+v, %v; want the context error", method, o, err)
		}
	}
}
