package weft

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime/debug"
	"time"

	"github.com/weftio/weft/core"
)

// checkState replays every method run of s (a private copy) into rep.
func (r *Registry) checkState(source string, s *core.WorkflowState, rep *ReplayReport) {
	rep.States++
	if s.Result != nil {
		rep.Ended++
		return
	}
	base := ReplayProblem{Source: source, Workflow: s.WorkflowName, WorkflowID: s.WorkflowID, Version: s.Version, Position: -1, Breaks: true}
	w := r.workflow(s.WorkflowName)
	if w == nil {
		p := base
		p.Kind = ReplayUnknownWorkflow
		p.Explanation = fmt.Sprintf("no workflow %q is registered (registered: %v): no executor of this code can run the instance", s.WorkflowName, r.Workflows())
		rep.Problems = append(rep.Problems, p)
		return
	}
	var v *workflowVersion
	if s.Pinned {
		if v = w.versions[s.Version]; v == nil {
			p := base
			p.Kind = ReplayUnknownVersion
			p.Explanation = fmt.Sprintf("the instance is pinned to code version %d, which is no longer registered (registered: %v); "+
				"keep registering version %d (WithVersion) until every instance started on it has ended", s.Version, w.versionList(), s.Version)
			rep.Problems = append(rep.Problems, p)
			return
		}
	} else {
		v = w.latest() // what the first workflow task will run
	}
	base.Version, base.Mode = v.version, v.checkMode
	for _, m := range s.Methods {
		r.checkRun(base, s, v, m, rep)
	}
}

// runEnd is how the workflow goroutine of a check ended.
type runEnd struct {
	returned bool // the method function returned (not stopped)
	err      error
	panicked any
	stack    []byte
}

// checkRun replays one method run with a guard that compares every
// command and await with the history and stops at its end.
func (r *Registry) checkRun(base ReplayProblem, s *core.WorkflowState, v *workflowVersion, m *core.MethodRun, rep *ReplayReport) {
	base.Method, base.MethodRunID = m.Name, m.ID
	problems := len(rep.Problems)
	report := func(kind ReplayProblemKind, pos int, explanation string) {
		p := base
		p.Kind, p.Position, p.Explanation = kind, pos, explanation
		rep.Problems = append(rep.Problems, p)
	}
	method := v.methods[m.Name]
	if method == nil {
		report(ReplayUnknownMethod, -1, fmt.Sprintf("code version %d of %s has no method %q", v.version, s.WorkflowName, m.Name))
		return
	}
	input := m.Input
	if len(input) == 0 {
		input = json.RawMessage("null")
	}
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.DisallowUnknownFields()
	if err := dec.Decode(reflect.New(method.inType).Interface()); err != nil {
		report(ReplayInputMismatch, -1, fmt.Sprintf("the recorded input %s no longer decodes into %v: %v", clip(string(input)), method.inType, err))
		return
	}

	// The run is replayed on a copy whose history also holds placeholder
	// steps where nothing is recorded (see newReplayGuard).
	run := *m
	g := newReplayGuard(&run, v.checkMode, base)
	task := checkTask(s, &run, v.version)
	rp := core.NewReplay(task, v.version, core.CheckStrict)
	c := &wfContext{task: task, r: rp, guard: g, info: Info{Workflow: s.WorkflowName, WorkflowID: s.WorkflowID, Method: m.Name,
		MethodRunID: m.ID, Version: v.version, Tags: s.Tags, Meta: s.Meta}}
	res := ReplayRun{Source: base.Source, Workflow: s.WorkflowName, WorkflowID: s.WorkflowID, Method: m.Name, MethodRunID: m.ID,
		Version: v.version, Mode: v.checkMode, History: g.last + 1}
	defer func() {
		res.Problems = len(rep.Problems) - problems
		rep.Runs = append(rep.Runs, res)
	}()
	if v.newInstance != nil {
		c.inst = v.newInstance()
		if props := rp.StartProps(); props != nil {
			if err := restoreProps(c.inst, props); err != nil {
				report(ReplayCodeFailed, 0, fmt.Sprintf("the properties the run started with do not decode into %v: %v", v.instType, err))
				res.Outcome = "its properties do not decode"
				return
			}
		}
	}

	done := make(chan runEnd, 1)
	go func() {
		var end runEnd
		defer func() {
			if p := recover(); p != nil {
				end.panicked, end.stack = p, debug.Stack()
			}
			done <- end
		}()
		_, err := method.run(c.inst, c, m.Input)
		end.returned, end.err = !c.stopped.Load(), err
	}()
	timeout := v.taskTimeout
	if timeout <= 0 {
		timeout = DefaultWorkflowTaskTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var end runEnd
	select {
	case end = <-done:
	case <-timer.C:
		c.stopped.Store(true) // the goroutine stops at its next weft call
		report(ReplayCodeFailed, -1, fmt.Sprintf("the replay did not finish within the workflow task timeout (%s): the code blocks outside weft calls", timeout))
		res.Outcome = "timed out"
		return
	}
	rep.Problems = append(rep.Problems, g.problems...)
	res.Outcome = g.finish(c, m, end, &rep.Problems)
	res.Replayed = g.replayed(rp.Position())
}

// checkTask is the workflow task a check replays: the method run as the
// engine would hand it to an executor.
func checkTask(s *core.WorkflowState, m *core.MethodRun, version int) *core.ExecuteWorkflowTask {
	props := map[string]json.RawMessage{}
	add := func(h string) {
		if h != "" {
			props[h] = s.PropValues[h]
		}
	}
	add(m.PropsAtStart)
	for _, st := range m.Steps {
		add(st.PropsAtEnd)
	}
	if m.Current != nil {
		add(m.Current.PropsAtEnd)
	}
	index, trigger := s.TaskIndex, m.LastTrigger
	if s.Running != nil && s.Running.MethodRunID == m.ID {
		index, trigger = s.Running.Index, s.Running.Trigger
	}
	if trigger.IsZero() {
		trigger = s.UpdatedAt
	}
	return &core.ExecuteWorkflowTask{TaskID: "replay-check", WorkflowID: s.WorkflowID, Workflow: s.WorkflowName, CodeVersion: version,
		Pinned: s.Pinned, Tags: s.Tags, Meta: s.Meta, Index: index, Trigger: trigger, Method: m, Props: props}
}

// finish reads how the replay ended, adds the problems only visible then
// (an inline out of place, history left over, a panic) and describes the
// outcome.
func (g *replayGuard) finish(c *wfContext, m *core.MethodRun, end runEnd, problems *[]ReplayProblem) string {
	add := func(kind ReplayProblemKind, pos int, recorded, now string, breaks bool, why string) {
		p := g.base
		p.Kind, p.Position, p.Recorded, p.Now, p.Breaks, p.Explanation = kind, pos, recorded, now, breaks, why
		*problems = append(*problems, p)
	}
	pos := c.r.Position()
	switch {
	case g.fatalAt >= 0:
		return fmt.Sprintf("stopped at position %d, where the code no longer matches", g.fatalAt)
	case end.panicked != nil:
		add(ReplayCodeFailed, pos+1, g.describeAt(pos+1), "panic", true,
			fmt.Sprintf("the code panicked while replaying its history: %v\n%s", end.panicked, end.stack))
		return "panicked"
	case c.failure != nil && c.failure.Code == core.CodeWorkflowChanged:
		// Only an inline reaches the replay without the guard: it failed
		// against a recorded command, a recorded await, or a placeholder.
		now := "inline side effect"
		inline := &core.Command{Kind: core.KindInline, Name: string(core.KindInline)}
		switch rec, st := g.cmds[pos], g.steps[pos]; {
		case pos > g.last:
			g.end, g.next = true, now
		case rec != nil:
			g.fatalAt = pos
			add(ReplayCommandChanged, pos, describeCommand(rec), now, !inline.SameAs(rec, g.mode),
				fmt.Sprintf("history recorded %s at this position; the code now runs an inline side effect there.", commandLabel(rec))+g.changedAdvice())
		case st != nil:
			g.fatalAt = pos
			add(ReplayCommandAdded, pos, g.describeStep(st), now, true,
				"history recorded an await at this position; the code now runs an inline side effect before it (added or moved)."+g.changedAdvice())
		default:
			g.fatalAt = pos
			add(ReplayCommandAdded, pos, "an await decided at once (no step recorded)", now, false,
				"the code now runs an inline side effect where history has an await that was decided at once. The engine does not "+
					"notice: it runs the inline as a new side effect, and the recorded positions after it no longer line up."+g.changedAdvice())
		}
		if g.fatalAt >= 0 {
			return fmt.Sprintf("stopped at position %d, where the code no longer matches", g.fatalAt)
		}
	case c.failure != nil:
		add(ReplayCodeFailed, pos, g.describeAt(pos), "", true, "replaying the recorded history fails: "+c.failure.Error())
		return "failed: " + c.failure.Error()
	}
	if g.end {
		if m.Returned {
			add(ReplayCodeContinues, g.last+1, "the method returned", g.next, false,
				fmt.Sprintf("history records that this method run returned after position %d; the code now goes on with %s. "+
					"The run is not replayed again, so this instance is not affected, but the code changed at its end", g.last, g.next))
		}
		return "reached the end of its history"
	}
	var now string
	switch {
	case c.suspended:
		now = fmt.Sprintf("the method waits at position %d", pos)
	case end.returned && end.err != nil:
		now = "the method fails: " + clip(end.err.Error())
	case end.returned:
		now = "the method returns"
	default:
		add(ReplayCodeFailed, pos+1, g.describeAt(pos+1), "the code left its goroutine", true,
			"the workflow code called runtime.Goexit (t.FailNow or similar) while replaying its history")
		return "left its goroutine"
	}
	if pos < g.last {
		add(ReplayHistoryLeft, pos+1, g.describeRest(pos+1), now,
			false, fmt.Sprintf("the code stops at position %d, but history records %d more position(s). Commands were removed at the end "+
				"(or the method now returns earlier). The engine does not notice: the recorded commands after this point are ignored, "+
				"and a result still to come for them is dropped", pos, g.last-pos))
	}
	if c.suspended {
		return "waits at its current step"
	}
	return now
}

// replayed is the number of history positions the code went through.
func (g *replayGuard) replayed(pos int) int {
	if g.fatalAt >= 0 {
		return g.fatalAt
	}
	return min(pos, g.last) + 1
}
