// Package examples registers and runs the example applications: a trip
// booking saga, a fan-out of 100 tasks and an approval that waits for a
// signal or a timer. They use only public packages.
package examples

import (
	"context"
	"errors"
	"io"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/examples/approval"
	"github.com/weftio/weft/examples/fanout"
	"github.com/weftio/weft/examples/trip"
)

// Register adds every example's workflows and services to reg; the demo
// services print their progress to out.
func Register(reg *weft.Registry, out io.Writer) error {
	return errors.Join(trip.Register(reg, out), fanout.Register(reg), approval.Register(reg, out))
}

// RunAll runs the three demos one after another.
func RunAll(ctx context.Context, c *client.Client, out io.Writer) error {
	for _, demo := range []func(context.Context, *client.Client, io.Writer) error{trip.Demo, fanout.Demo, approval.Demo} {
		if err := demo(ctx, c, out); err != nil {
			return err
		}
		if _, err := io.WriteString(out, "\n"); err != nil {
			return err
		}
	}
	return nil
}
