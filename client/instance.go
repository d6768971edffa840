package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/storage"
)

// probeTimeout bounds how long a command to an instance the store does not
// hold waits for the state engine to say whether a dispatch of it was still
// on its way.
const probeTimeout = 10 * time.Second

// requireInstance refuses, with an error of code workflow_unknown, a
// command to an instance that does not exist, when the client can read
// states: the state engine would drop such a command (a signal, a cancel, a
// retry) with nobody to tell. Without a store it cannot know, and lets the
// command go.
//
// A dispatch published just before may not be stored yet, so a state that
// is missing is read again after a probe has been through the state engine:
// commands to one instance are handled in the order they were sent, and the
// engine stores what a dispatch started before it answers the next message.
func (c *Client) requireInstance(ctx context.Context, workflow, workflowID string) error {
	if c.cfg.Store == nil {
		return nil
	}
	raw, err := storage.ReadValue(ctx, c.cfg.Store, core.StateKey(workflowID))
	if err != nil {
		return fmt.Errorf("read state of %s: %w", workflowID, err)
	}
	if raw == nil && c.cfg.Registry != nil && !c.cfg.Registry.HasWorkflow(workflow) {
		// No state engine of this deployment runs it, so none would answer.
		return &core.Error{Code: core.CodeWorkflowUnknown, Workflow: workflow, WorkflowID: workflowID, Message: "workflow is not registered"}
	}
	if raw == nil {
		if err := c.probe(ctx, workflow, workflowID); err != nil {
			return err
		}
		// A versioned read: the read cache, if any, may hold the miss.
		if raw, _, err = c.cfg.Store.Get(ctx, core.StateKey(workflowID)); err != nil {
			return fmt.Errorf("read state of %s: %w", workflowID, err)
		}
	}
	if raw == nil {
		return &core.Error{Code: core.CodeWorkflowUnknown, Workflow: workflow, WorkflowID: workflowID,
			Message: "no such workflow instance (never started, or ended and past its retention)"}
	}
	st, err := core.DecodeState(raw)
	if err != nil {
		return fmt.Errorf("read state of %s: %w", workflowID, err)
	}
	if st.WorkflowName != workflow {
		return &core.Error{Code: core.CodeWorkflowUnknown, Workflow: workflow, WorkflowID: workflowID,
			Message: fmt.Sprintf("no such instance: workflow id %s is the id of an instance of workflow %s; ids are unique across workflow types", workflowID, st.WorkflowName)}
	}
	return nil
}

// probe sends the state engine of workflow a wait for a method run that
// does not exist, which it answers at once whether the instance exists or
// not, and returns when the answer comes: by then every command sent to the
// instance before has been handled.
func (c *Client) probe(ctx context.Context, workflow, workflowID string) error {
	run := "probe-" + newID()
	ch, cancel, err := c.wait(run)
	if err != nil {
		return err
	}
	defer cancel()
	msg := &core.WaitWorkflow{WorkflowID: workflowID, Workflow: workflow, MethodRunID: run, Client: c.cfg.Name}
	if err := c.send(ctx, core.Topic(core.PrefixWorkflowCmd, workflow), workflowID, msg); err != nil {
		return err
	}
	t := time.NewTimer(probeTimeout)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("look up instance %s of %s: %w", workflowID, workflow, ctx.Err())
	case <-t.C:
		return fmt.Errorf("look up instance %s of %s: no instance is stored and the state engine of %s did not answer within %s (is one running?)",
			workflowID, workflow, workflow, probeTimeout)
	case <-c.done:
		return errors.New("client: closed while looking up an instance")
	}
}
