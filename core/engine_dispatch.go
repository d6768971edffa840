package core

import (
	"fmt"
	"slices"
)

func (e *engine) dispatchWorkflow(m *DispatchWorkflow) error {
	if m.WorkflowID == "" || m.Workflow == "" || m.Method == "" {
		return &DecodeError{Reason: fmt.Sprintf("DispatchWorkflow %s: workflowId, workflow and method are required", e.in.ID)}
	}
	client := waitingClient(m.Requester, m.ClientWaiting)
	if e.s != nil {
		// A duplicate, or a second dispatch with the same id: attach. Its
		// tags were recorded before it came: a live instance keeps them
		// (and releases them when it ends), an ended one releases them now.
		for _, t := range m.Tags {
			switch {
			case e.s.Result != nil:
				e.emit(TagOut(&RemoveTagFromWorkflow{Workflow: e.s.WorkflowName, Tag: t, WorkflowID: e.s.WorkflowID}))
			case !slices.Contains(e.s.Tags, t):
				e.s.Tags = append(e.s.Tags, t)
			}
		}
		e.attach(m.WorkflowID, m.WorkflowID, m.Requester, client)
		return nil
	}
	e.s = &WorkflowState{
		V:            StateSchemaVersion,
		WorkflowID:   m.WorkflowID,
		WorkflowName: m.Workflow,
		Tags:         m.Tags,
		Meta:         m.Meta,
		CreatedAt:    e.now,
	}
	run := &MethodRun{ID: m.WorkflowID, Name: m.Method, Input: m.Input, Requester: m.Requester}
	if client != "" {
		run.WaitingClients = []string{client}
	}
	e.event(EventWorkflowDispatched, func(ev *Event) {
		ev.MethodRunID, ev.Method, ev.Input, ev.Requester, ev.Tags, ev.Meta = run.ID, m.Method, m.Input, m.Requester, m.Tags, m.Meta
	})
	e.startMethod(run)
	return nil
}

func waitingClient(r *Requester, waiting bool) string {
	if waiting && r != nil && r.Client != "" {
		return r.Client
	}
	return ""
}

// attach makes a late requester wait for a method run's outcome, or answers
// it at once when the outcome is known. as is the id the requester knows
// the run by (methodRunID unless it dispatched under another id).
func (e *engine) attach(methodRunID, as string, r *Requester, client string) {
	if client == "" && !r.IsWorkflow() {
		return
	}
	if run := e.s.Method(methodRunID); run != nil {
		switch {
		case run.Returned:
			e.replyTo(r, client, as, run.Name, MethodCompleted, run.Value, nil)
		case run.Failure != nil:
			// Failed and waiting for a retry: say so now; after a retry the
			// caller can wait again.
			e.replyTo(r, client, as, run.Name, MethodFailed, nil, run.Failure)
		case as == run.ID && !r.IsWorkflow():
			if !slices.Contains(run.WaitingClients, client) {
				run.WaitingClients = append(run.WaitingClients, client)
			}
		case as == run.ID && r.IsWorkflow() && run.Requester != nil && *run.Requester == *r:
			// The requester that started the run: it is answered anyway.
		default:
			w := Attached{Requester: r, Client: client, As: as}
			if !slices.ContainsFunc(run.Attached, w.same) {
				run.Attached = append(run.Attached, w)
			}
		}
		return
	}
	if res := e.s.EndedMethod(methodRunID); res != nil {
		e.replyTo(r, client, as, res.Name, kindOf(res.State), res.Value, res.Error)
		return
	}
	e.replyTo(r, client, as, "", MethodUnknown, nil, e.unknownError(methodRunID))
}

func (a Attached) same(b Attached) bool {
	return a.Client == b.Client && a.As == b.As && (a.Requester == nil) == (b.Requester == nil) &&
		(a.Requester == nil || *a.Requester == *b.Requester)
}

func kindOf(s State) OutcomeKind {
	switch s {
	case StateCompleted:
		return MethodCompleted
	case StateCanceled:
		return MethodCanceled
	}
	return MethodFailed
}

func (e *engine) unknownError(methodRunID string) *Error {
	return &Error{Code: CodeWorkflowUnknown, Workflow: e.s.WorkflowName, WorkflowID: e.s.WorkflowID, MethodRunID: methodRunID,
		Message: "no such method run on this workflow instance"}
}

// startMethod adds a method run starting from the current properties and
// dispatches its first workflow task (or queues it behind the running one).
func (e *engine) startMethod(run *MethodRun) {
	run.IndexAtStart = e.next()
	run.PropsAtStart = e.s.Props
	run.StartedAt = e.in.Instant
	e.s.Methods = append(e.s.Methods, run)
	e.dispatchWorkflowTask(run, e.in.Instant)
}

func (e *engine) dispatchMethod(m *DispatchMethod) {
	client := waitingClient(m.Requester, m.ClientWaiting)
	if e.s.Method(m.MethodRunID) != nil || e.s.EndedMethod(m.MethodRunID) != nil {
		e.attach(m.MethodRunID, m.MethodRunID, m.Requester, client)
		return
	}
	run := &MethodRun{ID: m.MethodRunID, Name: m.Method, Input: m.Input, Requester: m.Requester}
	if client != "" {
		run.WaitingClients = []string{client}
	}
	e.event(EventMethodDispatched, func(ev *Event) {
		ev.MethodRunID, ev.Method, ev.Input, ev.Requester = run.ID, m.Method, m.Input, m.Requester
	})
	e.startMethod(run)
}

// waiter returns who a WaitWorkflow is from, and the run id it knows the
// method run by.
func (m *WaitWorkflow) waiter() (r *Requester, as string) {
	r, as = m.Requester, m.As
	if r == nil {
		r = &Requester{Client: m.Client}
	}
	if as == "" {
		as = m.MethodRunID
	}
	return r, as
}

func (e *engine) waitWorkflow(m *WaitWorkflow) {
	r, as := m.waiter()
	if e.s == nil {
		e.replyMissing(r, m.Client, m.Workflow, m.WorkflowID, as)
		return
	}
	e.attach(m.MethodRunID, as, r, m.Client)
}

// onMissing answers messages for an instance that does not exist or has
// ended: dispatching a method gets an Unknown answer; results, signals,
// cancels and timers have nobody to act on and are dropped.
func (e *engine) onMissing(msg Message) {
	m, ok := msg.(*DispatchMethod)
	if !ok {
		return
	}
	if e.s != nil {
		if res := e.s.EndedMethod(m.MethodRunID); res != nil {
			e.replyTo(m.Requester, waitingClient(m.Requester, m.ClientWaiting), res.MethodRunID, res.Name, kindOf(res.State), res.Value, res.Error)
			return
		}
	}
	e.replyMissing(m.Requester, waitingClient(m.Requester, m.ClientWaiting), m.Workflow, m.WorkflowID, m.MethodRunID)
}

func (e *engine) replyMissing(r *Requester, client, workflow, workflowID, methodRunID string) {
	e.replyNone(r, client, MethodUnknown, &Error{Code: CodeWorkflowUnknown, Workflow: workflow, WorkflowID: workflowID, MethodRunID: methodRunID,
		Message: "no such workflow instance (never started, or ended and past its retention)"})
}

// replyNone answers a requester of a method run that has no instance to
// run on: kind is MethodUnknown or MethodFailed, err names the run.
func (e *engine) replyNone(r *Requester, client string, kind OutcomeKind, err *Error) {
	if client != "" {
		e.emit(Out{Topic: Topic(PrefixResponse, client), Subject: err.WorkflowID, Msg: &MethodOutcome{
			Kind: kind, Workflow: err.Workflow, WorkflowID: err.WorkflowID, MethodRunID: err.MethodRunID, Error: err}})
	}
	if r.IsWorkflow() {
		rk := ChildUnknown
		if kind == MethodFailed {
			rk = ChildFailed
		}
		e.emit(Out{Topic: Topic(PrefixWorkflowEngine, r.Workflow), Key: r.WorkflowID, Subject: r.WorkflowID, Msg: &CommandResult{
			Kind: rk, Workflow: r.Workflow, WorkflowID: r.WorkflowID, MethodRunID: r.MethodRunID, CommandID: err.MethodRunID, Error: err}})
	}
}

// foreign answers a message for workflow W whose id is the id of an
// instance of another workflow: ids are unique across workflow types, so W
// has no instance with that id. A dispatch is refused (and the tags
// recorded for it released), a method or a wait gets "unknown", and
// results, signals, cancels and retries have nothing to act on, as for a
// missing instance. The owner's state is left as it is.
func (e *engine) foreign(msg Message, owner string) {
	_, id, _ := EngineTarget(msg)
	taken := fmt.Sprintf("workflow id %s is the id of an instance of workflow %s; ids are unique across workflow types", id, owner)
	if _, ok := msg.(*DispatchWorkflow); ok {
		e.refuse(msg, MethodFailed, &Error{Code: CodeBadInput, Message: "cannot start: " + taken})
		return
	}
	e.refuse(msg, MethodUnknown, &Error{Code: CodeWorkflowUnknown, Message: "no such instance: " + taken})
}

// refuse answers the requester of a dispatch, a method or a wait that will
// not run with an outcome of kind and err (given the run's names and ids);
// a refused dispatch releases the tags recorded for it.
func (e *engine) refuse(msg Message, kind OutcomeKind, err *Error) {
	workflow, id, _ := EngineTarget(msg)
	named := func(method, runID string) *Error {
		c := *err
		c.Workflow, c.Method, c.WorkflowID, c.MethodRunID = workflow, method, id, runID
		return &c
	}
	switch m := msg.(type) {
	case *DispatchWorkflow:
		for _, t := range m.Tags {
			e.emit(TagOut(&RemoveTagFromWorkflow{Workflow: m.Workflow, Tag: t, WorkflowID: m.WorkflowID}))
		}
		e.replyNone(m.Requester, waitingClient(m.Requester, m.ClientWaiting), kind, named(m.Method, m.WorkflowID))
	case *DispatchMethod:
		e.replyNone(m.Requester, waitingClient(m.Requester, m.ClientWaiting), kind, named(m.Method, m.MethodRunID))
	case *WaitWorkflow:
		r, as := m.waiter()
		e.replyNone(r, m.Client, kind, named("", as))
	}
}

// reply tells everyone waiting for run how it ended, then forgets the
// waiting clients (a later WaitWorkflow registers again).
func (e *engine) reply(run *MethodRun, kind OutcomeKind, value []byte, err *Error) {
	ek := map[OutcomeKind]EventKind{MethodCompleted: EventMethodCompleted, MethodFailed: EventMethodFailed, MethodCanceled: EventMethodCanceled}[kind]
	if ek != "" {
		e.event(ek, func(ev *Event) { ev.MethodRunID, ev.Method, ev.Value, ev.Error = run.ID, run.Name, value, err })
	}
	for _, c := range run.WaitingClients {
		e.replyTo(nil, c, run.ID, run.Name, kind, value, err)
	}
	run.WaitingClients = nil
	for _, a := range run.Attached {
		e.replyTo(a.Requester, a.Client, a.As, run.Name, kind, value, err)
	}
	run.Attached = nil
	if run.Requester.IsWorkflow() {
		e.replyTo(run.Requester, "", run.ID, run.Name, kind, value, err)
	}
}

// replyTo answers one client and/or one requesting workflow method run.
func (e *engine) replyTo(r *Requester, client, methodRunID, method string, kind OutcomeKind, value []byte, err *Error) {
	s := e.s
	if client != "" {
		e.emit(Out{Topic: Topic(PrefixResponse, client), Subject: s.WorkflowID, Msg: &MethodOutcome{
			Kind: kind, Workflow: s.WorkflowName, WorkflowID: s.WorkflowID, MethodRunID: methodRunID, Value: value, Error: err}})
	}
	if !r.IsWorkflow() {
		return
	}
	res := &CommandResult{Workflow: r.Workflow, WorkflowID: r.WorkflowID, MethodRunID: r.MethodRunID, CommandID: methodRunID, Value: value}
	switch kind {
	case MethodCompleted:
		res.Kind = ChildCompleted
	case MethodCanceled:
		res.Kind = ChildCanceled
		res.Error = &Error{Code: CodeWorkflowCanceled, Workflow: s.WorkflowName, Method: method, WorkflowID: s.WorkflowID, MethodRunID: methodRunID}
	case MethodUnknown:
		res.Kind = ChildUnknown
		res.Error = err
	default:
		res.Kind = ChildFailed
		res.Error = err
	}
	if r.WorkflowID == s.WorkflowID {
		e.bufferFront(res)
		return
	}
	e.emit(Out{Topic: Topic(PrefixWorkflowEngine, r.Workflow), Key: r.WorkflowID, Subject: r.WorkflowID, Msg: res})
}
