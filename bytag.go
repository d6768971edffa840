package weft

import (
	"encoding/json"

	"github.com/weftio/weft/core"
)

// byTag records a command for every running instance of workflow tagged
// tag. It completes at once: nobody waits for the instances.
func byTag(ctx Context, workflow, tag string, cmd core.Message) error {
	if workflow == "" || tag == "" {
		return &core.Error{Code: core.CodeBadInput, Workflow: workflow, Message: "workflow and tag are required"}
	}
	data, err := core.EncodeMessage(cmd)
	if err != nil {
		return &core.Error{Code: core.CodeBadInput, Workflow: workflow, Message: "command does not encode: " + err.Error()}
	}
	c := ctx.replay()
	c.command(&core.Command{Kind: core.KindByTag, Name: cmd.MessageType() + "@" + tag, Workflow: workflow, Tag: tag,
		Method: cmd.MessageType(), Input: data})
	return nil
}

// SendByTag sends v on channel ch to every running instance of the
// channel's workflow tagged tag (this instance excepted).
func SendByTag[T any](ctx Context, ch ChannelRef[T], tag string, v T) error {
	data, err := json.Marshal(v)
	if err != nil {
		return &core.Error{Code: core.CodeBadInput, Workflow: ch.workflow, Message: "signal does not encode: " + err.Error()}
	}
	return byTag(ctx, ch.workflow, tag, &core.SendSignal{Workflow: ch.workflow, Channel: ch.name, SignalType: SignalType(v), Data: data})
}

// CancelByTag cancels every running instance of workflow tagged tag (this
// instance excepted), with their child workflows.
func CancelByTag(ctx Context, workflow, tag string) error {
	return byTag(ctx, workflow, tag, &core.CancelWorkflow{Workflow: workflow, Reason: "canceled by a workflow"})
}

// DispatchMethodByTag runs a method on every running instance of the
// reference's workflow tagged tag. Nothing waits for those runs.
func DispatchMethodByTag[I, O any](ctx Context, ref WorkflowRef[I, O], tag string, in I) error {
	input, err := json.Marshal(in)
	if err != nil {
		return &core.Error{Code: core.CodeBadInput, Workflow: ref.workflow, Method: ref.method, Message: "input does not encode: " + err.Error()}
	}
	return byTag(ctx, ref.workflow, tag, &core.DispatchMethod{Workflow: ref.workflow, Method: ref.method, Input: input})
}
