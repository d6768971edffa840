package weft_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

// fuzzCheckFlow waits on a task, a timer, a signal and a task, with an
// inline side effect between: what a replay check goes through.
func fuzzCheckFlow(ctx weft.Context, n int) (int, error) {
	a, err := weft.Call(ctx, add1, n)
	if err != nil {
		return 0, err
	}
	if err := weft.Sleep(ctx, time.Hour); err != nil {
		return 0, err
	}
	if _, err := weft.Inline(ctx, func() (int, error) { return 7, nil }); err != nil {
		return 0, err
	}
	b, err := weft.Call(ctx, double, a)
	if err != nil {
		return 0, err
	}
	return b, weft.Sleep(ctx, time.Hour)
}

// fuzzCheckRegistry registers fuzzCheckFlow as "Fuzz" with a short
// workflow task timeout: its code never blocks outside weft calls, so a
// check that times out is the checker's fault.
func fuzzCheckRegistry() *weft.Registry {
	r := checkRegistry()
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Fuzz", "run"), fuzzCheckFlow, weft.WithWorkflowTaskTimeout(5*time.Second)))
	return r
}

// fuzzCheckStates records fuzzCheckFlow at three points of its run and
// once ended.
func fuzzCheckStates(tb testing.TB) []*core.WorkflowState {
	tb.Helper()
	var out []*core.WorkflowState
	for i, advance := range []time.Duration{0, time.Hour, 2 * time.Hour} {
		s := sim.New(tb, fuzzCheckRegistry(), sim.Options{})
		id := "f" + string(rune('0'+i))
		dispatchSim(s, "Fuzz", "run", id, 1, []string{"t"}, map[string]string{"k": "v"})
		s.Run()
		if advance > 0 {
			s.Advance(advance)
		}
		st := s.State(id)
		if st == nil {
			tb.Fatal("no state recorded")
		}
		out = append(out, st)
	}
	return out
}

// FuzzCheckReplayFiles checks state files from outside (exported by weft
// describe, edited by hand, truncated): a readable file is never an error
// of the call, a file holding no state is a problem, each problem says what it is,
// the check never panics or hangs, and reading the file is checking its
// bytes.
func FuzzCheckReplayFiles(f *testing.F) {
	states := fuzzCheckStates(f)
	for _, st := range states {
		one, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(one)
	}
	list, _ := json.Marshal(states)
	f.Add(list)
	for _, s := range []string{``, `{`, `[`, `[1`, `[]`, `[null]`, `null`, `{}`, `{"v":1}`, `{"v":99,"workflowId":"x"}`, `[{"v":1},{"v":1,"result":{}}]`,
		`{"v":1,"workflowName":"Fuzz","methods":[null]}`, `{"v":1,"workflowName":"Fuzz","pinned":true,"version":-1}`,
		`{"v":1,"workflowName":"Fuzz","methods":[{"id":"m","name":"run","input":"x"}]}`,
		`{"v":1,"workflowName":"Fuzz","methods":[{"id":"m","name":"run","input":1,"commands":[null],"steps":[null],"current":{}}]}`} {
		f.Add([]byte(s))
	}
	r := fuzzCheckRegistry()
	dir, err := os.MkdirTemp("", "weft-replay-fuzz-")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "state.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := r.CheckReplayFiles(path)
		if err != nil {
			t.Fatalf("a readable file is an error: %v", err)
		}
		if rep.States < 1 && rep.OK() {
			t.Fatalf("no state counted:\n%s", rep.Verbose())
		}
		for _, p := range rep.Problems {
			if p.Kind == "" || p.Explanation == "" || p.Source == "" {
				t.Fatalf("problem without a kind, explanation or source: %#v", p)
			}
			if strings.Contains(p.Explanation, "did not finish within the workflow task timeout") {
				t.Fatalf("the check hung:\n%s", rep.Verbose())
			}
		}
		_ = rep.String() + rep.Summary()
		if direct := r.CheckReplayJSON(path, data); len(direct.Problems) != len(rep.Problems) || direct.States != rep.States {
			t.Fatalf("the file gave %d problems in %d states, its bytes %d in %d", len(rep.Problems), rep.States, len(direct.Problems), direct.States)
		}
	})
}
