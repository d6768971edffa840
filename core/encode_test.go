package core

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestEncodeStateKeptEncodings changes a large state the ways the engine
// does (statuses appended, retries, commands copied, archived, brought
// back, added) and checks after each change that EncodeState gives what
// json.Marshal gives and that Command finds what a scan finds.
func TestEncodeStateKeptEncodings(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := &WorkflowState{WorkflowID: "w", WorkflowName: "W", TaskIndex: 3}
	for r := range 3 {
		run := &MethodRun{ID: fmt.Sprintf("run-%d", r), Name: "m", Input: json.RawMessage(`{"a":"<b>"}`)}
		for i := range 100 * (r + 1) {
			run.Commands = append(run.Commands, &Command{ID: fmt.Sprintf("c-%d-%d", r, i), Position: i, Kind: KindTask, Name: "S.m",
				Service: "S", Method: "m", Input: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))})
		}
		for i := range 20 * r {
			o := &Outcome{State: StateCompleted, Value: json.RawMessage(fmt.Sprint(i)), Winner: -1, Index: int64(i)}
			run.Steps = append(run.Steps, &Step{Position: i, Node: Leaf(fmt.Sprintf("c-%d-%d", r, i), 0), Outcome: o, IndexAtEnd: int64(i + 1), PropsAtEnd: "p"})
		}
		if r == 1 {
			node := StepNode{Op: OpAnd}
			for i := range 150 {
				node.Children = append(node.Children, Leaf(fmt.Sprintf("c-1-%d", i), 0))
			}
			run.Current = &Step{Position: 200, Node: node, Hash: node.Hash(), IndexAtStart: 2}
		}
		s.Methods = append(s.Methods, run)
	}
	s.Methods = append(s.Methods, &MethodRun{ID: "empty"})
	check := func(step int, what string) {
		t.Helper()
		s.V = StateSchemaVersion
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := EncodeState(s)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("step %d (%s): EncodeState differs from json.Marshal:\n got  %.300s\n want %.300s", step, what, got, want)
		}
		for _, m := range s.Methods {
			for _, id := range []string{"absent", "c-0-5", "c-1-150", "c-2-299", "new-0"} {
				var scan *Command
				for _, c := range m.Commands {
					if c.ID == id {
						scan = c
						break
					}
				}
				if got := m.Command(id); got != scan {
					t.Fatalf("step %d (%s): Command(%s) of %s = %p, a scan finds %p", step, what, id, m.ID, got, scan)
				}
			}
		}
	}
	check(0, "initial")
	for step := 1; step <= 300; step++ {
		m := s.Methods[rng.IntN(3)]
		if len(m.Commands) == 0 {
			continue
		}
		k := rng.IntN(len(m.Commands))
		what := ""
		switch rng.IntN(8) {
		case 0, 1:
			what = "a status appended"
			m.Commands[k].Statuses = append(m.Commands[k].Statuses, Status{State: StateCompleted, Index: int64(step), Value: json.RawMessage(`"v&"`)})
		case 2:
			what = "a retry"
			m.Commands[k].RetrySeq++
			m.Commands[k].Statuses = append(m.Commands[k].Statuses, Status{State: StateOngoing, Index: int64(step)})
		case 3:
			what = "a command replaced by a copy with its own statuses"
			cc := *m.Commands[k]
			cc.Statuses = append(slices.Clone(cc.Statuses), Status{State: StateFailed, Index: int64(step), Error: &Error{Message: "x"}})
			kept := slices.Clone(m.Commands)
			kept[k] = &cc
			m.Commands = kept
		case 4:
			what = "commands archived"
			kept := make([]*Command, 0, len(m.Commands))
			for i, c := range m.Commands {
				if i%5 != 0 {
					kept = append(kept, c)
				}
			}
			m.Commands = kept
		case 5:
			what = "commands brought back before the others"
			back := &Command{ID: fmt.Sprintf("back-%d", step), Kind: KindTimer, Name: "timer"}
			m.Commands = append([]*Command{back}, m.Commands...)
		case 6 + 1:
			what = "the step decided"
			if st := s.Methods[1].Current; st != nil {
				st.Outcome = &Outcome{State: StateCompleted, Value: json.RawMessage(`[1]`), Winner: -1, Index: int64(step)}
				st.IndexAtEnd = int64(step)
				s.Methods[1].Steps = append(s.Methods[1].Steps, st)
				s.Methods[1].Current = nil
			}
		case 6:
			what = "a command added"
			m.Commands = append(m.Commands, &Command{ID: fmt.Sprintf("new-%d", step%2), Kind: KindTask, Name: "S.n"})
		}
		check(step, what)
	}
}

// TestEncodeStateDataHoldingAPlaceholder: a state whose data holds the
// bytes of a placeholder is encoded as json.Marshal encodes it.
func TestEncodeStateDataHoldingAPlaceholder(t *testing.T) {
	mark, err := json.Marshal([]*Command{{ID: "weft-commands-0-\x00weft-splice"}})
	if err != nil {
		t.Fatal(err)
	}
	run := &MethodRun{ID: "run", Name: "m", Input: mark}
	for i := range 20 {
		run.Commands = append(run.Commands, &Command{ID: fmt.Sprintf("c-%d", i), Kind: KindTask, Name: "S.m", Input: mark})
	}
	s := &WorkflowState{WorkflowID: "w", WorkflowName: "W", Methods: []*MethodRun{run}}
	got, err := EncodeState(s)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("EncodeState differs from json.Marshal:\n got  %.400s\n want %.400s", got, want)
	}
}
