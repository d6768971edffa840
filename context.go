package weft

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/weftio/weft/core"
)

// Context is what workflow code receives. It is bound to one replay of one
// method run and must only be used from the goroutine running the method.
type Context interface {
	// Info describes the running workflow method.
	Info() Info
	// Now is the deterministic current time: the instant that triggered
	// this workflow task, identical on every replay.
	Now() time.Time
	replay() *wfContext
}

// Info describes a running workflow method.
type Info struct {
	Workflow    string
	WorkflowID  string
	Method      string
	MethodRunID string
	Version     int
	Tags        []string
	Meta        map[string]string
}

// Now returns the deterministic current time of a workflow.
func Now(ctx Context) time.Time { return ctx.Now() }

// GetInfo returns the workflow's info.
func GetInfo(ctx Context) Info { return ctx.Info() }

type wfContext struct {
	task    *core.ExecuteWorkflowTask
	r       *core.Replay
	info    Info
	inst    any // *S of the properties type, or nil
	failure *core.Error
	// stopped is set once the method must not go on: suspended, failed or
	// abandoned after a timeout.
	stopped   atomic.Bool
	suspended bool
	// guard, set only by Registry.CheckReplay, vets each command and await
	// against the recorded history before the replay sees it.
	guard *replayGuard
	// keep is set when a Sessions keeps the run parked between tasks.
	keep *replayRun
}

func (c *wfContext) Info() Info         { return c.info }
func (c *wfContext) Now() time.Time     { return c.r.Now() }
func (c *wfContext) replay() *wfContext { return c }

// stop ends the workflow goroutine without letting user code observe
// anything: runtime.Goexit runs deferred calls but recover cannot stop it.
func (c *wfContext) stop() {
	c.stopped.Store(true)
	runtime.Goexit()
}

// fail records a replay error (e.g. the workflow changed) and stops.
func (c *wfContext) fail(err error) {
	if e := core.AsError(err); e != nil {
		c.failure = e
	} else {
		c.failure = &core.Error{Code: core.CodeExecutorError, Message: err.Error()}
	}
	c.stop()
}

func (c *wfContext) check() {
	if c.stopped.Load() {
		runtime.Goexit()
	}
	if hook := testHookWeftCall.Load(); hook != nil {
		(*hook)(c)
	}
}

// testHookWeftCall, set only by this package's tests, is called by every
// weft call of a workflow goroutine that passed the stop check (to hold
// one there while a timeout fires).
var testHookWeftCall atomic.Pointer[func(*wfContext)]

// command issues a command, stopping the method if the code changed.
func (c *wfContext) command(cmd *core.Command) *core.Command {
	c.check()
	if c.guard != nil {
		cmd = c.guard.command(c, cmd)
	}
	rec, err := c.r.Command(cmd)
	if err != nil {
		c.fail(err)
	}
	return rec
}

// await resolves a step, restoring properties as recorded, and stops the
// method when the step is not decided yet.
func (c *wfContext) await(node core.StepNode) core.Outcome {
	c.check()
	if c.guard != nil {
		c.guard.await(c, node)
	}
	o, props, err := c.r.Await(node)
	for err == core.ErrSuspend && c.park() {
		o, props, err = c.r.Await(node) // the next task brought its outcome
	}
	if err == core.ErrSuspend {
		c.suspended = true
		c.stop()
	}
	if err != nil {
		c.fail(err)
	}
	if props != nil && c.inst != nil {
		if err := restoreProps(c.inst, props); err != nil {
			c.fail(&core.Error{Code: core.CodeExecutorError, Message: "restore workflow properties: " + err.Error()})
		}
	}
	return o
}
