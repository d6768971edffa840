package core

import (
	"fmt"
	"unicode/utf8"
)

// EnvelopeHeadroom is what a size limit keeps for the envelope around a
// message's data (its id, type, topic, key, times): data of at most limit
// minus EnvelopeHeadroom bytes always fits in an envelope of limit bytes.
const EnvelopeHeadroom = 4096

// MessageFits encodes m and reports its size and whether it leaves room for
// its envelope under limit (limit <= 0: no limit). Both paths of a workflow
// task decide with it, so they agree on what is too large.
func MessageFits(m Message, limit int) (int, bool) {
	data, err := EncodeMessage(m)
	if err != nil {
		return 0, false
	}
	return len(data), limit <= 0 || len(data) <= limit-EnvelopeHeadroom
}

// EnvelopeFits reports the size of env encoded (or a bound of it) and
// whether it is at most limit (limit <= 0: no limit). It encodes env only
// when a cheap bound does not already tell.
func EnvelopeFits(env Envelope, limit int) (int, bool) {
	if limit <= 0 {
		return 0, true
	}
	bound := 512 + len(env.Data) // attribute names and punctuation, then the data
	for _, s := range [...]string{env.ID, env.Source, env.SpecVersion, env.Type, env.Subject, env.DataContentType,
		env.PartitionKey, env.Topic, env.DeliverAt, env.TraceParent, env.DeadLetterReason} {
		if !utf8.ValidString(s) {
			bound = limit + 1 // unknown: encode
			break
		}
		bound += 6 * len(s) // the worst case: every byte escaped as \u00XX
	}
	if bound <= limit {
		return bound, true
	}
	b, err := EncodeEnvelope(env)
	if err != nil {
		return len(env.Data), false
	}
	return len(b), len(b) <= limit
}

// TooLarge is the error of a payload (named by what) of size bytes over a
// limit of limit bytes.
func TooLarge(what string, size, limit int) *Error {
	return &Error{Code: CodePayloadTooLarge, Message: fmt.Sprintf("%s is %d bytes, over the %d-byte limit", what, size, limit)}
}

// FailedTask is the result of workflow task t whose own result cannot be
// sent or recorded: it fails the method with cause and keeps the state
// (RetryWorkflowTask runs it again, e.g. after a fix).
func FailedTask(t *ExecuteWorkflowTask, codeVersion int, cause *Error) *WorkflowTaskFailed {
	return &WorkflowTaskFailed{WorkflowID: t.WorkflowID, Workflow: t.Workflow, TaskID: t.TaskID, MethodRunID: t.Method.ID, CodeVersion: codeVersion,
		Error: &Error{Code: CodeWorkflowFailed, Workflow: t.Workflow, WorkflowID: t.WorkflowID, Method: t.Method.Name, MethodRunID: t.Method.ID,
			Message: cause.Message, Cause: cause}}
}

// FitResult returns res, the result of workflow task t, or, when res does
// not fit in a message of limit bytes (see MessageFits), the failure of
// the method saying so. Both paths check with it, so the fast path, which
// sends no message, fails the same workflow tasks as the broker path.
func FitResult(t *ExecuteWorkflowTask, res Message, limit int) Message {
	c, ok := res.(*WorkflowTaskCompleted)
	if !ok {
		return res
	}
	if size, fits := MessageFits(c, limit); !fits {
		return FailedTask(t, c.CodeVersion, TooLarge("the workflow task's result", size, limit-EnvelopeHeadroom))
	}
	return res
}

// Oversized returns what the state engine applies instead of msg when
// applying msg makes the state too large to store (cause says by how
// much): a workflow task's result fails its method, a task's or child's
// result fails the command, so the workflow sees why. ok is false for a
// message nothing can stand in for.
func Oversized(msg Message, cause *Error) (Message, bool) {
	switch m := msg.(type) {
	case *WorkflowTaskCompleted:
		// The engine names the method on the error (its Workflow is empty).
		return &WorkflowTaskFailed{WorkflowID: m.WorkflowID, Workflow: m.Workflow, TaskID: m.TaskID, MethodRunID: m.MethodRunID,
			CodeVersion: m.CodeVersion, Error: &Error{Code: CodeWorkflowFailed, Message: cause.Message, Cause: cause}}, true
	case *CommandResult:
		r := *m
		r.Value = nil
		switch m.Kind {
		case TaskCompleted:
			r.Kind, r.Error = TaskFailed, &Error{Code: CodeTaskFailed, TaskID: m.CommandID, Message: "result not recorded: " + cause.Message, Cause: cause}
		case ChildCompleted:
			r.Kind, r.Error = ChildFailed, &Error{Code: CodeWorkflowFailed, WorkflowID: m.CommandID, Message: "result not recorded: " + cause.Message, Cause: cause}
		default:
			return nil, false
		}
		return &r, true
	}
	return nil, false
}

// Refuse returns the answers to a message the state engine cannot apply
// at all (cause says why): a dispatch's or method's requester is told it
// failed, and the tags recorded for a dispatch are released. Other
// messages have nobody waiting for them.
func Refuse(msg Message, cause *Error) []Out {
	e := &engine{}
	e.refuse(msg, MethodFailed, cause)
	return e.out
}
