package embedded_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
)

var (
	ghost       = weft.NewTask[int, int]("Ghost", "haunt")
	callsGhost  = weft.NewWorkflow[int, int]("CallsGhost", "run")
	catchGhost  = weft.NewWorkflow[int, string]("CatchesGhost", "run")
	ghostFailed = func(err error) bool {
		return errors.Is(err, weft.ErrNotRegistered) && strings.Contains(err.Error(), "Ghost")
	}
)

// TestTaskOfUnregisteredServiceFailsAtOnce: the embedded runtime on its own
// transport knows every executor, so a task of a service nobody registered
// fails the call at once with ErrNotRegistered naming the service, rather
// than waiting forever; a workflow can catch it like any task failure.
func TestTaskOfUnregisteredServiceFailsAtOnce(t *testing.T) {
	t.Parallel()
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, callsGhost, func(ctx weft.Context, n int) (int, error) {
		return weft.Call(ctx, ghost, n)
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, catchGhost, func(ctx weft.Context, n int) (string, error) {
		if _, err := weft.Call(ctx, ghost, n); ghostFailed(err) {
			return "caught", nil
		} else if err != nil {
			return "", err
		}
		return "", errors.New("the ghost answered")
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, fast := range []bool{true, false} {
		rt, err := embedded.Start(ctx, reg, embedded.Options{DisableFastPath: !fast})
		if err != nil {
			t.Fatal(err)
		}
		c := rt.Client()
		if _, err := client.Run(ctx, c, callsGhost, 1); !ghostFailed(err) {
			t.Errorf("fast path %v: Run = %v, want ErrNotRegistered naming Ghost", fast, err)
		}
		if v, err := client.Run(ctx, c, catchGhost, 1); err != nil || v != "caught" {
			t.Errorf("fast path %v: Run = %q, %v; want the failure caught", fast, v, err)
		}
		if err := rt.Stop(); err != nil {
			t.Fatal(err)
		}
	}
}
