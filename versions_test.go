package weft_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/sim"
)

// TestPinnedInstanceKeepsItsVersion: an instance started on version 1
// keeps running version 1 code after version 2 is deployed, while new
// instances run version 2.
func TestPinnedInstanceKeepsItsVersion(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		ref := weft.NewWorkflow[int, string]("Deployed", "run")
		body := func(tag string) func(weft.Context, int) (string, error) {
			return func(ctx weft.Context, n int) (string, error) {
				before := tag // the code path taken before the step
				if err := weft.Sleep(ctx, time.Hour); err != nil {
					return "", err
				}
				v, err := weft.Call(ctx, add1, n)
				if err != nil {
					return "", err
				}
				return before + "/" + tag + strconv.Itoa(v), nil
			}
		}
		r := calcRegistry()
		weft.MustRegister(weft.RegisterWorkflow(r, ref, body("v1"), weft.WithVersion(1)))
		s := sim.New(t, r, sim.Options{FastPath: fast})
		dispatchSim(s, "Deployed", "run", "old", 1, nil, nil)
		s.Run()
		if st := s.State("old"); st == nil || st.Version != 1 || !st.Pinned {
			t.Fatalf("state after the first workflow task: %+v, want pinned to version 1", st)
		}
		// Deploy version 2 while the old instance sleeps.
		weft.MustRegister(weft.RegisterWorkflow(r, ref, body("v2"), weft.WithVersion(2)))
		dispatchSim(s, "Deployed", "run", "new", 1, nil, nil)
		s.Run()
		if st := s.State("new"); st == nil || st.Version != 2 || !st.Pinned {
			t.Fatalf("state of the new instance: %+v, want pinned to version 2", st)
		}
		s.RunAll()
		completedWith(t, s, "old", `"v1/v12"`)
		completedWith(t, s, "new", `"v2/v22"`)
	})
}
