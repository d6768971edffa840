package core

import "encoding/json"

// SetDelegatedTask records that a delegated task's attempt handed the work
// to an outside system: the task completes when CompleteDelegatedTask with
// its id arrives. Both go to task-tag:<Service> keyed by the task id.
type SetDelegatedTask struct {
	Version
	TaskID    string     `json:"taskId"`
	Service   string     `json:"service"`
	Method    string     `json:"method"`
	RetrySeq  int        `json:"retrySeq,omitempty"`
	Requester *Requester `json:"requester"`
	Tags      []string   `json:"tags,omitempty"`
}

// CompleteDelegatedTask carries the outcome of a delegated task from an
// outside system: Value, or Error when it failed.
type CompleteDelegatedTask struct {
	Version
	TaskID  string          `json:"taskId"`
	Service string          `json:"service"`
	Value   json.RawMessage `json:"value,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// AddTaskTag records that task TaskID of Service carries Tag; sent when the
// task is dispatched.
type AddTaskTag struct {
	Version
	Service string `json:"service"`
	Tag     string `json:"tag"`
	TaskID  string `json:"taskId"`
}

// RemoveTaskTag forgets it; sent when the task completes (a failed task
// keeps its tags, so it can be found and retried).
type RemoveTaskTag struct {
	Version
	Service string `json:"service"`
	Tag     string `json:"tag"`
	TaskID  string `json:"taskId"`
}

// TaskTagKey is the key-set key of the ids of Service's tasks tagged tag.
func TaskTagKey(service, tag string) string { return "task-tag|" + service + "|" + tag }

// TaskTagOuts are the messages setting (add) or clearing the tags of a
// task, each to task-tag:<service> keyed by its tag.
func TaskTagOuts(service, taskID string, tags []string, add bool) []Out {
	outs := make([]Out, 0, len(tags))
	for _, t := range tags {
		var m Message = &RemoveTaskTag{Service: service, Tag: t, TaskID: taskID}
		if add {
			m = &AddTaskTag{Service: service, Tag: t, TaskID: taskID}
		}
		outs = append(outs, Out{Topic: Topic(PrefixTaskTag, service), Key: t, Subject: t, Msg: m})
	}
	return outs
}

func (*AddTaskTag) MessageType() string            { return typeTag + "AddTaskTag" }
func (*RemoveTaskTag) MessageType() string         { return typeTag + "RemoveTaskTag" }
func (*SetDelegatedTask) MessageType() string      { return typeTag + "SetDelegatedTask" }
func (*CompleteDelegatedTask) MessageType() string { return typeTag + "CompleteDelegatedTask" }

// TaskTagTarget returns the service and task id of a task-tag message; ok
// is false for other messages.
func TaskTagTarget(m Message) (service, taskID string, ok bool) {
	switch m := m.(type) {
	case *SetDelegatedTask:
		return m.Service, m.TaskID, true
	case *CompleteDelegatedTask:
		return m.Service, m.TaskID, true
	}
	return "", "", false
}

// TaskTagOut is a task-tag message to send to task-tag:<service>, keyed by
// the task id.
func TaskTagOut(m Message) Out {
	s, id, _ := TaskTagTarget(m)
	return Out{Topic: Topic(PrefixTaskTag, s), Key: id, Subject: id, Msg: m}
}

// DelegatedResult is the result a delegated task's caller gets once both
// the delegation and its completion are known.
func DelegatedResult(set *SetDelegatedTask, done *CompleteDelegatedTask) []Out {
	req := set.Requester
	if !req.IsWorkflow() {
		return TaskTagOuts(set.Service, set.TaskID, set.Tags, false)
	}
	res := &CommandResult{Kind: TaskCompleted, Workflow: req.Workflow, WorkflowID: req.WorkflowID, MethodRunID: req.MethodRunID,
		CommandID: set.TaskID, RetrySeq: set.RetrySeq, Value: done.Value}
	if done.Error != nil {
		e := *done.Error
		e.Code, e.Service, e.Method, e.TaskID = CodeTaskFailed, set.Service, set.Method, set.TaskID
		res.Kind, res.Value, res.Error = TaskFailed, nil, &e
	}
	outs := []Out{{Topic: Topic(PrefixWorkflowEngine, req.Workflow), Key: req.WorkflowID, Subject: req.WorkflowID, Msg: res}}
	if done.Error == nil {
		outs = append(outs, TaskTagOuts(set.Service, set.TaskID, set.Tags, false)...)
	}
	return outs
}
