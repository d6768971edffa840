package core

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// retryBackoff is the documented formula, computed independently of Delay:
// min(max, min × coeff^index) × (1 + rf × (2r − 1)).
func retryBackoff(p RetryPolicy, index int, r float64) time.Duration {
	base := math.Min(float64(p.Maximum), float64(p.Minimum)*math.Pow(p.Coefficient, float64(index)))
	return time.Duration(base * (1 + p.RandomFactor*(2*r-1)))
}

func TestRetryDelayFollowsTheFormula(t *testing.T) {
	t.Parallel()
	def := DefaultRetryPolicy()
	custom := RetryPolicy{Minimum: 100 * time.Millisecond, Maximum: 5 * time.Second, Coefficient: 3, RandomFactor: 0.2, MaxRetries: 20}
	flat := RetryPolicy{Minimum: 2 * time.Second, Maximum: 2 * time.Second, Coefficient: 1, RandomFactor: 0, MaxRetries: 3}
	cases := []struct {
		p     RetryPolicy
		index int
		r     float64
		want  time.Duration // the formula's value, to the nanosecond
	}{
		{def, 0, 0, 500 * time.Millisecond},
		{def, 0, 0.5, time.Second},
		{def, 0, 0.999, 1499 * time.Millisecond},
		{def, 1, 0, time.Second},
		{def, 1, 0.5, 2 * time.Second},
		{def, 1, 0.999, 2998 * time.Millisecond},
		{def, 3, 0.25, 6 * time.Second},
		{def, 4, 0.5, 16 * time.Second},
		{def, 9, 0.5, 512 * time.Second},
		{def, 9, 0.999, 767488 * time.Millisecond},
		// 2^10 s is above the cap: the cap applies before the jitter.
		{def, 10, 0, 500 * time.Second},
		{def, 10, 0.5, 1000 * time.Second},
		{def, 10, 0.75, 1250 * time.Second},
		{def, 10, 0.999, 1499 * time.Second},
		{custom, 0, 0.5, 100 * time.Millisecond},
		{custom, 2, 0.5, 900 * time.Millisecond},
		{custom, 3, 0, 2160 * time.Millisecond},
		{custom, 3, 0.999, 3238920 * time.Microsecond},
		{custom, 4, 0.5, 5 * time.Second},
		{custom, 19, 0, 4 * time.Second},
		{flat, 0, 0, 2 * time.Second},
		{flat, 2, 0.999, 2 * time.Second},
	}
	for _, tc := range cases {
		got, ok := tc.p.Delay(tc.index, "AnyError", tc.r)
		if !ok {
			t.Errorf("%+v Delay(%d, r=%g): not retried", tc.p, tc.index, tc.r)
			continue
		}
		if exact := retryBackoff(tc.p, tc.index, tc.r); got != exact {
			t.Errorf("Delay(%d, r=%g) = %v, formula gives %v", tc.index, tc.r, got, exact)
		}
		// Float rounding may lose the last nanosecond, never more.
		if diff := got - tc.want; diff < -1 || diff > 1 {
			t.Errorf("Delay(%d, r=%g) = %v, want %v", tc.index, tc.r, got, tc.want)
		}
	}
}

func TestRetryDelayStaysWithinJitterBounds(t *testing.T) {
	t.Parallel()
	p := DefaultRetryPolicy()
	for index := 0; index < p.MaxRetries; index++ {
		base := retryBackoff(p, index, 0.5)
		for r := 0.0; r < 1; r += 0.01 {
			d, ok := p.Delay(index, "", r)
			if !ok || float64(d) < float64(base)*(1-p.RandomFactor)-1 || float64(d) > float64(base)*(1+p.RandomFactor) {
				t.Fatalf("Delay(%d, r=%g) = %v, %v outside %v ± %g", index, r, d, ok, base, p.RandomFactor)
			}
		}
	}
}

func TestRetryStopsAtMaxRetries(t *testing.T) {
	t.Parallel()
	p := DefaultRetryPolicy()
	for index := 0; index < p.MaxRetries; index++ {
		if _, ok := p.Delay(index, "E", 0.5); !ok {
			t.Fatalf("retry index %d of %d not retried", index, p.MaxRetries)
		}
	}
	for _, index := range []int{p.MaxRetries, p.MaxRetries + 1, 1000} {
		if d, ok := p.Delay(index, "E", 0.5); ok || d != 0 {
			t.Fatalf("retry index %d with MaxRetries %d: %v, %v", index, p.MaxRetries, d, ok)
		}
	}
	one := RetryPolicy{Minimum: time.Second, Maximum: time.Second, Coefficient: 1, MaxRetries: 1}
	if _, ok := one.Delay(0, "", 0); !ok {
		t.Fatal("MaxRetries 1: the first failure is not retried")
	}
	if _, ok := one.Delay(1, "", 0); ok {
		t.Fatal("MaxRetries 1: the second failure is retried")
	}
}

func TestRetryNeverRetriesNonRetryableTypes(t *testing.T) {
	t.Parallel()
	p := DefaultRetryPolicy()
	p.NonRetryable = []string{"*billing.Declined", "bad_input"}
	for _, typ := range p.NonRetryable {
		for index := range 3 {
			if d, ok := p.Delay(index, typ, 0.5); ok || d != 0 {
				t.Fatalf("non-retryable %s retried at index %d after %v", typ, index, d)
			}
		}
	}
	for _, typ := range []string{"", "*billing.declined", "*billing.Declined2", "Declined"} {
		if _, ok := p.Delay(0, typ, 0.5); !ok {
			t.Fatalf("type %q matched a non-retryable type", typ)
		}
	}
}

func TestZeroRetryPolicyNeverRetries(t *testing.T) {
	t.Parallel()
	var p RetryPolicy
	if err := p.Validate(); err != nil {
		t.Fatalf("the zero policy is invalid: %v", err)
	}
	for _, r := range []float64{0, 0.5, 0.999} {
		if d, ok := p.Delay(0, "E", r); ok || d != 0 {
			t.Fatalf("zero policy retries after %v", d)
		}
	}
}

func TestRetryPolicyValidate(t *testing.T) {
	t.Parallel()
	ok := DefaultRetryPolicy()
	if err := ok.Validate(); err != nil {
		t.Fatalf("default policy: %v", err)
	}
	// Without retries the other fields do not matter.
	if err := (RetryPolicy{Coefficient: -3, RandomFactor: 7}).Validate(); err != nil {
		t.Fatalf("MaxRetries 0: %v", err)
	}
	cases := []struct {
		field string
		edit  func(*RetryPolicy)
	}{
		{"MaxRetries", func(p *RetryPolicy) { p.MaxRetries = -1 }},
		{"Minimum", func(p *RetryPolicy) { p.Minimum = 0 }},
		{"Minimum", func(p *RetryPolicy) { p.Minimum = -time.Second }},
		{"Maximum", func(p *RetryPolicy) { p.Maximum = p.Minimum - 1 }},
		{"Coefficient", func(p *RetryPolicy) { p.Coefficient = 0.99 }},
		{"Coefficient", func(p *RetryPolicy) { p.Coefficient = 0 }},
		{"RandomFactor", func(p *RetryPolicy) { p.RandomFactor = -0.01 }},
		{"RandomFactor", func(p *RetryPolicy) { p.RandomFactor = 1 }},
	}
	for _, tc := range cases {
		p := DefaultRetryPolicy()
		tc.edit(&p)
		err := p.Validate()
		if err == nil {
			t.Errorf("%+v: valid, want an error naming %s", p, tc.field)
			continue
		}
		if !strings.Contains(err.Error(), tc.field) {
			t.Errorf("error %q does not name %s", err, tc.field)
		}
	}
	edges := []func(*RetryPolicy){
		func(p *RetryPolicy) { p.Maximum = p.Minimum },
		func(p *RetryPolicy) { p.Coefficient = 1 },
		func(p *RetryPolicy) { p.RandomFactor = 0 },
		func(p *RetryPolicy) { p.RandomFactor = 0.999 },
	}
	for _, edit := range edges {
		p := DefaultRetryPolicy()
		edit(&p)
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
}

func TestRetryPolicyValidateRejectsNaN(t *testing.T) {
	t.Parallel()
	for _, edit := range []func(*RetryPolicy){
		func(p *RetryPolicy) { p.Coefficient = math.NaN() },
		func(p *RetryPolicy) { p.RandomFactor = math.NaN() },
	} {
		p := DefaultRetryPolicy()
		edit(&p)
		if err := p.Validate(); err == nil {
			d, _ := p.Delay(1, "", 0.5)
			t.Errorf("%+v validates; Delay(1) = %v", p, d)
		}
	}
}

func TestRetryDelayNeverNegative(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{Minimum: time.Second, Maximum: time.Duration(math.MaxInt64), Coefficient: 2, RandomFactor: 0.5, MaxRetries: 100}
	if err := p.Validate(); err != nil {
		t.Skip("policy rejected by Validate:", err)
	}
	for index := range p.MaxRetries {
		for _, r := range []float64{0, 0.5, 0.999} {
			if d, ok := p.Delay(index, "", r); ok && d < 0 {
				t.Fatalf("Delay(%d, r=%g) = %v", index, r, d)
			}
		}
	}
}

// Task attempts under a fake clock.

var retryNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func retryTask() *ExecuteTask {
	return &ExecuteTask{
		TaskID: "t-1", Service: "Billing", Method: "charge", Input: json.RawMessage(`{"amount":1999}`), RetrySeq: 2,
		Requester: &Requester{Workflow: "Checkout", WorkflowID: "order-42", MethodRunID: "m-1"},
		Tags:      []string{"vip"}, Meta: map[string]string{"tenant": "acme"},
	}
}

func taskFailure(msg string) *Failure { return &Failure{Type: "*net.OpError", Message: msg} }

func TestDecideTaskSuccess(t *testing.T) {
	t.Parallel()
	task := retryTask()
	task.RetryIndex = 3 // a retry that succeeds reports like a first attempt
	task.LastFailure = taskFailure("earlier")
	outs := DecideTask(task, TaskOutcome{Value: json.RawMessage(`{"receipt":"r-9"}`)}, DefaultRetryPolicy(), retryNow, 0.3)
	want := []Out{{
		Topic: "workflow-engine:Checkout", Key: "order-42", Subject: "order-42",
		Msg: &CommandResult{Kind: TaskCompleted, Workflow: "Checkout", WorkflowID: "order-42", MethodRunID: "m-1", CommandID: "t-1",
			RetrySeq: 2, Value: json.RawMessage(`{"receipt":"r-9"}`)},
	}, {
		// A completed task leaves its tags (a failed one keeps them).
		Topic: "task-tag:Billing", Key: "vip", Subject: "vip", Msg: &RemoveTaskTag{Service: "Billing", Tag: "vip", TaskID: "t-1"},
	}}
	if !reflect.DeepEqual(outs, want) {
		t.Fatalf("outputs:\n got %s\nwant %s", dumpOuts(t, outs), dumpOuts(t, want))
	}
}

func TestDecideTaskRetryableFailure(t *testing.T) {
	t.Parallel()
	p := DefaultRetryPolicy()
	task := retryTask()
	before := *task
	const r = 0.25 // delay = 1 s × 0.75
	outs := DecideTask(task, TaskOutcome{Failure: taskFailure("connection reset"), Retryable: true}, p, retryNow, r)
	if !reflect.DeepEqual(*task, before) {
		t.Fatalf("DecideTask modified its input task: %+v", task)
	}
	next := before
	next.RetryIndex = 1
	next.LastFailure = &Failure{Type: "*net.OpError", Message: "connection reset", RetrySequence: 2, RetryIndex: 0}
	want := []Out{{Topic: "task-retry:Billing", Subject: "t-1", DeliverAt: retryNow.Add(750 * time.Millisecond), Msg: &next}}
	if !reflect.DeepEqual(outs, want) {
		t.Fatalf("outputs:\n got %s\nwant %s", dumpOuts(t, outs), dumpOuts(t, want))
	}

	// The second failure links the first.
	now2 := retryNow.Add(2 * time.Second)
	outs2 := DecideTask(outs[0].Msg.(*ExecuteTask), TaskOutcome{Failure: taskFailure("timeout"), Retryable: true}, p, now2, 0.999)
	if len(outs2) != 1 {
		t.Fatalf("second failure: %s", dumpOuts(t, outs2))
	}
	third := outs2[0].Msg.(*ExecuteTask)
	if outs2[0].Topic != "task-retry:Billing" || !outs2[0].DeliverAt.Equal(now2.Add(2998*time.Millisecond)) {
		t.Fatalf("second retry %s at %s", outs2[0].Topic, outs2[0].DeliverAt)
	}
	wantChain := &Failure{Type: "*net.OpError", Message: "timeout", RetrySequence: 2, RetryIndex: 1,
		Previous: &Failure{Type: "*net.OpError", Message: "connection reset", RetrySequence: 2, RetryIndex: 0}}
	if third.RetryIndex != 2 || third.RetrySeq != 2 || !reflect.DeepEqual(third.LastFailure, wantChain) {
		t.Fatalf("third attempt %+v, chain %s", third, dumpJSON(t, third.LastFailure))
	}
}

func TestDecideTaskExhaustedRetries(t *testing.T) {
	t.Parallel()
	p := DefaultRetryPolicy()
	p.MaxRetries = 2
	task := retryTask()
	var outs []Out
	for attempt := range 3 {
		outs = DecideTask(task, TaskOutcome{Failure: taskFailure("fail " + string(rune('A'+attempt))), Retryable: true}, p, retryNow, 0.5)
		if len(outs) != 1 {
			t.Fatalf("attempt %d: %s", attempt, dumpOuts(t, outs))
		}
		if attempt < 2 {
			task = outs[0].Msg.(*ExecuteTask)
		}
	}
	res, ok := outs[0].Msg.(*CommandResult)
	if !ok || outs[0].Topic != "workflow-engine:Checkout" || outs[0].Key != "order-42" || !outs[0].DeliverAt.IsZero() {
		t.Fatalf("after MaxRetries: %s", dumpOuts(t, outs))
	}
	want := &CommandResult{Kind: TaskFailed, Workflow: "Checkout", WorkflowID: "order-42", MethodRunID: "m-1", CommandID: "t-1", RetrySeq: 2,
		Error: &Error{Code: CodeTaskFailed, Service: "Billing", Method: "charge", TaskID: "t-1", Message: "fail C",
			Failure: &Failure{Type: "*net.OpError", Message: "fail C", RetrySequence: 2, RetryIndex: 2,
				Previous: &Failure{Type: "*net.OpError", Message: "fail B", RetrySequence: 2, RetryIndex: 1,
					Previous: &Failure{Type: "*net.OpError", Message: "fail A", RetrySequence: 2, RetryIndex: 0}}}}}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("result:\n got %s\nwant %s", dumpJSON(t, res), dumpJSON(t, want))
	}
}

func TestDecideTaskNonRetryable(t *testing.T) {
	t.Parallel()
	p := DefaultRetryPolicy()
	p.NonRetryable = []string{"*billing.Declined"}
	cases := map[string]TaskOutcome{
		"outcome not retryable":   {Failure: &Failure{Type: "*net.OpError", Message: "bad input"}, Retryable: false},
		"type listed by a policy": {Failure: &Failure{Type: "*billing.Declined", Message: "declined"}, Retryable: true},
	}
	for name, o := range cases {
		outs := DecideTask(retryTask(), o, p, retryNow, 0.5)
		if len(outs) != 1 {
			t.Fatalf("%s: %s", name, dumpOuts(t, outs))
		}
		res, ok := outs[0].Msg.(*CommandResult)
		if !ok || res.Kind != TaskFailed || res.Error == nil || res.Error.Failure == nil || res.Error.Failure.Previous != nil || res.Error.Failure.RetryIndex != 0 {
			t.Fatalf("%s: %s", name, dumpOuts(t, outs))
		}
	}
	// The weft error behind a failure travels as the cause.
	cause := &Error{Code: CodeExecutionTimedOut, Message: "deadline exceeded"}
	outs := DecideTask(retryTask(), TaskOutcome{Failure: taskFailure("slow"), Retryable: false, Cause: cause}, p, retryNow, 0.5)
	if res, ok := outs[0].Msg.(*CommandResult); !ok || res.Error.Cause != cause || res.Error.Message != "slow" {
		t.Fatalf("cause: %s", dumpOuts(t, outs))
	}
	// The zero policy fails at once too.
	outs = DecideTask(retryTask(), TaskOutcome{Failure: taskFailure("x"), Retryable: true}, RetryPolicy{}, retryNow, 0.5)
	if len(outs) != 1 || outs[0].Msg.MessageType() != "weft.engine.TaskFailed" {
		t.Fatalf("zero policy: %s", dumpOuts(t, outs))
	}
}

// TestDecideTaskBackoffSequence runs a task that fails five times in a row
// under a fake clock: each retry is due 1 s, 2 s, 4 s, 8 s and 16 s after
// the failure (r = 0.5: no jitter), and the sixth failure is final.
func TestDecideTaskBackoffSequence(t *testing.T) {
	t.Parallel()
	p := DefaultRetryPolicy()
	p.MaxRetries = 5
	const run = 300 * time.Millisecond // how long an attempt takes
	clock := retryNow
	task := retryTask()
	wantDelays := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}
	for attempt, want := range wantDelays {
		clock = clock.Add(run)
		outs := DecideTask(task, TaskOutcome{Failure: taskFailure("attempt failed"), Retryable: true}, p, clock, 0.5)
		if len(outs) != 1 || outs[0].Topic != "task-retry:Billing" {
			t.Fatalf("attempt %d: %s", attempt, dumpOuts(t, outs))
		}
		if got := outs[0].DeliverAt.Sub(clock); got != want || got != retryBackoff(p, attempt, 0.5) {
			t.Fatalf("attempt %d: retry after %v, want %v", attempt, got, want)
		}
		task = outs[0].Msg.(*ExecuteTask)
		if task.RetryIndex != attempt+1 {
			t.Fatalf("attempt %d: next retry index %d", attempt, task.RetryIndex)
		}
		clock = outs[0].DeliverAt // the broker delivers it when due
	}
	if want := retryNow.Add(5*run + 31*time.Second); !clock.Equal(want) {
		t.Fatalf("sixth attempt starts at %s, want %s", clock, want)
	}
	// A sixth attempt that succeeds completes the task...
	ok := DecideTask(task, TaskOutcome{Value: json.RawMessage(`1`)}, p, clock.Add(run), 0.5)
	if len(ok) != 2 || ok[0].Msg.MessageType() != "weft.engine.TaskCompleted" || ok[1].Msg.MessageType() != "weft.tag.RemoveTaskTag" {
		t.Fatalf("success after retries: %s", dumpOuts(t, ok))
	}
	// ...one that fails ends it with the whole chain of six failures.
	outs := DecideTask(task, TaskOutcome{Failure: taskFailure("attempt failed"), Retryable: true}, p, clock.Add(run), 0.5)
	if len(outs) != 1 || outs[0].Msg.MessageType() != "weft.engine.TaskFailed" {
		t.Fatalf("after MaxRetries: %s", dumpOuts(t, outs))
	}
	f := outs[0].Msg.(*CommandResult).Error.Failure
	for i := 5; i >= 0; i-- {
		if f == nil || f.RetryIndex != i || f.RetrySequence != 2 {
			t.Fatalf("failure chain at retry index %d: %s", i, dumpJSON(t, outs[0].Msg))
		}
		f = f.Previous
	}
	if f != nil {
		t.Fatalf("failure chain longer than 6: %s", dumpJSON(t, outs[0].Msg))
	}
}

func dumpJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func dumpOuts(t testing.TB, outs []Out) string {
	t.Helper()
	var b strings.Builder
	for _, o := range outs {
		b.WriteString("\n  " + o.Topic + " key=" + o.Key + " subject=" + o.Subject)
		if !o.DeliverAt.IsZero() {
			b.WriteString(" at " + o.DeliverAt.Format(time.RFC3339Nano))
		}
		b.WriteString(" " + o.Msg.MessageType() + " " + dumpJSON(t, o.Msg))
	}
	return b.String()
}
