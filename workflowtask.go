package weft

import (
	"fmt"
	"runtime/debug"
	"slices"
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
	return runReplay(&own, v, method), nil
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

func runReplay(t *core.ExecuteWorkflowTask, v *workflowVersion, m *workflowMethod) core.Message {
	rp := core.NewReplay(t, v.version, v.checkMode)
	c := &wfContext{task: t, r: rp, info: Info{Workflow: t.Workflow, WorkflowID: t.WorkflowID, Method: t.Method.Name,
		MethodRunID: t.Method.ID, Version: v.version, Tags: t.Tags, Meta: t.Meta}}
	if v.newInstance != nil {
		c.inst = v.newInstance()
		if props := rp.StartProps(); props != nil {
			if err := restoreProps(c.inst, props); err != nil {
				return rp.Failed(methodError(t, &core.Error{Code: core.CodeExecutorError, Message: "restore workflow properties: " + err.Error()}))
			}
		}
	}
	type outcome struct {
		msg core.Message
	}
	done := make(chan outcome, 1)
	go func() {
		var res outcome
		defer func() {
			// Reached on return, panic and runtime.Goexit alike.
			if p := recover(); p != nil {
				res.msg = rp.Failed(methodError(t, &core.Error{Code: core.CodeExecutorError,
					Message: fmt.Sprintf("workflow code panicked: %v\n%s", p, debug.Stack())}))
			} else if res.msg == nil {
				res.msg = c.stoppedResult()
			}
			done <- res
		}()
		value, err := m.run(c.inst, c, t.Method.Input)
		switch {
		case c.stopped.Load():
			res.msg = c.stoppedResult()
		case err != nil:
			res.msg = rp.Failed(methodError(t, err))
		default:
			props, perr := snapshotProps(c.inst)
			if perr != nil {
				res.msg = rp.Failed(methodError(t, &core.Error{Code: core.CodeExecutorError, Message: "save workflow properties: " + perr.Error()}))
				return
			}
			res.msg = rp.Completed(props, true, value)
		}
	}()
	timeout := v.taskTimeout
	if timeout <= 0 {
		timeout = DefaultWorkflowTaskTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case res := <-done:
		return res.msg
	case <-timer.C:
		// The goroutine cannot be killed; it stops at its next weft call.
		c.stopped.Store(true)
		return rp.Failed(methodError(t, &core.Error{Code: core.CodeExecutorError,
			Message: fmt.Sprintf("workflow task did not finish within %s", timeout)}))
	}
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
