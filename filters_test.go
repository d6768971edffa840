package weft_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

type order struct {
	Kind   string `json:"kind"`
	Amount int    `json:"amount"`
}

// TestWhereAndWhereJSONPath: Where records the same dot-path filter as
// before JSONPath existed, WhereJSONPath records the query, and used
// together a signal must pass both.
func TestWhereAndWhereJSONPath(t *testing.T) {
	ch := weft.NewChannel[order]("Filtered", "orders")
	wf := weft.NewWorkflow[int, []order]("Filtered", "run")
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, wf, func(ctx weft.Context, _ int) ([]order, error) {
		ds := []*weft.Deferred[order]{
			weft.Receive(ctx, ch, weft.Where("kind", "refund")),
			weft.Receive(ctx, ch, weft.WhereJSONPath(`$[?@.amount >= 100]`)),
			weft.Receive(ctx, ch, weft.WhereJSONPath(`$[?@.amount < 10]`), weft.Where("kind", "gift")),
		}
		var out []order
		for _, d := range ds {
			o, err := d.Await()
			if err != nil {
				return nil, err
			}
			out = append(out, o)
		}
		return out, nil
	}))
	bothPaths(t, func(t *testing.T, fast bool) {
		s := sim.New(t, reg, sim.Options{FastPath: fast})
		dispatchSim(s, "Filtered", "run", "f1", 0, nil, nil)
		s.Run()
		st := s.State("f1")
		if st == nil || len(st.Channels) != 3 {
			t.Fatalf("state %+v", st)
		}
		want := []string{`{"path":"kind","value":"refund"}`, `{"expr":"$[?@.amount \u003e= 100]"}`,
			`{"path":"kind","value":"gift","expr":"$[?@.amount \u003c 10]"}`}
		for i, c := range st.Channels {
			if b, _ := json.Marshal(c.Filter); string(b) != want[i] {
				t.Errorf("reception %d recorded filter %s, want %s", i, b, want[i])
			}
		}
		for i, o := range []order{{"gift", 50}, {"charge", 5}, {"gift", 5}, {"refund", 500}, {"charge", 100}} {
			signalSim(s, "Filtered", "f1", "orders", "s"+string(rune('0'+i)), "", o)
			s.Run()
		}
		completedWith(t, s, "f1", `[{"kind":"refund","amount":500},{"kind":"charge","amount":100},{"kind":"gift","amount":5}]`)
	})
}

func TestReceiveRejectsAnInvalidQueryBeforeRecording(t *testing.T) {
	ch := weft.NewChannel[order]("Picky", "orders")
	wf := weft.NewWorkflow[string, string]("Picky", "run")
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, wf, func(ctx weft.Context, q string) (string, error) {
		d := weft.Receive(ctx, ch, weft.WhereJSONPath(q))
		if d.Status() != core.StateFailed || d.ID() != "" {
			return "", nil
		}
		_, err := d.Await()
		return err.Error(), nil
	}))
	bothPaths(t, func(t *testing.T, fast bool) {
		for i, q := range []string{``, `$.kind`, `$[?@.kind ==]`, `$..[?@.kind]`} {
			s := sim.New(t, reg, sim.Options{FastPath: fast})
			id := "p" + string(rune('0'+i))
			dispatchSim(s, "Picky", "run", id, q, nil, nil)
			s.Run()
			out := onlyOutcome(t, s, id)
			var msg string
			if out.Kind != core.MethodCompleted || json.Unmarshal(out.Value, &msg) != nil ||
				!strings.HasPrefix(msg, "bad_input") || !strings.Contains(msg, "invalid JSONPath filter") {
				t.Fatalf("query %q: %+v, want the bad-input error returned", q, out)
			}
		}
	})
}
