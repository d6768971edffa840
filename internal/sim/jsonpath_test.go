package sim_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

type payment struct {
	ID       string  `json:"id"`
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

var (
	payCh   = weft.NewChannel[payment]("Till", "pay")
	tillRun = weft.NewWorkflow[int, []string]("Till", "run")
)

// tillRegistry: a first reception with an invalid filter is a bad input the
// workflow catches; then two receptions with JSONPath filters on the same
// channel.
func tillRegistry() *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, tillRun, func(ctx weft.Context, _ int) ([]string, error) {
		bad := weft.Receive(ctx, payCh, weft.WhereJSONPath(`$.amount`))
		_, err := bad.Await()
		var we *weft.Error
		if !errors.As(err, &we) || we.Code != core.CodeBadInput || bad.ID() != "" {
			return nil, fmt.Errorf("invalid filter: got %v, want a bad input and no reception", err)
		}
		big := weft.Receive(ctx, payCh, weft.WhereJSONPath(`$[?@.amount > 100]`))
		eur := weft.Receive(ctx, payCh, weft.WhereJSONPath(`$[?@.currency == "EUR"]`), weft.Limit(2))
		out := []string{we.Message}
		for _, d := range []*weft.Deferred[payment]{big, eur, eur} {
			p, err := d.Await()
			if err != nil {
				return nil, err
			}
			out = append(out, p.ID)
		}
		return out, nil
	}))
	return reg
}

func TestJSONPathFiltersInTheSimulator(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			s := sim.New(t, tillRegistry(), sim.Options{FastPath: fast})
			dispatch(s, "Till", "run", "t1", 0)
			s.Run()
			for _, p := range []payment{
				{"p1", 5, "USD"},   // no filter: discarded
				{"p2", 500, "EUR"}, // both: the first opened (big) takes it
				{"p3", 900, "USD"}, // big is closed: discarded
				{"p4", 20, "EUR"},
				{"p4", 20, "EUR"}, // duplicate id
				{"p5", 30, "EUR"},
			} {
				data, _ := json.Marshal(p)
				s.Send(core.Topic(core.PrefixWorkflowCmd, "Till"), "t1", &core.SendSignal{WorkflowID: "t1", Workflow: "Till", Channel: "pay", SignalID: p.ID, Data: data})
				s.Run()
			}
			outs := s.Outcomes("t1")
			if len(outs) != 1 || outs[0].Kind != core.MethodCompleted {
				t.Fatalf("outcomes %+v", outs)
			}
			var got []string
			if err := json.Unmarshal(outs[0].Value, &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != 4 || !strings.Contains(got[0], "filter selector") || strings.Join(got[1:], ",") != "p2,p4,p5" {
				t.Fatalf("got %q, want the bad-input message then p2, p4, p5", got)
			}
			if len(s.DeadLetters) > 0 {
				t.Fatalf("dead letters: %+v", s.DeadLetters)
			}
		})
	}
}

// TestSimSignalMatcherOption: the simulator passes its SignalMatcher to the
// state engine instead of the default evaluator.
func TestSimSignalMatcherOption(t *testing.T) {
	var seen []string
	reject := func(expr string, data json.RawMessage) bool {
		seen = append(seen, expr)
		return false
	}
	s := sim.New(t, tillRegistry(), sim.Options{FastPath: true, SignalMatcher: reject})
	dispatch(s, "Till", "run", "t1", 0)
	s.Run()
	s.Send(core.Topic(core.PrefixWorkflowCmd, "Till"), "t1", &core.SendSignal{WorkflowID: "t1", Workflow: "Till", Channel: "pay", SignalID: "p1",
		Data: []byte(`{"id":"p1","amount":500,"currency":"EUR"}`)})
	s.Run()
	if len(seen) != 2 || seen[0] != `$[?@.amount > 100]` || seen[1] != `$[?@.currency == "EUR"]` {
		t.Fatalf("matcher saw %q, want both filters in opening order", seen)
	}
	if st := s.State("t1"); st == nil || len(st.Channels) != 2 || st.Channels[0].Count+st.Channels[1].Count != 0 {
		t.Fatalf("the signal was received despite the matcher: %+v", st)
	}
}

// TestInvalidFilterFailsTheMethod: an invalid query the workflow does not
// catch fails the method run with a bad-input cause, not the engine.
func TestInvalidFilterFailsTheMethod(t *testing.T) {
	wf := weft.NewWorkflow[int, payment]("Strict", "run")
	ch := weft.NewChannel[payment]("Strict", "pay")
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, wf, func(ctx weft.Context, _ int) (payment, error) {
		return weft.Receive(ctx, ch, weft.WhereJSONPath(`$[?@.amount >]`)).Await()
	}))
	for _, fast := range []bool{false, true} {
		s := sim.New(t, reg, sim.Options{FastPath: fast})
		dispatch(s, "Strict", "run", "s1", 0)
		s.Run()
		outs := s.Outcomes("s1")
		if len(outs) != 1 || outs[0].Kind != core.MethodFailed || !errors.Is(outs[0].Error, weft.ErrBadInput) ||
			!strings.Contains(outs[0].Error.Error(), "invalid JSONPath filter") {
			t.Fatalf("fast=%v: outcomes %+v", fast, outs)
		}
		t.Logf("fast=%v: %v", fast, outs[0].Error)
		if len(s.DeadLetters) > 0 {
			t.Fatalf("fast=%v: dead letters %+v", fast, s.DeadLetters)
		}
		if st := s.State("s1"); st == nil || len(st.Channels) != 0 {
			t.Fatalf("fast=%v: a reception was opened: %+v", fast, st)
		}
	}
}
