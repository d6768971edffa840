package lambda_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/adapters/lambda"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
)

// TestSQSSkipsAreNoAttempts: a FIFO message skipped behind its failing
// group head is received again and again, but those receives are not its
// failures: the head is dead-lettered at MaxAttempts, the message behind
// it is then handled, and a transient failure of its own then is retried,
// not taken for its fifth.
func TestSQSSkipsAreNoAttempts(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	dlq := r.watch(core.DeadLetterTopic(topicK))
	for n := 1; n <= 5; n++ {
		resp, err := r.h.Invoke(context.Background(), sqsEvent(t, "q.fifo",
			msg{id: "m1", topic: topicK, key: "K", group: "K", data: `{"fail":"retry"}`, receives: n},
			msg{id: "m2", topic: topicK, key: "K", group: "K", data: `{"fail":"retry"}`, receives: n}))
		if err != nil {
			t.Fatal(err)
		}
		want := "m1,m2"
		if n == 5 {
			want = "m2" // m1 dead-lettered; m2 tried for the first time, and failed
		}
		if got := strings.Join(failures(t, resp), ","); got != want {
			t.Fatalf("receive %d: failures %s, want %s", n, got, want)
		}
	}
	if e := r.next(dlq); e.ID != "m1" || !strings.Contains(e.DeadLetterReason, "failed 5 times") {
		t.Errorf("dead letter %s %q, want m1 after 5 failures", e.ID, e.DeadLetterReason)
	}
	r.q.mu.Lock()
	defer r.q.mu.Unlock()
	if d := r.q.retries["rh-m2"]; d != 5*time.Second {
		t.Errorf("m2's backoff %v, want the one of its 5th receive", d)
	}
}

type errFn struct{ err error }

func (errFn) Name() string { return "err" }
func (errFn) Subscriptions() []functions.Subscription {
	return []functions.Subscription{{Topic: topicA}}
}
func (f errFn) Handle(context.Context, core.Envelope) (functions.Result, error) {
	return functions.Result{}, f.err
}

// TestSQSOutagesNeverDeadLetter: an outage or a "not yet" is no fault of
// the message: at any receive count it comes again, an outage's backoff
// growing so the queue's redrive does not take it either.
func TestSQSOutagesNeverDeadLetter(t *testing.T) {
	t.Parallel()
	for name, e := range map[string]error{
		"unavailable": functions.Unavailable(errors.New("postgres: connection refused")),
		"notyet":      &functions.NotYetError{Reason: "dispatch on its way", After: 3 * time.Second},
	} {
		r := newRig(t, func(c *lambda.Config) { c.Functions = []functions.Function{errFn{e}} })
		resp, err := r.h.Invoke(context.Background(), sqsEvent(t, "q", msg{id: "m1", topic: topicA, receives: 12}))
		if err != nil {
			t.Fatal(err)
		}
		if got := failures(t, resp); strings.Join(got, ",") != "m1" {
			t.Errorf("%s: failures %v, want m1 to come again", name, got)
		}
		r.q.mu.Lock()
		d := r.q.retries["rh-m1"]
		r.q.mu.Unlock()
		if want := map[string]time.Duration{"unavailable": 15 * time.Minute, "notyet": 3 * time.Second}[name]; d != want {
			t.Errorf("%s: backoff %v, want %v", name, d, want)
		}
	}
}

type rawFn struct{}

func (rawFn) Name() string { return "raw" }
func (rawFn) Subscriptions() []functions.Subscription {
	return []functions.Subscription{{Topic: "user:raw"}}
}
func (rawFn) Handle(context.Context, core.Envelope) (functions.Result, error) {
	return functions.Result{}, nil
}
func (rawFn) HandleRaw(context.Context, []byte) (functions.Result, error) { panic("raw boom") }

// TestRawPanicIsRecovered: a raw handler's panic is a failure of its
// message (retried, then dead-lettered), not the end of the process.
func TestRawPanicIsRecovered(t *testing.T) {
	t.Parallel()
	r := newRig(t, func(c *lambda.Config) { c.Functions = []functions.Function{rawFn{}} })
	dlq := r.watch(core.DeadLetterTopic("user:raw"))
	resp, err := r.h.Invoke(context.Background(), sqsEvent(t, "q", msg{id: "m1", topic: "user:raw", body: `{"x":1}`, receives: 5}))
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(t, resp); len(got) != 0 {
		t.Errorf("failures %v", got)
	}
	if e := r.next(dlq); !strings.Contains(e.DeadLetterReason, "handler panicked: raw boom") {
		t.Errorf("reason %q", e.DeadLetterReason)
	}
}

type slowQueues struct{ queues }

func (*slowQueues) RetryAfter(ctx context.Context, _, _ string, _ time.Duration) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestBackoffsWithinDeadline: setting the backoffs never makes the
// invocation answer after its deadline (Lambda would bring the whole batch
// back).
func TestBackoffsWithinDeadline(t *testing.T) {
	t.Parallel()
	r := newRig(t, func(c *lambda.Config) { c.Queues = &slowQueues{} })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	dl, _ := ctx.Deadline()
	if _, err := r.h.Invoke(ctx, sqsEvent(t, "q", msg{id: "m1", topic: topicA, data: `{"fail":"retry"}`})); err != nil {
		t.Fatal(err)
	}
	if over := time.Since(dl); over > 0 {
		t.Errorf("answered %v after the invocation's deadline", over.Round(time.Millisecond))
	}
}

// TestInvocationErrorsAreRedacted: the errors an invocation answers
// (logged by Lambda, handed to the invoker) carry no secret.
func TestInvocationErrorsAreRedacted(t *testing.T) {
	t.Parallel()
	leak := errors.New(`dial postgres://weft:s3cret@db:5432/weft: connection refused`)
	r := newRig(t, func(c *lambda.Config) { c.Functions = []functions.Function{errFn{leak}} })
	env := envelope(t, topicA, "e1", "", `{}`)
	if _, err := r.h.Invoke(context.Background(), []byte(env)); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("direct invocation: %v", err)
	}
	kafka := `{"eventSource":"aws:kafka","records":{"t-0":[{"offset":1,"value":"` + b64(env) + `"}]}}`
	if _, err := r.h.Invoke(context.Background(), []byte(kafka)); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("kafka: %v", err)
	}
}

// TestKafkaPoisonIsDeadLetteredAfterMaxAttempts: a record failing every
// delivery is dead-lettered after MaxAttempts failures, so its partition
// moves on.
func TestKafkaPoisonIsDeadLetteredAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	dlq := r.watch(core.DeadLetterTopic(topicA))
	kafka := `{"eventSource":"aws:kafka","records":{"t-0":[{"offset":7,"value":"` + b64(envelope(t, topicA, "k1", "", `{"fail":"retry"}`)) + `"}]}}`
	for n := 1; n < 5; n++ {
		if _, err := r.h.Invoke(context.Background(), []byte(kafka)); err == nil {
			t.Fatalf("delivery %d: no error", n)
		}
	}
	if _, err := r.h.Invoke(context.Background(), []byte(kafka)); err != nil {
		t.Fatalf("5th delivery: %v, want the record dead-lettered", err)
	}
	if e := r.next(dlq); e.ID != "k1" || !strings.Contains(e.DeadLetterReason, "failed 5 times") {
		t.Errorf("dead letter %s %q", e.ID, e.DeadLetterReason)
	}
}
