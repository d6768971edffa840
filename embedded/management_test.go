package embedded_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
)

var (
	stockTask   = weft.NewTask[int, int]("Stock", "reserve")
	paymentTask = weft.NewTask[int, int]("Payment", "charge")
	checkout    = weft.NewWorkflow[int, int]("Checkout2", "run")
)

// TestRetryTasksFilters fails two tasks of different services, then
// retries them one filter at a time: by service, then by task id (found
// through the failed task's tag). Only the selected task runs again each
// time, and the workflow completes once both succeeded.
func TestRetryTasksFilters(t *testing.T) {
	var stockRuns, payRuns atomic.Int32
	var healthy atomic.Bool
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, stockTask, func(ctx weft.TaskContext, n int) (int, error) {
		stockRuns.Add(1)
		if !healthy.Load() {
			return 0, errors.New("stock service down")
		}
		return n, nil
	}))
	weft.MustRegister(weft.RegisterTask(reg, paymentTask, func(ctx weft.TaskContext, n int) (int, error) {
		payRuns.Add(1)
		if !healthy.Load() {
			return 0, errors.New("payment service down")
		}
		return n * 100, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, checkout, func(ctx weft.Context, n int) (int, error) {
		s := weft.Dispatch(ctx, stockTask, n)
		p := weft.Dispatch(ctx, paymentTask, n, weft.Tags("order:"+string(rune('0'+n))))
		if _, err := weft.And(s, p).Await(); err != nil {
			return 0, err
		}
		a, _ := s.Await()
		b, _ := p.Await()
		return a + b, nil
	}))
	c, ctx := start(t, reg, embedded.Options{})
	h, err := client.Dispatch(ctx, c, checkout, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Await(ctx); !errors.Is(err, weft.ErrTaskFailed) {
		t.Fatalf("first run: %v, want a task failure", err)
	}
	eventually(t, "both failures recorded", func() bool {
		raw, err := c.Describe(ctx, h.WorkflowID)
		return err == nil && strings.Contains(string(raw), "stock service down") && strings.Contains(string(raw), "payment service down")
	})
	healthy.Store(true)

	if err := c.RetryTasks(ctx, "Checkout2", h.WorkflowID, client.TaskFilter{Service: "Stock"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Stock task ran again", func() bool { return stockRuns.Load() == 2 })
	if n := payRuns.Load(); n != 1 {
		t.Errorf("a retry filtered on Stock ran Payment too (%d runs)", n)
	}
	ids, err := c.TaskIDsByTag(ctx, "Payment", "order:3")
	if err != nil || len(ids) != 1 {
		t.Fatalf("failed payment task by tag: %v, %v", ids, err)
	}
	if err := c.RetryTasks(ctx, "Checkout2", h.WorkflowID, client.TaskFilter{TaskID: ids[0]}); err != nil {
		t.Fatal(err)
	}
	if got, err := h.Await(ctx); err != nil || got != 303 {
		t.Fatalf("after both retries: %d, %v", got, err)
	}
	if s, p := stockRuns.Load(), payRuns.Load(); s != 2 || p != 2 {
		t.Errorf("runs: stock %d, payment %d; want 2 each", s, p)
	}
}
