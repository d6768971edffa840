package core

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Input is one message handed to the state engine.
type Input struct {
	ID      string    // message id (for duplicate detection)
	Instant time.Time // logical instant of the message (see Instant)
	Msg     Message
}

// Transition is the result of applying one message: the new state (nil when
// there is still no state, e.g. a command for an unknown workflow), the
// outputs to publish, and whether the state changed and must be written.
type Transition struct {
	State   *WorkflowState
	Outputs []Out
	Changed bool
	// Pages are history pages to write with the state, DroppedPages the
	// keys of pages of method runs that are gone, to delete with it.
	Pages        []StoredPage
	DroppedPages []string
	// Dropped says why the message had nothing to act on, when it had
	// none: no instance, or an instance that has ended (see Drop).
	Dropped Drop
}

// Drop is why a message had no effect and no answer.
type Drop int

const (
	// NotDropped: the message was applied, answered, or is a redelivery.
	NotDropped Drop = iota
	// DroppedNoInstance: the workflow has no instance with the message's
	// id (it never started, or it ended and its retention is over).
	DroppedNoInstance
	// DroppedEnded: the instance has ended; a late result, a signal or a
	// command after the end has nothing left to act on.
	DroppedEnded
)

// String names the drop for logs.
func (d Drop) String() string {
	switch d {
	case DroppedNoInstance:
		return "no such instance (never started, or ended and past its retention)"
	case DroppedEnded:
		return "the instance has ended"
	}
	return "not dropped"
}

// ApplyOptions gives Apply what core cannot do by itself.
type ApplyOptions struct {
	// Match evaluates the JSONPath part of signal filters
	// (SignalFilter.Expr). Without it, no signal passes a filter with an
	// Expr: such signals are discarded, never let through unfiltered.
	Match Matcher
}

// Apply is ApplyWith without options: receptions filtered by a JSONPath
// expression receive no signal (see ApplyOptions.Match).
func Apply(s *WorkflowState, in Input, now time.Time) (Transition, error) {
	return ApplyWith(s, in, now, ApplyOptions{})
}

// ApplyWith is the state engine: it applies one message to a workflow's
// state at wall-clock now and returns the new state and the messages to
// send. s may be nil (no stored state); it is modified in place. ApplyWith
// never performs I/O (unless o's functions do); an error means the message
// is invalid and can never be applied (a *DecodeError).
func ApplyWith(s *WorkflowState, in Input, now time.Time, o ApplyOptions) (Transition, error) {
	if s != nil && in.ID != "" && (s.LastMessageID == in.ID || s.LastInputID == in.ID) {
		return Transition{State: s}, nil // redelivery of the last message
	}
	if s != nil {
		if w, _, ok := EngineTarget(in.Msg); ok && w != s.WorkflowName {
			e := &engine{now: now, in: in, opts: o}
			e.foreign(in.Msg, s.WorkflowName)
			return Transition{State: s, Outputs: e.out, Dropped: e.dropped(DroppedNoInstance)}, nil
		}
	}
	ended := s != nil && s.Result != nil
	e := &engine{s: s, now: now, in: in, opts: o}
	var before []*MethodRun
	if s != nil {
		before = slices.Clone(s.Methods)
	}
	if err := e.apply(in); err != nil {
		return Transition{State: s}, err
	}
	switch {
	case e.s == nil:
		// Nothing to keep.
		return Transition{Outputs: e.out, Dropped: e.dropped(DroppedNoInstance)}, nil
	case ended:
		// A result record, which only answers.
		return Transition{State: e.s, Outputs: e.out, Dropped: e.dropped(DroppedEnded)}, nil
	}
	e.progress()
	if e.s.Result == nil {
		e.archive()
	}
	e.s.LastMessageID, e.s.LastInputID = in.ID, ""
	e.s.UpdatedAt = now
	return Transition{State: e.s, Outputs: e.out, Changed: true, Pages: e.pages, DroppedPages: e.droppedPages(before)}, nil
}

type engine struct {
	s   *WorkflowState
	now time.Time
	// in is the message being applied: the input, then in turn each
	// buffered message drained after it. What it decides (a step resumed,
	// a method started, a synthetic message) takes its instant and id from
	// it, never from the input that happened to drain it, so a history is
	// the same whichever message unblocked the buffer (the fast path and
	// the broker path drain it from different inputs).
	in  Input
	out []Out
	// opts holds what the caller provides, e.g. the JSONPath matcher.
	opts ApplyOptions
	// synth counts synthetic messages created while applying in.
	synth int
	// pages are the history pages archive made.
	pages []StoredPage
}

func (e *engine) emit(o Out) { e.out = append(e.out, o) }

// dropped is d when applying the input to a missing or ended instance
// produced nothing, not even an answer.
func (e *engine) dropped(d Drop) Drop {
	if len(e.out) > 0 {
		return NotDropped
	}
	return d
}

// event emits a workflow lifecycle event about this instance.
func (e *engine) event(k EventKind, fill func(ev *Event)) {
	ev := &Event{Kind: k, Workflow: e.s.WorkflowName, WorkflowID: e.s.WorkflowID}
	if fill != nil {
		fill(ev)
	}
	e.emit(EventOut(ev))
}

// next is the index from which a status change made now is visible: the
// next workflow task is the first to see it.
func (e *engine) next() int64 { return e.s.TaskIndex + 1 }

func (e *engine) apply(in Input) error {
	switch m := in.Msg.(type) {
	case *DispatchWorkflow:
		return e.dispatchWorkflow(m)
	case *WaitWorkflow:
		if s := e.s; s != nil && s.Result == nil && s.Running != nil && s.Method(m.MethodRunID) == nil && s.EndedMethod(m.MethodRunID) == nil {
			// The method run may be a DispatchMethod waiting in the buffer:
			// wait behind it rather than answer "unknown" too early.
			return e.buffer(in)
		}
		e.waitWorkflow(m)
	case *RetryWorkflowTask:
		e.retryWorkflowTask()
	case *WorkflowTaskCompleted:
		return e.workflowTaskCompleted(m)
	case *WorkflowTaskFailed:
		e.workflowTaskFailed(m)
	case *DispatchMethod, *CancelWorkflow, *CompleteTimers, *SendSignal, *CommandResult, *RetryTasks:
		// Each of these may change what the running workflow task was
		// given (a RetryTasks re-arms a failed step it may be deciding), so
		// it waits for the task to end.
		if e.s == nil || e.s.Result != nil {
			e.onMissing(in.Msg)
			return nil
		}
		if e.s.Running != nil {
			return e.buffer(in)
		}
		e.applyBufferable(in)
	default:
		return &DecodeError{Reason: fmt.Sprintf("message %s of type %s is not for the state engine", in.ID, in.Msg.MessageType())}
	}
	return nil
}

// applyBufferable handles the messages that wait while a workflow task runs.
func (e *engine) applyBufferable(in Input) {
	switch m := in.Msg.(type) {
	case *WaitWorkflow:
		e.waitWorkflow(m)
	case *DispatchMethod:
		e.dispatchMethod(m)
	case *CancelWorkflow:
		e.cancel(m)
	case *CompleteTimers:
		e.completeTimers(m, in.Instant)
	case *SendSignal:
		e.sendSignal(m, in.Instant)
	case *CommandResult:
		e.commandResult(m, in.Instant)
	case *RetryTasks:
		e.retryTasks(m, in.Instant)
	}
}

func (e *engine) buffer(in Input) error {
	for _, b := range e.s.Buffer {
		if b.ID == in.ID {
			return nil
		}
	}
	data, err := EncodeMessage(in.Msg)
	if err != nil {
		return &DecodeError{Reason: err.Error()}
	}
	e.s.Buffer = append(e.s.Buffer, Buffered{ID: in.ID, Type: in.Msg.MessageType(), Instant: in.Instant, Data: data})
	return nil
}

// bufferFront queues synthetic messages (commands a workflow aimed at
// itself) ahead of everything else, in order.
func (e *engine) bufferFront(msgs ...Message) {
	front := make([]Buffered, 0, len(msgs))
	for _, m := range msgs {
		data, err := EncodeMessage(m)
		if err != nil {
			continue // our own message types always encode
		}
		e.synth++
		id := ChildID(e.in.Instant, e.in.ID, "synthetic", e.synth)
		front = append(front, Buffered{ID: id, Type: m.MessageType(), Instant: e.in.Instant, Data: data})
	}
	e.s.Buffer = append(front, e.s.Buffer...)
}

// progress runs until a workflow task is in flight or nothing is left: it
// resumes methods whose step got decided and drains the buffer in order,
// then removes ended method runs.
func (e *engine) progress() {
	for e.s.Result == nil && e.s.Running == nil {
		if e.resumeDecidedStep() {
			break
		}
		if len(e.s.Buffer) == 0 {
			break
		}
		b := e.s.Buffer[0]
		e.s.Buffer = e.s.Buffer[1:]
		m, err := decodePayload(b.Type, b.ID, b.Data)
		if err != nil {
			continue // written by this engine, so decodable; never block on it
		}
		e.in, e.synth = Input{ID: b.ID, Instant: b.Instant, Msg: m}, 0
		e.applyBufferable(e.in)
	}
	if len(e.s.Buffer) == 0 {
		e.s.Buffer = nil
	}
	e.removeEndedMethods()
}

// resumeDecidedStep finds the method whose current step is now decided (the
// one whose step started earliest) and dispatches its workflow task.
func (e *engine) resumeDecidedStep() bool {
	var best *MethodRun
	var bestO Outcome
	for _, m := range e.s.Methods {
		st := m.Current
		if st == nil {
			continue
		}
		o := e.evalCurrent(m, st)
		if !stepEnds(st, o) {
			continue
		}
		if best == nil || st.IndexAtStart < best.Current.IndexAtStart {
			best, bestO = m, o
		}
	}
	if best == nil {
		return false
	}
	st := best.Current
	o := bestO
	st.Outcome = &o
	st.IndexAtEnd = e.next()
	st.PropsAtEnd = e.s.Props
	st.ResumedAt = e.in.Instant
	if o.State.Terminal() {
		best.Steps = append(best.Steps, st)
		best.Current = nil
	}
	e.dispatchWorkflowTask(best, e.in.Instant)
	return true
}

// stepEnds reports whether outcome o ends step st: a waiting step ends on
// any decision; a currently failed one only when the outcome is final.
func stepEnds(st *Step, o Outcome) bool {
	if st.Outcome == nil || st.Outcome.Waiting() {
		return !o.Waiting()
	}
	return (st.Outcome.State == StateCurrentlyFailed || st.Outcome.State == StateCurrentlyTimedOut) && o.State.Terminal()
}

// lookup finds commands for step evaluation: the method's own first.
func (m *MethodRun) lookup(s *WorkflowState) func(string) *Command {
	return func(id string) *Command {
		if c := m.Command(id); c != nil {
			return c
		}
		_, c := s.FindCommand(id)
		return c
	}
}

func (e *engine) dispatchWorkflowTask(m *MethodRun, trigger time.Time) {
	s := e.s
	s.TaskIndex++
	s.Running = &RunningTask{
		// The id names the history the task carries: its index and the
		// message that led to it (the one being applied). Two engines
		// applying different messages to one stored state, in the same
		// millisecond or not, dispatch tasks with different ids, so a stale
		// result is rejected; the same message at the same index gives the
		// same id, on the fast path and the broker path alike (whatever
		// else the two interleave). Only the attempt that wins the write
		// publishes its task (see the state engine's outbox).
		ID:          DeriveID(trigger, s.WorkflowID, "workflow-task", fmt.Sprint(s.TaskIndex), e.in.ID),
		MethodRunID: m.ID,
		Index:       s.TaskIndex,
		Trigger:     trigger,
	}
	e.emit(Out{
		Topic:   Topic(PrefixWorkflowTaskExecutor, s.WorkflowName),
		Key:     s.WorkflowID,
		Subject: s.WorkflowID,
		Msg:     s.runningTask(m),
	})
	e.event(EventWorkflowTaskDispatched, func(ev *Event) {
		ev.MethodRunID, ev.Method, ev.TaskID = m.ID, m.Name, s.Running.ID
	})
}

// runningTask is the message of the workflow task in flight, running m.
func (s *WorkflowState) runningTask(m *MethodRun) *ExecuteWorkflowTask {
	props := map[string]json.RawMessage{}
	addProp := func(h string) {
		if h != "" {
			props[h] = s.PropValues[h]
		}
	}
	addProp(m.PropsAtStart)
	for _, st := range m.Steps {
		addProp(st.PropsAtEnd)
	}
	if m.Current != nil {
		addProp(m.Current.PropsAtEnd)
	}
	return &ExecuteWorkflowTask{
		TaskID:      s.Running.ID,
		WorkflowID:  s.WorkflowID,
		Workflow:    s.WorkflowName,
		CodeVersion: s.Version,
		Pinned:      s.Pinned,
		Tags:        s.Tags,
		Meta:        s.Meta,
		Index:       s.Running.Index,
		Trigger:     s.Running.Trigger,
		Method:      m,
		Props:       props,
	}
}

// removeEndedMethods drops method runs that returned and have nothing left
// to receive, and ends the instance when none is left.
func (e *engine) removeEndedMethods() {
	s := e.s
	if s.Result != nil {
		return
	}
	kept := s.Methods[:0]
	for _, m := range s.Methods {
		if e.methodEnded(m) {
			e.addEnded(MethodResult{MethodRunID: m.ID, Name: m.Name, State: StateCompleted, Value: m.Value})
			e.closeChannels(m.ID)
			continue
		}
		kept = append(kept, m)
	}
	s.Methods = kept
	if len(s.Methods) == 0 {
		e.endInstance(StateCompleted)
		return
	}
	e.collectProps()
}

func (e *engine) methodEnded(m *MethodRun) bool {
	if !m.Returned || m.Current != nil || m.Failure != nil {
		return false
	}
	if e.s.Running != nil && e.s.Running.MethodRunID == m.ID {
		return false
	}
	for _, c := range m.Commands {
		if c.keepsMethodAlive() {
			return false
		}
	}
	return true
}

func (e *engine) closeChannels(methodRunID string) {
	kept := e.s.Channels[:0]
	for _, ch := range e.s.Channels {
		if ch.MethodRunID != methodRunID {
			kept = append(kept, ch)
		}
	}
	e.s.Channels = kept
	if len(kept) == 0 {
		e.s.Channels = nil
	}
}

// endInstance shrinks the state to its result record.
func (e *engine) endInstance(st State) {
	s := e.s
	s.Result = &Result{State: st, EndedAt: e.now}
	kind := EventWorkflowCompleted
	if st == StateCanceled {
		kind = EventWorkflowCanceled
	}
	e.event(kind, nil)
	for _, t := range s.Tags {
		// A customId value is free again, and by-tag commands stop here.
		e.emit(TagOut(&RemoveTagFromWorkflow{Workflow: s.WorkflowName, Tag: t, WorkflowID: s.WorkflowID}))
	}
	s.Methods, s.Channels, s.Buffer, s.Running = nil, nil, nil, nil
	s.Props, s.PropValues = "", nil
}

// collectProps forgets properties values no longer referenced.
func (e *engine) collectProps() {
	s := e.s
	if len(s.PropValues) <= 1 {
		return
	}
	used := map[string]bool{s.Props: true}
	for _, m := range s.Methods {
		used[m.PropsAtStart] = true
		for _, st := range m.Steps {
			used[st.PropsAtEnd] = true
		}
		if m.Current != nil {
			used[m.Current.PropsAtEnd] = true
		}
	}
	for h := range s.PropValues {
		if !used[h] {
			delete(s.PropValues, h)
		}
	}
}

// MaxEndedMethods bounds the outcomes of ended method runs kept by a live
// instance for late waiters; the main method's outcome is always kept, the
// oldest others go first. Without a bound a long-lived instance serving
// many method calls would grow its state on every call.
const MaxEndedMethods = 64

func (e *engine) addEnded(r MethodResult) {
	s := e.s
	s.Ended = append(s.Ended, r)
	if len(s.Ended) <= MaxEndedMethods {
		return
	}
	for i, old := range s.Ended {
		if old.MethodRunID != s.WorkflowID {
			s.Ended = append(s.Ended[:i], s.Ended[i+1:]...)
			return
		}
	}
}
