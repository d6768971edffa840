package core

import (
	"encoding/json"
	"math"
	"testing"
)

// Hand-built command histories for step evaluation.

func stDone(index int64, value string) Status {
	return Status{State: StateCompleted, Index: index, Value: json.RawMessage(value)}
}

func stFailed(index int64, msg string) Status {
	return Status{State: StateFailed, Index: index, Error: &Error{Code: CodeTaskFailed, Message: msg}}
}

func stTimedOut(index int64) Status {
	return Status{State: StateTimedOut, Index: index, Error: &Error{Code: CodeTaskTimedOut, Message: "timeout"}}
}

func stOngoing(index int64) Status { return Status{State: StateOngoing, Index: index} }

func stSignal(index int64, returnIndex int, value string) Status {
	return Status{State: StateCompleted, Index: index, Value: json.RawMessage(value), ReturnIndex: returnIndex, SignalID: "sig-" + value}
}

type stepHistory map[string]*Command

func (h stepHistory) lookup(id string) *Command { return h[id] }

func stTask(id string, statuses ...Status) *Command {
	return &Command{ID: id, Kind: KindTask, Name: "S.m", Statuses: statuses}
}

func stOr(children ...StepNode) StepNode  { return StepNode{Op: OpOr, Children: children} }
func stAnd(children ...StepNode) StepNode { return StepNode{Op: OpAnd, Children: children} }
func stLeaf(id string) StepNode           { return Leaf(id, 0) }

type stepWant struct {
	state  State
	value  string // "" for none
	errMsg string // message of the error, "" for none
	winner int
	index  int64
}

func checkStepOutcome(t *testing.T, name string, got Outcome, w stepWant) {
	t.Helper()
	if got.State != w.state || string(got.Value) != w.value || got.Winner != w.winner || got.Index != w.index {
		t.Errorf("%s: got {state %s value %s winner %d index %d}, want {state %s value %s winner %d index %d}",
			name, got.State, got.Value, got.Winner, got.Index, w.state, w.value, w.winner, w.index)
	}
	switch {
	case w.errMsg == "" && got.Error != nil:
		t.Errorf("%s: unexpected error %v", name, got.Error)
	case w.errMsg != "" && (got.Error == nil || got.Error.Message != w.errMsg):
		t.Errorf("%s: error %v, want message %q", name, got.Error, w.errMsg)
	}
	if got.Waiting() != (w.state == StateOngoing) {
		t.Errorf("%s: Waiting() = %v for state %s", name, got.Waiting(), got.State)
	}
}

const seeAll = math.MaxInt64 // evaluation with every status visible

func TestStepLeaf(t *testing.T) {
	t.Parallel()
	h := stepHistory{
		"new":  stTask("new"),
		"ok":   stTask("ok", stDone(3, `"v"`)),
		"fail": stTask("fail", stFailed(2, "boom")),
		"to":   stTask("to", stTimedOut(4)),
		"null": stTask("null", stDone(5, ``)),
	}
	cases := []struct {
		name string
		node StepNode
		i    int64
		want stepWant
	}{
		{"no status", stLeaf("new"), seeAll, stepWant{state: StateOngoing, winner: -1}},
		{"completed", stLeaf("ok"), seeAll, stepWant{state: StateCompleted, value: `"v"`, winner: -1, index: 3}},
		{"completed, seen before", stLeaf("ok"), 2, stepWant{state: StateOngoing, winner: -1}},
		{"completed, seen at its index", stLeaf("ok"), 3, stepWant{state: StateCompleted, value: `"v"`, winner: -1, index: 3}},
		{"failed is provisional", stLeaf("fail"), seeAll, stepWant{state: StateCurrentlyFailed, errMsg: "boom", winner: -1, index: 2}},
		{"timed out is provisional", stLeaf("to"), seeAll, stepWant{state: StateCurrentlyTimedOut, errMsg: "timeout", winner: -1, index: 4}},
		{"no value", stLeaf("null"), seeAll, stepWant{state: StateCompleted, winner: -1, index: 5}},
	}
	for _, tc := range cases {
		checkStepOutcome(t, tc.name, tc.node.Eval(h.lookup, tc.i), tc.want)
	}
	unknown := stLeaf("missing").Eval(h.lookup, seeAll)
	if unknown.State != StateUnknown || unknown.Winner != -1 || unknown.Error == nil || unknown.Error.Code != CodeExecutorError {
		t.Errorf("unknown command: %+v", unknown)
	}
}

func TestStepOr(t *testing.T) {
	t.Parallel()
	h := stepHistory{
		"a-done5":  stTask("a", stDone(5, `"a"`)),
		"b-done3":  stTask("b", stDone(3, `"b"`)),
		"c-done3":  stTask("c", stDone(3, `"c"`)),
		"wait":     stTask("wait"),
		"fail2":    stTask("fail2", stFailed(2, "first")),
		"fail6":    stTask("fail6", stFailed(6, "last")),
		"fail4":    stTask("fail4", stFailed(4, "middle")),
		"fail6bis": stTask("fail6bis", stFailed(6, "last too")),
		"to7":      stTask("to7", stTimedOut(7)),
	}
	cases := []struct {
		name string
		node StepNode
		i    int64
		want stepWant
	}{
		{"earliest completion by index, not position", stOr(stLeaf("a-done5"), stLeaf("b-done3")), seeAll,
			stepWant{state: StateCompleted, value: `"b"`, winner: 1, index: 3}},
		{"same, other order", stOr(stLeaf("b-done3"), stLeaf("a-done5")), seeAll,
			stepWant{state: StateCompleted, value: `"b"`, winner: 0, index: 3}},
		{"tie goes to the first position", stOr(stLeaf("c-done3"), stLeaf("b-done3")), seeAll,
			stepWant{state: StateCompleted, value: `"c"`, winner: 0, index: 3}},
		{"completion beats a waiting child", stOr(stLeaf("wait"), stLeaf("a-done5")), seeAll,
			stepWant{state: StateCompleted, value: `"a"`, winner: 1, index: 5}},
		{"completion beats an earlier failure", stOr(stLeaf("fail2"), stLeaf("a-done5")), seeAll,
			stepWant{state: StateCompleted, value: `"a"`, winner: 1, index: 5}},
		{"as seen before the completion: waits", stOr(stLeaf("fail2"), stLeaf("a-done5")), 4,
			stepWant{state: StateOngoing, winner: -1}},
		{"as seen at 4: the later completion is invisible", stOr(stLeaf("a-done5"), stLeaf("b-done3")), 4,
			stepWant{state: StateCompleted, value: `"b"`, winner: 1, index: 3}},
		{"nothing visible yet", stOr(stLeaf("a-done5"), stLeaf("b-done3")), 2,
			stepWant{state: StateOngoing, winner: -1}},
		{"a failure waits for the others", stOr(stLeaf("fail2"), stLeaf("wait")), seeAll,
			stepWant{state: StateOngoing, winner: -1}},
		{"all failed: the last one to end", stOr(stLeaf("fail6"), stLeaf("fail2"), stLeaf("fail4")), seeAll,
			stepWant{state: StateCurrentlyFailed, errMsg: "last", winner: -1, index: 6}},
		{"all failed: tie goes to the later position", stOr(stLeaf("fail6"), stLeaf("fail2"), stLeaf("fail6bis")), seeAll,
			stepWant{state: StateCurrentlyFailed, errMsg: "last too", winner: -1, index: 6}},
		{"all failed as seen at 4 (fail6 still running)", stOr(stLeaf("fail6"), stLeaf("fail2"), stLeaf("fail4")), 4,
			stepWant{state: StateOngoing, winner: -1}},
		{"a timeout can be the last to end", stOr(stLeaf("fail6"), stLeaf("to7")), seeAll,
			stepWant{state: StateCurrentlyTimedOut, errMsg: "timeout", winner: -1, index: 7}},
		{"single child", stOr(stLeaf("a-done5")), seeAll,
			stepWant{state: StateCompleted, value: `"a"`, winner: 0, index: 5}},
		{"no children waits", stOr(), seeAll, stepWant{state: StateOngoing, winner: -1}},
	}
	for _, tc := range cases {
		checkStepOutcome(t, tc.name, tc.node.Eval(h.lookup, tc.i), tc.want)
	}
}

func TestStepAnd(t *testing.T) {
	t.Parallel()
	h := stepHistory{
		"a":        stTask("a", stDone(5, `"a"`)),
		"b":        stTask("b", stDone(3, `{"b":1}`)),
		"empty":    stTask("empty", stDone(2, ``)),
		"wait":     stTask("wait"),
		"fail6":    stTask("fail6", stFailed(6, "late")),
		"fail4":    stTask("fail4", stFailed(4, "early")),
		"fail4bis": stTask("fail4bis", stFailed(4, "early too")),
		"to3":      stTask("to3", stTimedOut(3)),
	}
	cases := []struct {
		name string
		node StepNode
		i    int64
		want stepWant
	}{
		{"values in child order", stAnd(stLeaf("a"), stLeaf("b")), seeAll,
			stepWant{state: StateCompleted, value: `["a",{"b":1}]`, winner: -1, index: 5}},
		{"other order", stAnd(stLeaf("b"), stLeaf("a")), seeAll,
			stepWant{state: StateCompleted, value: `[{"b":1},"a"]`, winner: -1, index: 5}},
		{"a missing value is null", stAnd(stLeaf("empty"), stLeaf("b")), seeAll,
			stepWant{state: StateCompleted, value: `[null,{"b":1}]`, winner: -1, index: 3}},
		{"waits for every child", stAnd(stLeaf("a"), stLeaf("wait")), seeAll,
			stepWant{state: StateOngoing, winner: -1}},
		{"as seen before the last completion", stAnd(stLeaf("a"), stLeaf("b")), 4,
			stepWant{state: StateOngoing, winner: -1}},
		{"earliest failure by index", stAnd(stLeaf("fail6"), stLeaf("fail4"), stLeaf("a")), seeAll,
			stepWant{state: StateCurrentlyFailed, errMsg: "early", winner: -1, index: 4}},
		{"failure tie goes to the first position", stAnd(stLeaf("fail4bis"), stLeaf("fail4")), seeAll,
			stepWant{state: StateCurrentlyFailed, errMsg: "early too", winner: -1, index: 4}},
		{"a failure does not wait for the others", stAnd(stLeaf("wait"), stLeaf("fail6")), seeAll,
			stepWant{state: StateCurrentlyFailed, errMsg: "late", winner: -1, index: 6}},
		{"as seen at 5: only the failure at 4", stAnd(stLeaf("fail6"), stLeaf("fail4")), 5,
			stepWant{state: StateCurrentlyFailed, errMsg: "early", winner: -1, index: 4}},
		{"timeout earlier than failure", stAnd(stLeaf("fail4"), stLeaf("to3")), seeAll,
			stepWant{state: StateCurrentlyTimedOut, errMsg: "timeout", winner: -1, index: 3}},
		{"no children completes at once", stAnd(), seeAll,
			stepWant{state: StateCompleted, value: `[]`, winner: -1, index: 0}},
	}
	for _, tc := range cases {
		checkStepOutcome(t, tc.name, tc.node.Eval(h.lookup, tc.i), tc.want)
	}
}

func TestStepNested(t *testing.T) {
	t.Parallel()
	h := stepHistory{
		"a":  stTask("a", stDone(2, `1`)),
		"b":  stTask("b", stDone(6, `2`)),
		"c":  stTask("c", stDone(4, `3`)),
		"d":  stTask("d"),
		"f3": stTask("f3", stFailed(3, "f3")),
		"f5": stTask("f5", stFailed(5, "f5")),
	}
	cases := []struct {
		name string
		node StepNode
		i    int64
		want stepWant
	}{
		// stAnd(a,b) completes at 6, c at 4: c wins.
		{"or(and(a,b), c)", stOr(stAnd(stLeaf("a"), stLeaf("b")), stLeaf("c")), seeAll,
			stepWant{state: StateCompleted, value: `3`, winner: 1, index: 4}},
		{"or(and(a,c), b)", stOr(stAnd(stLeaf("a"), stLeaf("c")), stLeaf("b")), seeAll,
			stepWant{state: StateCompleted, value: `[1,3]`, winner: 0, index: 4}},
		{"or(and(a,b), c) at 3", stOr(stAnd(stLeaf("a"), stLeaf("b")), stLeaf("c")), 3,
			stepWant{state: StateOngoing, winner: -1}},
		{"and(or(a,d), c)", stAnd(stOr(stLeaf("a"), stLeaf("d")), stLeaf("c")), seeAll,
			stepWant{state: StateCompleted, value: `[1,3]`, winner: -1, index: 4}},
		{"and(or(f3,d), c) waits for d", stAnd(stOr(stLeaf("f3"), stLeaf("d")), stLeaf("c")), seeAll,
			stepWant{state: StateOngoing, winner: -1}},
		{"and(or(f3,f5), c) fails with the or's last failure", stAnd(stOr(stLeaf("f3"), stLeaf("f5")), stLeaf("c")), seeAll,
			stepWant{state: StateCurrentlyFailed, errMsg: "f5", winner: -1, index: 5}},
		{"or(and(a,f3), and(c,f5)) fails with the last and-failure", stOr(stAnd(stLeaf("a"), stLeaf("f3")), stAnd(stLeaf("c"), stLeaf("f5"))), seeAll,
			stepWant{state: StateCurrentlyFailed, errMsg: "f5", winner: -1, index: 5}},
		{"or(and(a,f3), or(d, b))", stOr(stAnd(stLeaf("a"), stLeaf("f3")), stOr(stLeaf("d"), stLeaf("b"))), seeAll,
			stepWant{state: StateCompleted, value: `2`, winner: 1, index: 6}},
	}
	for _, tc := range cases {
		checkStepOutcome(t, tc.name, tc.node.Eval(h.lookup, tc.i), tc.want)
	}
}

// A stFailed command can still complete after a retry: as seen between the
// two, the step is currently stFailed; from the completion on, completed.
func TestStepProvisionalFailure(t *testing.T) {
	t.Parallel()
	h := stepHistory{
		"t":       stTask("t", stFailed(2, "flaky"), stDone(5, `"ok"`)),
		"retried": stTask("retried", stFailed(2, "flaky"), stOngoing(4), stDone(6, `"ok"`)),
		"other":   stTask("other", stDone(3, `"other"`)),
	}
	for _, tc := range []struct {
		name string
		node StepNode
		i    int64
		want stepWant
	}{
		{"before", stLeaf("t"), 1, stepWant{state: StateOngoing, winner: -1}},
		{"at the failure", stLeaf("t"), 2, stepWant{state: StateCurrentlyFailed, errMsg: "flaky", winner: -1, index: 2}},
		{"between", stLeaf("t"), 3, stepWant{state: StateCurrentlyFailed, errMsg: "flaky", winner: -1, index: 2}},
		{"at the completion", stLeaf("t"), 5, stepWant{state: StateCompleted, value: `"ok"`, winner: -1, index: 5}},
		{"after", stLeaf("t"), seeAll, stepWant{state: StateCompleted, value: `"ok"`, winner: -1, index: 5}},
		{"retry in flight", stLeaf("retried"), 4, stepWant{state: StateOngoing, winner: -1, index: 4}},
		{"retry completed", stLeaf("retried"), 6, stepWant{state: StateCompleted, value: `"ok"`, winner: -1, index: 6}},
		{"or sees the other at 3", stOr(stLeaf("t"), stLeaf("other")), 3, stepWant{state: StateCompleted, value: `"other"`, winner: 1, index: 3}},
		{"and fails at 3", stAnd(stLeaf("t"), stLeaf("other")), 3, stepWant{state: StateCurrentlyFailed, errMsg: "flaky", winner: -1, index: 2}},
		{"and completes at 5", stAnd(stLeaf("t"), stLeaf("other")), 5, stepWant{state: StateCompleted, value: `["ok","other"]`, winner: -1, index: 5}},
	} {
		checkStepOutcome(t, tc.name, tc.node.Eval(h.lookup, tc.i), tc.want)
	}
}

func TestStepReceive(t *testing.T) {
	t.Parallel()
	recv := &Command{ID: "r", Kind: KindReceive, Name: "approve", Channel: "approve", Limit: 3,
		Statuses: []Status{stSignal(2, 0, `"s0"`), stSignal(3, 1, `"s1"`), stSignal(5, 2, `"s2"`)}}
	timer := &Command{ID: "tm", Kind: KindTimer, Name: "timer", Statuses: []Status{stDone(4, `"2026-01-01T01:00:00Z"`)}}
	h := stepHistory{"r": recv, "tm": timer}
	for _, tc := range []struct {
		name string
		node StepNode
		i    int64
		want stepWant
	}{
		{"first signal", Leaf("r", 0), seeAll, stepWant{state: StateCompleted, value: `"s0"`, winner: -1, index: 2}},
		{"second signal", Leaf("r", 1), seeAll, stepWant{state: StateCompleted, value: `"s1"`, winner: -1, index: 3}},
		{"third signal", Leaf("r", 2), seeAll, stepWant{state: StateCompleted, value: `"s2"`, winner: -1, index: 5}},
		{"fourth signal never came", Leaf("r", 3), seeAll, stepWant{state: StateOngoing, winner: -1}},
		{"second signal not yet seen", Leaf("r", 1), 2, stepWant{state: StateOngoing, winner: -1}},
		{"first signal seen later still the first", Leaf("r", 0), 4, stepWant{state: StateCompleted, value: `"s0"`, winner: -1, index: 2}},
		{"third signal vs timer: timer first", stOr(Leaf("r", 2), stLeaf("tm")), seeAll, stepWant{state: StateCompleted, value: `"2026-01-01T01:00:00Z"`, winner: 1, index: 4}},
		{"second signal vs timer: signal first", stOr(Leaf("r", 1), stLeaf("tm")), seeAll, stepWant{state: StateCompleted, value: `"s1"`, winner: 0, index: 3}},
		{"all three", stAnd(Leaf("r", 0), Leaf("r", 1), Leaf("r", 2)), seeAll, stepWant{state: StateCompleted, value: `["s0","s1","s2"]`, winner: -1, index: 5}},
		{"all three at 4", stAnd(Leaf("r", 0), Leaf("r", 1), Leaf("r", 2)), 4, stepWant{state: StateOngoing, winner: -1}},
	} {
		checkStepOutcome(t, tc.name, tc.node.Eval(h.lookup, tc.i), tc.want)
	}
	if got := recv.Latest(); string(got.Value) != `"s2"` {
		t.Errorf("Latest of a receive = %+v, want the last signal", got)
	}
}

func TestStepHash(t *testing.T) {
	t.Parallel()
	tree := func() StepNode { return stOr(stLeaf("a"), stAnd(Leaf("r", 1), stLeaf("b"))) }
	h := tree().Hash()
	if len(h) != 24 {
		t.Fatalf("hash %q: want 24 hex digits", h)
	}
	if tree().Hash() != h {
		t.Fatal("hash is not stable")
	}
	// The hash is part of recorded histories: it must never change.
	if got, stepWant := stLeaf("a").Hash(), "a090a256cb93456a8f5d575b"; got != stepWant {
		t.Errorf(`Leaf("a",0).Hash() = %s, want %s`, got, stepWant)
	}
	// JSON round trip keeps the hash.
	b, _ := json.Marshal(tree())
	var back StepNode
	if err := json.Unmarshal(b, &back); err != nil || back.Hash() != h {
		t.Fatalf("hash after JSON round trip: %v", err)
	}
	others := map[string]StepNode{
		"children swapped":  stOr(stAnd(Leaf("r", 1), stLeaf("b")), stLeaf("a")),
		"inner swapped":     stOr(stLeaf("a"), stAnd(stLeaf("b"), Leaf("r", 1))),
		"and for or":        stAnd(stLeaf("a"), stAnd(Leaf("r", 1), stLeaf("b"))),
		"other await index": stOr(stLeaf("a"), stAnd(Leaf("r", 2), stLeaf("b"))),
		"other command":     stOr(stLeaf("a"), stAnd(Leaf("r", 1), stLeaf("c"))),
		"flattened":         stOr(stLeaf("a"), Leaf("r", 1), stLeaf("b")),
		"extra child":       stOr(stLeaf("a"), stAnd(Leaf("r", 1), stLeaf("b")), stLeaf("a")),
		"single leaf":       stLeaf("a"),
		"or of the leaf":    stOr(stLeaf("a")),
		"and of the leaf":   stAnd(stLeaf("a")),
		"empty or":          stOr(),
		"empty and":         stAnd(),
	}
	seen := map[string]string{h: "original"}
	for name, n := range others {
		if prev, dup := seen[n.Hash()]; dup {
			t.Errorf("%s has the hash of %s", name, prev)
		}
		seen[n.Hash()] = name
	}
}
