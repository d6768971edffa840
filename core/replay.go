package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// ErrSuspend is returned by Replay.Await when the method must stop at this
// step: the step is new and undecided (it is recorded in the result), or it
// was recorded earlier and is still waiting.
var ErrSuspend = errors.New("core: workflow suspended at an undecided step")

// Replay drives one workflow task: it walks the method run's history as the
// workflow code re-issues its commands and awaits, checks that the code
// still matches (positions, check mode, step hashes), hands back recorded
// results, and collects the new commands and the new step.
//
// Replay is not safe for concurrent use; the workflow code runs on one
// goroutine.
type Replay struct {
	task    *ExecuteWorkflowTask
	run     *MethodRun
	mode    CheckMode
	version int
	pos     int
	index   int64
	byPos   map[int]*Command
	steps   map[int]*Step
	byID    map[string]*Command
	newCmds []*Command
	newStep *Step
	now     time.Time
	// open are the commands whose status may still change (see Resume).
	open map[string]*Command
	// lastCmds and lastStep are what the last workflow task recorded.
	lastCmds []*Command
	lastStep *Step
}

// NewReplay prepares the replay of task's method run with workflow code of
// the given version.
func NewReplay(task *ExecuteWorkflowTask, version int, mode CheckMode) *Replay {
	run := task.Method
	r := &Replay{task: task, run: run, mode: mode, version: version, pos: -1, index: run.IndexAtStart,
		byPos: make(map[int]*Command, len(run.Commands)), steps: make(map[int]*Step, len(run.Steps)+1),
		byID: make(map[string]*Command, len(run.Commands)), open: map[string]*Command{}}
	for _, c := range run.Commands {
		r.byPos[c.Position] = c
		r.byID[c.ID] = c
		if mayChange(c) {
			r.open[c.ID] = c
		}
	}
	for _, st := range run.Steps {
		r.steps[st.Position] = st
	}
	if run.Current != nil {
		r.steps[run.Current.Position] = run.Current
	}
	r.now = run.StartedAt
	if r.now.IsZero() {
		r.now = task.Trigger
	}
	return r
}

// Now is the deterministic current time at this point of the replay: the
// instant the method first reached it, identical on every replay.
func (r *Replay) Now() time.Time { return r.now }

// StartProps returns the properties the method run starts with (nil if none).
func (r *Replay) StartProps() json.RawMessage { return r.task.Props[r.run.PropsAtStart] }

// Position returns the last position used.
func (r *Replay) Position() int { return r.pos }

func (r *Replay) changed(format string, args ...any) error {
	return &Error{Code: CodeWorkflowChanged, Workflow: r.task.Workflow, WorkflowID: r.task.WorkflowID, Method: r.run.Name, MethodRunID: r.run.ID,
		Message: fmt.Sprintf("the workflow code no longer matches its history at position %d: ", r.pos) + fmt.Sprintf(format, args...)}
}

// Command issues a command at the next position. On replay it returns the
// recorded command (with its statuses) after checking that c matches it
// under the check mode; otherwise c gets its deterministic id and becomes
// a new command.
func (r *Replay) Command(c *Command) (*Command, error) {
	r.pos++
	if rec := r.byPos[r.pos]; rec != nil {
		if !c.SameAs(rec, r.mode) {
			if rec.Kind == c.Kind && rec.Name == c.Name {
				return nil, r.changed("%s %q is now issued with different arguments (strict check)", c.Kind, c.Name)
			}
			return nil, r.changed("history has %s %q, the code now asks for %s %q", rec.Kind, rec.Name, c.Kind, c.Name)
		}
		return rec, nil
	}
	if _, ok := r.steps[r.pos]; ok {
		return nil, r.changed("history has an await, the code now asks for %s %q", c.Kind, c.Name)
	}
	c.Position = r.pos
	c.ID = r.commandID()
	if c.Kind == KindSend || c.Kind == KindByTag {
		c.Statuses = []Status{{State: StateCompleted, Index: r.task.Index}}
	}
	r.newCmds = append(r.newCmds, c)
	r.byID[c.ID] = c
	if mayChange(c) {
		r.open[c.ID] = c
	}
	return c, nil
}

// commandID derives the id of the command at the current position from
// the method run (its instance, id and start) and the code version: never
// from the instant of the workflow task creating it, which is the time of
// whatever message decided the previous step (an executor's clock, for a
// task result). A step run again after a lost write, or on another path,
// so gets the same task ids as the first time, and an idempotency key
// built on them finds the duplicate. Runs recorded before StartedAt existed
// fall back to the task's trigger.
func (r *Replay) commandID() string {
	start := r.run.StartedAt
	if start.IsZero() {
		return DeriveID(r.task.Trigger, r.task.WorkflowID, r.run.ID, strconv.Itoa(r.version), strconv.Itoa(r.pos))
	}
	return DeriveID(start, r.task.WorkflowID, r.run.ID, start.UTC().Format(time.RFC3339Nano), strconv.Itoa(r.version), strconv.Itoa(r.pos))
}

// ResultInput is the input the result res of workflow task t is applied
// as, on whichever path it ran (an executor's envelope, or the state
// engine's fast path): its id and instant depend on the task only.
func ResultInput(t *ExecuteWorkflowTask, res Message) Input {
	return Input{ID: ChildID(t.Trigger, t.TaskID, "result", 0), Instant: t.Trigger, Msg: res}
}

// Inline runs an inline side effect at the next position: on replay it
// returns the recorded result; otherwise it calls fn once and records it.
func (r *Replay) Inline(fn func() (json.RawMessage, *Error)) (json.RawMessage, *Error, error) {
	c, err := r.Command(&Command{Kind: KindInline, Name: string(KindInline)})
	if err != nil {
		return nil, nil, err
	}
	if len(c.Statuses) == 0 {
		v, ferr := fn()
		st := Status{State: StateCompleted, Index: r.task.Index, Value: v}
		if ferr != nil {
			st = Status{State: StateFailed, Index: r.task.Index, Error: ferr}
		}
		c.Statuses = []Status{st}
	}
	st := c.Statuses[0]
	return st.Value, st.Error, nil
}

func (r *Replay) lookup(id string) *Command { return r.byID[id] }

// Peek evaluates a step as seen at the current replay index, without
// moving the position: the same answer on every replay.
func (r *Replay) Peek(node StepNode) Outcome { return node.Eval(r.lookup, r.index) }

// Await resolves a step at the next position. It returns the outcome and,
// when the step was recorded, the properties the method resumes with (nil
// otherwise). It returns ErrSuspend when the method must stop here.
func (r *Replay) Await(node StepNode) (Outcome, json.RawMessage, error) {
	r.pos++
	if rec := r.steps[r.pos]; rec != nil {
		// The same tree has the same hash: compare trees, hash only when
		// they differ (a tree recorded otherwise but hashing the same).
		if !rec.Node.equal(node) && rec.Hash != node.Hash() {
			return Outcome{}, nil, r.changed("the awaited step differs from the recorded one")
		}
		if !rec.Decided() {
			return Outcome{}, nil, ErrSuspend
		}
		r.index = rec.IndexAtEnd
		if !rec.ResumedAt.IsZero() {
			r.now = rec.ResumedAt
		}
		return *rec.Outcome, r.task.Props[rec.PropsAtEnd], nil
	}
	if c := r.byPos[r.pos]; c != nil {
		return Outcome{}, nil, r.changed("history has %s %q, the code now awaits", c.Kind, c.Name)
	}
	o := node.Eval(r.lookup, r.index)
	if o.Waiting() {
		r.newStep = &Step{Position: r.pos, Node: node, Hash: node.Hash(), IndexAtStart: r.task.Index}
		return Outcome{}, nil, ErrSuspend
	}
	return o, nil, nil
}

// Completed builds the result of a workflow task that returned or
// suspended. props is the JSON of the workflow's properties (nil if it has
// none).
func (r *Replay) Completed(props json.RawMessage, returned bool, value json.RawMessage) *WorkflowTaskCompleted {
	// The result carries copies: the replay may go on from here (Resume)
	// while the state engine records and changes what it was given.
	r.lastCmds, r.lastStep = r.newCmds, r.newStep
	res := &WorkflowTaskCompleted{
		WorkflowID: r.task.WorkflowID, Workflow: r.task.Workflow, TaskID: r.task.TaskID, MethodRunID: r.run.ID,
		CodeVersion: r.version, Props: props, Returned: returned, Value: value,
	}
	for _, c := range r.newCmds {
		res.Commands = append(res.Commands, c.clone())
	}
	if r.newStep != nil {
		res.Step = r.newStep.copy()
	}
	if r.newStep != nil {
		seen := map[string]bool{}
		r.newStep.Node.leaves(func(id string) {
			// Only those that may be in a page: the state has the others.
			if c := r.byID[id]; c != nil && !seen[id] && c.Position < r.run.ArchivedThrough && !slices.Contains(r.newCmds, c) && c.Latest().State.Terminal() {
				seen[id] = true
				res.StepCommands = append(res.StepCommands, c.clone())
			}
		})
	}
	return res
}

// Failed builds the result of a workflow task whose method failed.
func (r *Replay) Failed(err *Error) *WorkflowTaskFailed { return FailedResult(r.task, r.version, err) }

// FailedResult is the result of workflow task t, run with code of the
// given version, whose method failed with err.
func FailedResult(t *ExecuteWorkflowTask, version int, err *Error) *WorkflowTaskFailed {
	return &WorkflowTaskFailed{WorkflowID: t.WorkflowID, Workflow: t.Workflow, TaskID: t.TaskID,
		MethodRunID: t.Method.ID, CodeVersion: version, Error: err}
}
