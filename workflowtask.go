package weft

import (
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/weftio/weft/core"
)

// RunWorkflowTask replays one method run of t with the registered workflow
// code and returns the result for the state engine: a
// *core.WorkflowTaskCompleted or a *core.WorkflowTaskFailed. It is the seam
// used by executor runtimes and by the state engine's in-process fast path.
//
// The error is set (a *core.Error with CodeNotRegistered) when this
// registry has no code for the workflow, version or method; the message is
// then a WorkflowTaskFailed telling the workflow's callers why.
//
// t may be the caller's live data (the state engine's fast path hands it
// the method run of its stored state): the replay works on its own copy of
// the history, so a workflow task abandoned after its timeout, whose
// goroutine goes on running user code, never reads what the caller changes
// once RunWorkflowTask has returned.
func (r *Registry) RunWorkflowTask(t *core.ExecuteWorkflowTask) (core.Message, error) {
	v, method, err := r.resolve(t)
	if err != nil {
		rp := core.NewReplay(t, t.CodeVersion, core.CheckSimple)
		return rp.Failed(methodError(t, err)), err
	}
	own := *t
	own.Method = t.Method.ReplayCopy()
	rr, failed := startReplay(&own, v, method, false)
	if failed != nil {
		return failed, nil
	}
	return rr.wait(t).msg, nil
}

// HasWorkflowCode reports whether RunWorkflowTask can run t here.
func (r *Registry) HasWorkflowCode(t *core.ExecuteWorkflowTask) bool {
	_, _, err := r.resolve(t)
	return err == nil
}

func (r *Registry) resolve(t *core.ExecuteWorkflowTask) (*workflowVersion, *workflowMethod, *core.Error) {
	notReg := func(msg string) *core.Error {
		return &core.Error{Code: core.CodeNotRegistered, Workflow: t.Workflow, WorkflowID: t.WorkflowID, Method: t.Method.Name, Message: msg}
	}
	w := r.workflow(t.Workflow)
	if w == nil {
		return nil, nil, notReg("no implementation of this workflow is registered on this executor")
	}
	var v *workflowVersion
	if t.Pinned {
		if v = w.versions[t.CodeVersion]; v == nil {
			return nil, nil, notReg(fmt.Sprintf("the instance runs version %d, which is not registered (registered: %v)", t.CodeVersion, w.versionList()))
		}
	} else {
		v = w.latest()
	}
	m := v.methods[t.Method.Name]
	if m == nil {
		return nil, nil, notReg(fmt.Sprintf("method is not registered for version %d", v.version))
	}
	return v, m, nil
}

func (w *workflowImpl) versionList() []int {
	var out []int
	for k := range w.versions {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// methodError is the error a method run fails with: a workflow failure
// whose cause is the weft error behind it and whose Failure is the user's
// own error, if any.
func methodError(t *core.ExecuteWorkflowTask, err error) *core.Error {
	e := &core.Error{Code: core.CodeWorkflowFailed, Workflow: t.Workflow, WorkflowID: t.WorkflowID, Method: t.Method.Name, MethodRunID: t.Method.ID}
	ce := core.AsError(err)
	if ce != nil {
		e.Cause = ce.Clone()
	}
	if ce == nil || error(ce) != err {
		e.Failure = failureOf(err)
	}
	return e
}

// replayRun is one replay of a method run: the goroutine running its code
// and the channels it reports on. When a Sessions keeps it (keep set), the
// goroutine does not end at the await it suspends at: it parks there and
// goes on from it with the next workflow task (see Sessions).
type replayRun struct {
	c       *wfContext
	v       *workflowVersion
	timeout time.Duration
	done    chan replayEnd
	keep    *keptRun
}

// replayEnd is what a workflow task produced, and whether its goroutine
// is parked at the await it suspended at.
type replayEnd struct {
	msg    core.Message
	parked bool
}

// keptRun is how a parked goroutine gets its next workflow task (closed:
// it is not wanted any more and ends).
type keptRun struct {
	resume chan *core.ExecuteWorkflowTask
	once   sync.Once
}

func (k *keptRun) release() { k.once.Do(func() { close(k.resume) }) }

// startReplay replays t (its whole history, owned by the replay) from the
// start. failed is set, and nothing started, when the properties the run
// starts with cannot be restored.
func startReplay(t *core.ExecuteWorkflowTask, v *workflowVersion, m *workflowMethod, keep bool) (rr *replayRun, failed core.Message) {
	rp := core.NewReplay(t, v.version, v.checkMode)
	c := &wfContext{task: t, r: rp, info: Info{Workflow: t.Workflow, WorkflowID: t.WorkflowID, Method: t.Method.Name,
		MethodRunID: t.Method.ID, Version: v.version, Tags: t.Tags, Meta: t.Meta}}
	if v.newInstance != nil {
		c.inst = v.newInstance()
		if props := rp.StartProps(); props != nil {
			if err := restoreProps(c.inst, props); err != nil {
				return nil, rp.Failed(methodError(t, &core.Error{Code: core.CodeExecutorError, Message: "restore workflow properties: " + err.Error()}))
			}
		}
	}
	rr = &replayRun{c: c, v: v, timeout: v.taskTimeout, done: make(chan replayEnd, 1)}
	if rr.timeout <= 0 {
		rr.timeout = DefaultWorkflowTaskTimeout
	}
	if keep {
		rr.keep = &keptRun{resume: make(chan *core.ExecuteWorkflowTask)}
		c.keep = rr
	}
	go func() {
		var res core.Message
		defer func() {
			// Reached on return, panic and runtime.Goexit alike.
			if p := recover(); p != nil {
				res = c.r.Failed(methodError(t, &core.Error{Code: core.CodeExecutorError,
					Message: fmt.Sprintf("workflow code panicked: %v\n%s", p, debug.Stack())}))
			} else if res == nil {
				res = c.stoppedResult()
			}
			select {
			case rr.done <- replayEnd{msg: res}:
			default: // abandoned after a timeout, and a result already waits
			}
		}()
		value, err := m.run(c.inst, c, t.Method.Input)
		switch {
		case c.stopped.Load():
			res = c.stoppedResult()
		case err != nil:
			res = c.r.Failed(methodError(t, err))
		default:
			props, perr := snapshotProps(c.inst)
			if perr != nil {
				res = c.r.Failed(methodError(t, &core.Error{Code: core.CodeExecutorError, Message: "save workflow properties: " + perr.Error()}))
				return
			}
			res = c.r.Completed(props, true, value)
		}
	}()
	return rr, nil
}

// wait waits for what the workflow task in progress produces, at most the
// workflow task timeout. On a timeout the goroutine is abandoned: Go
// cannot stop it, it stops at its next weft call.
func (rr *replayRun) wait(t *core.ExecuteWorkflowTask) replayEnd {
	timer := time.NewTimer(rr.timeout)
	defer timer.Stop()
	select {
	case end := <-rr.done:
		return end
	case <-timer.C:
		rr.abandon()
		// Built from t, not from the run: its goroutine may be using it.
		return replayEnd{msg: core.FailedResult(t, rr.v.version, methodError(t, &core.Error{Code: core.CodeExecutorError,
			Message: fmt.Sprintf("workflow task did not finish within %s", rr.timeout)}))}
	}
}

// abandon stops the run for good: its goroutine ends at its next weft
// call, or at once if it is parked.
func (rr *replayRun) abandon() {
	rr.c.stopped.Store(true)
	if rr.keep != nil {
		rr.keep.release()
	}
}

// park is called by the goroutine of a kept run when its code suspends
// at an await: it hands over the workflow task's result and waits there
// for the next task (already checked and carried over by Resume). false:
// the run is not kept any more (or the result could not be made), and
// the goroutine stops as it would without sessions.
func (c *wfContext) park() bool {
	rr := c.keep
	if rr == nil || c.stopped.Load() {
		return false
	}
	props, err := snapshotProps(c.inst)
	if err != nil {
		return false // stoppedResult reports it
	}
	res := c.r.Completed(props, false, nil)
	c.r.Retreat()
	rr.done <- replayEnd{msg: res, parked: true}
	t, ok := <-rr.keep.resume
	if !ok || c.stopped.Load() {
		return false
	}
	c.task = t
	c.info.Tags, c.info.Meta = t.Tags, t.Meta // as a replay of t sees them
	return true
}

// stoppedResult is the result once the method stopped inside a weft call:
// suspended at a step, or failed because the code no longer matches.
func (c *wfContext) stoppedResult() core.Message {
	switch {
	case c.failure != nil:
		return c.r.Failed(methodError(c.task, c.failure))
	case c.suspended:
		props, err := snapshotProps(c.inst)
		if err != nil {
			return c.r.Failed(methodError(c.task, &core.Error{Code: core.CodeExecutorError, Message: "save workflow properties: " + err.Error()}))
		}
		return c.r.Completed(props, false, nil)
	}
	return c.r.Failed(methodError(c.task, &core.Error{Code: core.CodeExecutorError,
		Message: "workflow code left its goroutine (runtime.Goexit) without returning"}))
}
