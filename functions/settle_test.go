package functions_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/transport"
)

// resultFn returns the results of results in turn, one per Handle.
type resultFn struct {
	results []functions.Result
	errs    []error
	n       int
}

func (f *resultFn) Name() string                            { return "settle-test" }
func (f *resultFn) Subscriptions() []functions.Subscription { return nil }
func (f *resultFn) Handle(context.Context, core.Envelope) (functions.Result, error) {
	i := min(f.n, len(f.results)-1)
	f.n++
	var err error
	if i < len(f.errs) {
		err = f.errs[i]
	}
	return f.results[i], err
}

func out(id string) core.Envelope { return core.Envelope{ID: id, Topic: "out"} }

// TestSettledWithOutputs: a result with outputs and nothing else to write
// is published and acknowledged at once by PublishAck; an ErrRedelivered
// from it settles too, another error is an outage.
func TestSettledWithOutputs(t *testing.T) {
	for _, tc := range []struct {
		err         error
		settled     bool
		unavailable bool
	}{
		{nil, true, false},
		{fmt.Errorf("claim gone: %w", transport.ErrRedelivered), true, false},
		{errors.New("connection reset"), false, true},
	} {
		fn := &resultFn{results: []functions.Result{{Outputs: []core.Envelope{out("o1"), out("o2")}}}}
		var acked []string
		settler := &functions.Settler{PublishAck: func(_ context.Context, envs ...core.Envelope) error {
			for _, e := range envs {
				acked = append(acked, e.ID)
			}
			return tc.err
		}}
		publish := func(context.Context, ...core.Envelope) error {
			t.Error("outputs published apart from the acknowledgement")
			return nil
		}
		settled, err := functions.ProcessEnvelopeSettled(context.Background(), fn, core.Envelope{ID: "in"}, publish, nil, settler)
		if settled != tc.settled || functions.IsUnavailable(err) != tc.unavailable || (err == nil) != !tc.unavailable {
			t.Errorf("PublishAck error %v: settled %v, err %v", tc.err, settled, err)
		}
		if fmt.Sprint(acked) != "[o1 o2]" {
			t.Errorf("PublishAck got %v, want [o1 o2]", acked)
		}
	}

	// With a commit to run, the outputs go first and the input is left to
	// the runtime to acknowledge.
	committed := false
	fn := &resultFn{results: []functions.Result{{Outputs: []core.Envelope{out("o1")}, Commit: func(context.Context) error { committed = true; return nil }}}}
	settler := &functions.Settler{PublishAck: func(context.Context, ...core.Envelope) error {
		t.Error("PublishAck used for a result with a commit")
		return nil
	}}
	published := 0
	settled, err := functions.ProcessEnvelopeSettled(context.Background(), fn, core.Envelope{ID: "in"}, func(_ context.Context, envs ...core.Envelope) error {
		published += len(envs)
		return nil
	}, nil, settler)
	if settled || err != nil || !committed || published != 1 {
		t.Errorf("with a commit: settled %v, err %v, committed %v, published %d", settled, err, committed, published)
	}
}

// TestSettledInTransaction: a result committed in the TxOutlet's database
// writes its outputs and the acknowledgement through AckTx, and committed
// runs only for the try whose transaction committed.
func TestSettledInTransaction(t *testing.T) {
	type fakeTx struct{ n int }
	tries := 0
	var ran []int
	txCommit := func(ctx context.Context, hook storage.TxHook) error {
		tries++
		if err := hook(ctx, &fakeTx{n: tries}); err != nil {
			return err
		}
		if tries == 1 {
			return fmt.Errorf("lost the race: %w", functions.ErrConflict) // rolled back
		}
		return nil
	}
	res := functions.Result{Outputs: []core.Envelope{out("o1")}, After: []core.Envelope{out("a1")}, TxCommit: txCommit, TxDomain: "db"}
	fn := &resultFn{results: []functions.Result{res}}
	var got []string
	settler := &functions.Settler{AckTx: func(_ context.Context, tx any, envs ...core.Envelope) (func(), error) {
		n := tx.(*fakeTx).n
		for _, e := range envs {
			got = append(got, fmt.Sprintf("%d:%s", n, e.ID))
		}
		return func() { ran = append(ran, n) }, nil
	}}
	outlet := &functions.TxOutlet{Domain: "db", Publish: func(context.Context, any, ...core.Envelope) error {
		t.Error("outputs published through the outlet, not with the acknowledgement")
		return nil
	}}
	settled, err := functions.ProcessEnvelopeSettled(context.Background(), fn, core.Envelope{ID: "in"}, nil, outlet, settler)
	if !settled || err != nil {
		t.Fatalf("settled %v, err %v", settled, err)
	}
	if fmt.Sprint(got) != "[1:o1 1:a1 2:o1 2:a1]" || fmt.Sprint(ran) != "[2]" {
		t.Errorf("AckTx wrote %v, committed ran for tries %v; want [1:o1 1:a1 2:o1 2:a1] and [2]", got, ran)
	}
}
