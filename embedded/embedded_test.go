package embedded_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
)

var (
	double = weft.NewTask[int, int]("Math", "double")
	seq    = weft.NewWorkflow[int, int]("Seq", "run")
)

func registry() *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, double, func(_ weft.TaskContext, n int) (int, error) { return n * 2, nil }))
	weft.MustRegister(weft.RegisterWorkflow(reg, seq, func(ctx weft.Context, n int) (int, error) {
		for range 3 {
			v, err := weft.Call(ctx, double, n)
			if err != nil {
				return 0, err
			}
			n = v
		}
		return n, nil
	}))
	return reg
}

func TestEmbeddedRun(t *testing.T) {
	for _, o := range []embedded.Options{{}, {DisableFastPath: true}} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		rt, err := embedded.Start(ctx, registry(), o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := client.Run(ctx, rt.Client(), seq, 5)
		if err != nil || got != 40 {
			t.Fatalf("Run = %v, %v; want 40", got, err)
		}
		h, err := client.Dispatch(ctx, rt.Client(), seq, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := h.Await(ctx); err != nil || got != 8 {
			t.Fatalf("Await = %v, %v", got, err)
		}
		// Awaiting an ended instance answers from its result record.
		if got, err := h.Await(ctx); err != nil || got != 8 {
			t.Fatalf("second Await = %v, %v", got, err)
		}
		if _, err := rt.Client().DispatchJSON(ctx, "Nope", "run", nil); !errors.Is(err, weft.ErrWorkflowUnknown) {
			t.Fatalf("unknown workflow: %v", err)
		}
		if _, err := rt.Client().DispatchJSON(ctx, "Seq", "run", []byte(`"x"`)); !errors.Is(err, weft.ErrBadInput) {
			t.Fatalf("bad input: %v", err)
		}
		if err := rt.Stop(); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
}
