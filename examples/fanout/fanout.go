// Package fanout dispatches many tasks at once and joins them with And.
package fanout

import (
	"context"
	"fmt"
	"io"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
)

// Definitions.
var (
	Square       = weft.NewTask[int, int]("Calculator", "square")
	SumOfSquares = weft.NewWorkflow[int, int]("FanOut", "sumOfSquares")
)

// Workflow squares 1..n in parallel and sums the results.
func Workflow(ctx weft.Context, n int) (int, error) {
	if n < 0 || n > 10000 {
		return 0, weft.NonRetryable(fmt.Errorf("n = %d is out of range [0, 10000]", n))
	}
	ds := make([]*weft.Deferred[int], n)
	for i := range ds {
		ds[i] = weft.Dispatch(ctx, Square, i+1)
	}
	squares, err := weft.AwaitAll(ds)
	if err != nil {
		return 0, err
	}
	sum := 0
	for _, s := range squares {
		sum += s
	}
	return sum, nil
}

// Register adds the workflow and the calculator service to reg.
func Register(reg *weft.Registry) error {
	if err := weft.RegisterTask(reg, Square, func(_ weft.TaskContext, x int) (int, error) { return x * x, nil }); err != nil {
		return err
	}
	return weft.RegisterWorkflow(reg, SumOfSquares, Workflow)
}

// Demo sums the squares of 1..100 with 100 parallel tasks.
func Demo(ctx context.Context, c *client.Client, out io.Writer) error {
	fmt.Fprintln(out, "== fan-out of 100 tasks joined with And")
	h, err := client.Dispatch(ctx, c, SumOfSquares, 100)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "dispatched workflow %s: 100 tasks squaring 1..100\n", h.WorkflowID)
	sum, err := h.Await(ctx)
	if err != nil {
		return err
	}
	const want = 100 * 101 * 201 / 6
	if sum != want {
		return fmt.Errorf("sum of squares = %d, want %d", sum, want)
	}
	fmt.Fprintf(out, "fan-out result: sum of squares 1..100 = %d\n", sum)
	return nil
}
