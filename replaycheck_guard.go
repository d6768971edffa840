package weft

import (
	"fmt"
	"slices"

	"github.com/weftio/weft/core"
)

// replayGuard sits between the workflow code and the replay during a
// check. It compares each command and await with what history recorded at
// its position (strictly, noting what the configured mode would do),
// stops the code at the first divergence the configured mode would not go
// past, and stops it at the end of the history so that nothing new is ever
// issued.
//
// Inline side effects do not pass through the guard (they go straight to
// the replay), so the replayed run also holds a placeholder step at every
// position where history recorded nothing: an await decided at once (which
// leaves no step) and the position just after the history. An inline
// there fails against the placeholder instead of running its function;
// an await there is legitimate only when it is decided at once, and then
// the guard fills the placeholder with that outcome before the replay
// reads it.
type replayGuard struct {
	base  ReplayProblem
	mode  core.CheckMode
	cmds  map[int]*core.Command
	byID  map[string]*core.Command
	steps map[int]*core.Step // recorded steps, the current one included
	holes map[int]*core.Step // placeholders
	last  int                // last recorded position, -1 for none
	// index mirrors the replay's logical index (it moves at each recorded
	// decided step), so a filled placeholder leaves it where it is.
	index    int64
	problems []ReplayProblem
	fatalAt  int // position of the divergence that stopped the code, -1 for none
	end      bool
	next     string // what the code did just after the history, when end
}

// newReplayGuard indexes run's history and adds the placeholders to
// run.Steps (run is the check's own copy).
func newReplayGuard(run *core.MethodRun, mode core.CheckMode, base ReplayProblem) *replayGuard {
	g := &replayGuard{base: base, mode: mode, cmds: map[int]*core.Command{}, byID: map[string]*core.Command{},
		steps: map[int]*core.Step{}, holes: map[int]*core.Step{}, last: -1, index: run.IndexAtStart, fatalAt: -1}
	for _, c := range run.Commands {
		g.cmds[c.Position], g.byID[c.ID] = c, c
		g.last = max(g.last, c.Position)
	}
	for _, st := range run.Steps {
		g.steps[st.Position] = st
		g.last = max(g.last, st.Position)
	}
	if st := run.Current; st != nil {
		g.steps[st.Position] = st
		g.last = max(g.last, st.Position)
	}
	steps := slices.Clone(run.Steps)
	for p := 0; p <= g.last+1; p++ {
		if g.cmds[p] == nil && g.steps[p] == nil {
			h := &core.Step{Position: p}
			g.holes[p] = h
			steps = append(steps, h)
		}
	}
	run.Steps = steps
	return g
}

func (g *replayGuard) report(kind ReplayProblemKind, pos int, recorded, now string, breaks bool, why string) {
	p := g.base
	p.Kind, p.Position, p.Recorded, p.Now, p.Breaks, p.Explanation = kind, pos, recorded, now, breaks, why
	g.problems = append(g.problems, p)
}

// stopAt ends the replay at a divergence.
func (g *replayGuard) stopAt(c *wfContext, pos int) {
	g.fatalAt = pos
	c.stop()
}

// command vets a command at the next position and returns the command to
// hand to the replay; it does not return when the code must stop.
func (g *replayGuard) command(c *wfContext, cmd *core.Command) *core.Command {
	p := c.r.Position() + 1
	if p > g.last {
		g.end, g.next = true, describeCommand(cmd)
		c.stop()
	}
	if rec := g.cmds[p]; rec != nil {
		if cmd.SameAs(rec, core.CheckStrict) {
			return cmd
		}
		accepted := cmd.SameAs(rec, g.mode)
		if rec.Kind == cmd.Kind && rec.Name == cmd.Name {
			what := commandLabel(cmd)
			if cmd.Kind == core.KindTimer {
				what = "timer"
			}
			why := fmt.Sprintf("the code issues the same %s with other arguments: %s.", what, diffCommands(rec, cmd))
			if accepted {
				why += fmt.Sprintf(" Check mode %s compares only the kind and name, so the instance goes on with the recorded "+
					"result of the old arguments; only instances started later use the new ones", g.mode)
			} else {
				why += g.changedAdvice()
			}
			g.report(ReplayArgumentsChanged, p, describeCommand(rec), describeCommand(cmd), !accepted, why)
		} else {
			why := fmt.Sprintf("history recorded %s at this position; the code now issues %s.", commandLabel(rec), commandLabel(cmd))
			if accepted {
				why += fmt.Sprintf(" Check mode %s accepts it: the code gets the recorded result of %s in place of %s", g.mode,
					commandLabel(rec), commandLabel(cmd))
			} else {
				why += g.changedAdvice()
			}
			g.report(ReplayCommandChanged, p, describeCommand(rec), describeCommand(cmd), !accepted, why)
		}
		if accepted {
			return rec // the configured mode goes on with the recorded command
		}
		g.stopAt(c, p)
	}
	if st := g.steps[p]; st != nil {
		g.report(ReplayCommandAdded, p, g.describeStep(st), describeCommand(cmd), true,
			fmt.Sprintf("history recorded an await at this position; the code now issues %s before it (a command added, "+
				"or moved before an existing await).", commandLabel(cmd))+g.changedAdvice())
		g.stopAt(c, p)
	}
	g.report(ReplayCommandAdded, p, decidedAtOnce, describeCommand(cmd), false,
		fmt.Sprintf("history has an await decided at once at this position (nothing to wait for, so no step was recorded); "+
			"the code now issues %s there. The engine does not notice: it dispatches it as a new command, and the recorded "+
			"positions after it no longer line up.", commandLabel(cmd))+g.changedAdvice())
	g.stopAt(c, p)
	return nil
}

// await vets an await at the next position; it does not return when the
// code must stop.
func (g *replayGuard) await(c *wfContext, node core.StepNode) {
	p := c.r.Position() + 1
	now := "await " + g.describeNode(node)
	if p > g.last {
		g.end, g.next = true, now
		c.stop()
	}
	if st := g.steps[p]; st != nil {
		if st.Hash != node.Hash() {
			g.report(ReplayStepChanged, p, g.describeStep(st), now, true,
				"the code awaits something else than the recorded step (awaits reordered, another deferred, or another And/Or "+
					"combination; the order of And/Or children counts)."+g.changedAdvice())
			g.stopAt(c, p)
		}
		if st.Decided() {
			g.index = st.IndexAtEnd
		}
		return
	}
	if rec := g.cmds[p]; rec != nil {
		g.report(ReplayCommandMissing, p, describeCommand(rec), now, true,
			fmt.Sprintf("history recorded %s at this position; the code now awaits there: a command was removed, or moved "+
				"after an await.", commandLabel(rec))+g.changedAdvice())
		g.stopAt(c, p)
	}
	o := c.r.Peek(node)
	if o.Waiting() {
		g.report(ReplayStepAdded, p, decidedAtOnce, now, false,
			"history decided the await at this position at once; the code now waits there. The engine does not notice: it "+
				"records a new step in the middle of the history, and the recorded positions after it no longer line up."+g.changedAdvice())
		g.stopAt(c, p)
	}
	h := g.holes[p]
	h.Node, h.Hash, h.Outcome, h.IndexAtEnd = node, node.Hash(), &o, g.index
}

const decidedAtOnce = "an await decided at once (no step recorded)"

func (g *replayGuard) changedAdvice() string {
	return " Keep the old code path for the instances already past this point: register the new code as a new version " +
		"(WithVersion; running instances stay on theirs), or deploy it once they have ended"
}

// describeAt describes what history recorded at position p.
func (g *replayGuard) describeAt(p int) string {
	switch {
	case g.cmds[p] != nil:
		return describeCommand(g.cmds[p])
	case g.steps[p] != nil:
		return g.describeStep(g.steps[p])
	case p > g.last:
		return "the end of the history"
	}
	return decidedAtOnce
}

// describeRest describes the recorded positions from p to the end.
func (g *replayGuard) describeRest(from int) string {
	const most = 4
	s := ""
	for p := from; p <= g.last && p < from+most; p++ {
		if s != "" {
			s += "; "
		}
		s += fmt.Sprintf("%d: %s", p, g.describeAt(p))
	}
	if n := g.last - from + 1 - most; n > 0 {
		s += fmt.Sprintf("; and %d more", n)
	}
	return s
}

func (g *replayGuard) describeStep(st *core.Step) string {
	return "await " + g.describeNode(st.Node)
}

// describeNode describes a step tree, naming each leaf's command and the
// position it was issued at.
func (g *replayGuard) describeNode(n core.StepNode) string {
	switch n.Op {
	case core.OpAnd, core.OpOr:
		s := n.Op + "("
		for i, ch := range n.Children {
			if i > 0 {
				s += ", "
			}
			s += g.describeNode(ch)
		}
		return s + ")"
	}
	c := g.byID[n.CommandID]
	if c == nil {
		return "command " + n.CommandID
	}
	s := fmt.Sprintf("%s (position %d)", commandLabel(c), c.Position)
	if c.Kind == core.KindReceive {
		s = fmt.Sprintf("signal #%d of %s", n.AwaitIndex+1, s)
	}
	return s
}
