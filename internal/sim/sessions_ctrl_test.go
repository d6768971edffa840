package sim_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/sim"
)

func TestReviewControlNoReception(t *testing.T) {
	var starts atomic.Int32
	wf := weft.NewWorkflow[int, int]("RevCtl", "run")
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, pageStep, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
	weft.MustRegister(weft.RegisterWorkflow(reg, wf, func(ctx weft.Context, n int) (int, error) {
		starts.Add(1)
		if err := weft.Sleep(ctx, time.Second); err != nil {
			return 0, err
		}
		for i := range n {
			if _, err := weft.Call(ctx, pageStep, i); err != nil {
				return 0, err
			}
		}
		return n, nil
	}))
	s := sim.New(t, reg, sim.Options{})
	dispatch(s, "RevCtl", "run", "rc", 1000)
	s.RunAll()
	t.Logf("starts %d", starts.Load())
}
