package core

import (
	"fmt"
	"math"
)

// A fan-out of N commands joined with And would be evaluated whole at each
// of its N completions. Its step keeps instead, for the state it lives in,
// the class of each child (waiting, completed, other) and their counts, and
// on each evaluation re-evaluates only the children whose commands changed
// since: every change of a command's status goes through touch, which logs
// the command's id in the state (in memory, never stored). The step is
// evaluated whole once the counts say it may be decided.

// incrementalFrom is the width from which an And of leaves is evaluated
// incrementally.
const incrementalFrom = 32

// maxChanges bounds a state's log of changed commands: past it, the log
// starts again and the steps' kept evaluations are rebuilt.
const maxChanges = 1 << 14

// changeLog lists the commands whose statuses changed, in a state's
// lifetime in memory.
type changeLog struct {
	ids   []string
	epoch uint64 // counts the restarts of ids
}

// touch records that command c's statuses changed.
func (e *engine) touch(c *Command) {
	l := &e.s.changes
	if len(l.ids) >= maxChanges {
		l.ids, l.epoch = l.ids[:0], l.epoch+1
	}
	l.ids = append(l.ids, c.ID)
}

// Classes of a child of an And.
const (
	childWaiting int8 = iota
	childCompleted
	childOther // failed, timed out, canceled, unknown: it decides the And
)

func classOf(o Outcome) int8 {
	switch {
	case o.State == StateCompleted:
		return childCompleted
	case o.Waiting():
		return childWaiting
	}
	return childOther
}

// andEval is a step's kept evaluation of its And of leaves.
type andEval struct {
	state   *WorkflowState
	epoch   uint64
	seen    int // state.changes.ids[:seen] are counted
	flat    bool
	class   []int8
	byCmd   map[string][]int
	waiting int
	other   int
}

// evalCurrent evaluates the current step st of method run m, as
// Node.Eval(m.lookup(s), math.MaxInt64) does.
func (e *engine) evalCurrent(m *MethodRun, st *Step) Outcome {
	lookup := m.lookup(e.s)
	n := st.Node
	if n.Op != OpAnd || len(n.Children) < incrementalFrom {
		return n.Eval(lookup, math.MaxInt64)
	}
	s := e.s
	a := st.and
	if a == nil || a.state != s || a.epoch != s.changes.epoch || a.seen > len(s.changes.ids) {
		a = &andEval{state: s, epoch: s.changes.epoch, seen: len(s.changes.ids), flat: true}
		for _, c := range n.Children {
			if c.Op != OpID {
				a.flat = false
				break
			}
		}
		if a.flat {
			a.class = make([]int8, len(n.Children))
			a.byCmd = make(map[string][]int, len(n.Children))
			for k, c := range n.Children {
				a.class[k] = classOf(c.Eval(lookup, math.MaxInt64))
				a.count(a.class[k], 1)
				a.byCmd[c.CommandID] = append(a.byCmd[c.CommandID], k)
			}
		}
		st.and = a
	} else if a.flat {
		for _, id := range s.changes.ids[a.seen:] {
			for _, k := range a.byCmd[id] {
				cl := classOf(n.Children[k].Eval(lookup, math.MaxInt64))
				a.count(a.class[k], -1)
				a.count(cl, 1)
				a.class[k] = cl
			}
		}
		a.seen = len(s.changes.ids)
	}
	if !a.flat || a.waiting == 0 || a.other > 0 {
		return n.Eval(lookup, math.MaxInt64)
	}
	if verifyKept {
		if full := n.Eval(lookup, math.MaxInt64); !full.Waiting() {
			panic(fmt.Sprintf("core: the kept evaluation of step %d of method run %s says waiting; evaluated whole it is %s", st.Position, m.ID, full.State))
		}
	}
	return Outcome{State: StateOngoing, Winner: -1}
}

func (a *andEval) count(class int8, d int) {
	switch class {
	case childWaiting:
		a.waiting += d
	case childOther:
		a.other += d
	}
}
