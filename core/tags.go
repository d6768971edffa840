package core

import (
	"encoding/json"
	"fmt"
	"strings"
)

// CustomIDPrefix starts the tag that makes a workflow a singleton: at most
// one running instance per "customId:<value>".
const CustomIDPrefix = "customId:"

// CustomIDTag returns the customId tag among tags ("" if none); more than
// one is an error.
func CustomIDTag(tags []string) (string, error) {
	var found string
	for _, t := range tags {
		if strings.HasPrefix(t, CustomIDPrefix) {
			if found != "" {
				return "", fmt.Errorf("tags %q hold more than one %s tag", tags, CustomIDPrefix)
			}
			found = t
		}
	}
	return found, nil
}

// TagKey is the key-set key holding the ids of the workflow instances of
// workflow tagged tag.
func TagKey(workflow, tag string) string { return "workflow-tag|" + workflow + "|" + tag }

// AddTagToWorkflow records that instance WorkflowID carries Tag.
type AddTagToWorkflow struct {
	Version
	Workflow   string `json:"workflow"`
	Tag        string `json:"tag"`
	WorkflowID string `json:"workflowId"`
}

// RemoveTagFromWorkflow forgets that instance WorkflowID carries Tag.
type RemoveTagFromWorkflow struct {
	Version
	Workflow   string `json:"workflow"`
	Tag        string `json:"tag"`
	WorkflowID string `json:"workflowId"`
}

// DispatchWorkflowByCustomID starts Dispatch unless an instance tagged Tag
// (a customId tag) is running; then the requester waits for that one.
type DispatchWorkflowByCustomID struct {
	Version
	Tag      string           `json:"tag"`
	Dispatch DispatchWorkflow `json:"dispatch"`
	// WaitOnly starts nothing: the requester waits for the instance
	// running under Tag, or for Dispatch.WorkflowID when none is.
	WaitOnly bool `json:"waitOnly,omitempty"`
}

// WorkflowByTag carries one per-instance command (Type and Data, a
// workflow-cmd message whose workflow id is filled in for each instance) to
// every instance of Workflow tagged Tag. The tag engine sends it a page at
// a time and continues from Cursor; Skip is an instance left out (the
// sender, for a workflow cancelling or signalling its own tag).
type WorkflowByTag struct {
	Version
	Workflow string          `json:"workflow"`
	Tag      string          `json:"tag"`
	Type     string          `json:"type"`
	Data     json.RawMessage `json:"data"`
	Skip     string          `json:"skip,omitempty"`
	Cursor   string          `json:"cursor,omitempty"`
}

const typeTag = "weft.tag."

func (*AddTagToWorkflow) MessageType() string      { return typeTag + "AddTagToWorkflow" }
func (*RemoveTagFromWorkflow) MessageType() string { return typeTag + "RemoveTagFromWorkflow" }
func (*DispatchWorkflowByCustomID) MessageType() string {
	return typeTag + "DispatchWorkflowByCustomId"
}
func (*WorkflowByTag) MessageType() string { return typeTag + "WorkflowByTag" }

// TagTarget returns the workflow and tag a tag-engine message is for; ok is
// false for messages the tag engine does not take.
func TagTarget(m Message) (workflow, tag string, ok bool) {
	switch m := m.(type) {
	case *AddTagToWorkflow:
		return m.Workflow, m.Tag, true
	case *RemoveTagFromWorkflow:
		return m.Workflow, m.Tag, true
	case *DispatchWorkflowByCustomID:
		return m.Dispatch.Workflow, m.Tag, true
	case *WorkflowByTag:
		return m.Workflow, m.Tag, true
	}
	return "", "", false
}

// TagOut is a tag-engine message to send to workflow-tag:<workflow>, keyed
// by its tag.
func TagOut(m Message) Out {
	w, tag, _ := TagTarget(m)
	return Out{Topic: Topic(PrefixWorkflowTag, w), Key: tag, Subject: tag, Msg: m}
}

// NewWorkflowByTag wraps cmd (a workflow-cmd message; its workflow id is
// ignored) for every instance of workflow tagged tag.
func NewWorkflowByTag(workflow, tag string, cmd Message, skip string) (*WorkflowByTag, error) {
	if _, ok := perInstance(cmd); !ok {
		return nil, fmt.Errorf("%s cannot be sent by tag", cmd.MessageType())
	}
	data, err := EncodeMessage(cmd)
	if err != nil {
		return nil, err
	}
	return &WorkflowByTag{Workflow: workflow, Tag: tag, Type: cmd.MessageType(), Data: data, Skip: skip}, nil
}

// perInstance returns a setter of the instance a by-tag command is for.
func perInstance(m Message) (func(id string), bool) {
	switch m := m.(type) {
	case *CancelWorkflow:
		return func(id string) { m.WorkflowID = id }, true
	case *SendSignal:
		return func(id string) { m.WorkflowID = id }, true
	case *RetryWorkflowTask:
		return func(id string) { m.WorkflowID = id }, true
	case *RetryTasks:
		return func(id string) { m.WorkflowID = id }, true
	case *CompleteTimers:
		return func(id string) { m.WorkflowID = id }, true
	case *DispatchMethod:
		base := m.MethodRunID
		return func(id string) { m.WorkflowID, m.MethodRunID = id, base+"@"+id }, true
	}
	return nil, false
}

// FanOut turns one page of a by-tag command into per-instance commands for
// ids, plus the continuation from next ("" when this was the last page).
func FanOut(m *WorkflowByTag, ids []string, next string) ([]Out, error) {
	var outs []Out
	for _, id := range ids {
		if id == m.Skip {
			continue
		}
		cmd, err := decodePayload(m.Type, "by-tag", m.Data)
		if err != nil {
			return nil, err
		}
		set, ok := perInstance(cmd)
		if !ok {
			return nil, &DecodeError{Reason: fmt.Sprintf("%s cannot be sent by tag", m.Type)}
		}
		set(id)
		outs = append(outs, Out{Topic: Topic(PrefixWorkflowCmd, m.Workflow), Key: id, Subject: id, Msg: cmd})
	}
	if next != "" {
		cont := *m
		cont.Cursor = next
		outs = append(outs, TagOut(&cont))
	}
	return outs, nil
}

// CustomIDDispatch decides a customId dispatch given the ids already tagged
// (at most one is expected). With none, start is true: the caller records
// the new id under the tag, then sends outs (the other tags, then the
// dispatch). Otherwise outs make the requester wait for the running
// instance.
func CustomIDDispatch(m *DispatchWorkflowByCustomID, existing []string) (outs []Out, start bool) {
	d := m.Dispatch
	if m.WaitOnly {
		target := d.WorkflowID
		if len(existing) > 0 {
			target = existing[0]
		}
		return waitFor(target, &d), false
	}
	if len(existing) == 0 {
		for _, t := range d.Tags {
			if t != m.Tag {
				outs = append(outs, TagOut(&AddTagToWorkflow{Workflow: d.Workflow, Tag: t, WorkflowID: d.WorkflowID}))
			}
		}
		outs = append(outs, Out{Topic: Topic(PrefixWorkflowCmd, d.Workflow), Key: d.WorkflowID, Subject: d.WorkflowID, Msg: &d})
		return outs, true
	}
	running := existing[0]
	if running == d.WorkflowID {
		// A duplicate of the dispatch that started it: send it again.
		return CustomIDDispatchStart(m), false
	}
	return waitFor(running, &d), false
}

// waitFor makes d's requester wait for the main method of instance target,
// answered under d's workflow id.
func waitFor(target string, d *DispatchWorkflow) []Out {
	w := &WaitWorkflow{WorkflowID: target, Workflow: d.Workflow, MethodRunID: target, As: d.WorkflowID}
	if d.ClientWaiting && d.Requester != nil {
		w.Client = d.Requester.Client
	}
	if d.Requester.IsWorkflow() {
		w.Requester = d.Requester
	}
	if w.Client == "" && w.Requester == nil {
		return nil // nobody waits
	}
	return []Out{{Topic: Topic(PrefixWorkflowCmd, d.Workflow), Key: target, Subject: target, Msg: w}}
}

// CustomIDDispatchStart is the output of a customId dispatch that starts
// its instance.
func CustomIDDispatchStart(m *DispatchWorkflowByCustomID) []Out {
	outs, _ := CustomIDDispatch(m, nil)
	return outs
}

// DispatchOuts are the messages that start d: its tags first (so by-tag
// commands reach it), then the dispatch; with a customId tag, one message
// to the tag engine, which starts the instance or attaches the requester
// to the running one.
func DispatchOuts(d *DispatchWorkflow) ([]Out, error) {
	custom, err := CustomIDTag(d.Tags)
	if err != nil {
		return nil, err
	}
	if custom != "" {
		return []Out{TagOut(&DispatchWorkflowByCustomID{Tag: custom, Dispatch: *d})}, nil
	}
	var outs []Out
	for _, t := range d.Tags {
		outs = append(outs, TagOut(&AddTagToWorkflow{Workflow: d.Workflow, Tag: t, WorkflowID: d.WorkflowID}))
	}
	return append(outs, Out{Topic: Topic(PrefixWorkflowCmd, d.Workflow), Key: d.WorkflowID, Subject: d.WorkflowID, Msg: d}), nil
}
