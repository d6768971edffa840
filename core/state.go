package core

import (
	"encoding/json"
	"fmt"
	"time"
)

// StateSchemaVersion is the version of the stored WorkflowState layout.
const StateSchemaVersion = 1

// WorkflowState is everything the state engine keeps about one workflow
// instance. Once every method run has ended it shrinks to a result record
// (Result set, the live fields cleared) kept for the retention period.
type WorkflowState struct {
	V            int               `json:"v"`
	WorkflowID   string            `json:"workflowId"`
	WorkflowName string            `json:"workflowName"`
	Version      int               `json:"version"`
	Pinned       bool              `json:"pinned,omitempty"`
	Tags         []string          `json:"tags,omitempty"`
	Meta         map[string]string `json:"meta,omitempty"`
	CreatedAt    time.Time         `json:"createdAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`

	// LastMessageID is the last message processed: its redelivery is dropped.
	LastMessageID string `json:"lastMessageId,omitempty"`
	// LastInputID, when set, is the input whose handling applied messages
	// after it (the fast path's in-process workflow task results, the
	// last of which is LastMessageID): its redelivery is dropped too.
	LastInputID string `json:"lastInputId,omitempty"`
	// TaskIndex counts dispatched workflow tasks; it is the logical clock.
	TaskIndex int64        `json:"taskIndex"`
	Running   *RunningTask `json:"running,omitempty"`
	Methods   []*MethodRun `json:"methods,omitempty"`
	Channels  []*Channel   `json:"channels,omitempty"`
	// Props is the hash of the current properties; PropValues holds every
	// properties value still referenced (by Props, a method start or a step).
	Props      string                     `json:"props,omitempty"`
	PropValues map[string]json.RawMessage `json:"propValues,omitempty"`
	// SignalIDs remembers the most recent received signal ids (bounded), so
	// a late duplicate is dropped even after its receiving method ended.
	SignalIDs []string `json:"signalIds,omitempty"`
	// Outbox holds the envelopes of the last handling that were published
	// only after this state was written; a handler that cannot tell whether
	// they went out publishes them again (their ids make that harmless).
	// The envelope of the running workflow task is kept without its data,
	// which this state holds already (see CompactOutbox).
	Outbox []Envelope `json:"outbox,omitempty"`
	// Carried are outboxes of earlier handlings that a handling of another
	// input found without knowing whether they went out (after a restart,
	// say): each is published again only if its own input comes again,
	// which it does, at least once, if it was not acknowledged, that is if
	// the outbox may not have gone out; otherwise it is forgotten after a
	// while (see the state engine).
	Carried []OutboxBatch `json:"carried,omitempty"`
	// Buffer holds messages that arrived while a workflow task ran.
	Buffer []Buffered `json:"buffer,omitempty"`
	// Ended keeps the outcome of every method run that ended, so late
	// waiters still get an answer.
	Ended []MethodResult `json:"ended,omitempty"`
	// Result is set once the whole instance has ended.
	Result *Result `json:"result,omitempty"`

	changes changeLog // the commands whose statuses changed (see touch); not stored
}

// RunningTask is the one workflow task in flight.
type RunningTask struct {
	ID          string    `json:"id"`
	MethodRunID string    `json:"methodRunId"`
	Index       int64     `json:"index"`
	Trigger     time.Time `json:"trigger"`
}

// MethodRun is one execution of a workflow method on the instance.
type MethodRun struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Input          json.RawMessage `json:"input,omitempty"`
	Requester      *Requester      `json:"requester,omitempty"`
	WaitingClients []string        `json:"waitingClients,omitempty"`
	// Attached are requesters that joined the run after it started (a
	// parent workflow or a client that dispatched the same customId), each
	// answered under the id it knows the run by.
	Attached     []Attached `json:"attached,omitempty"`
	IndexAtStart int64      `json:"indexAtStart"`
	// StartedAt is the trigger instant of the run's first workflow task:
	// what Now returns before the first step.
	StartedAt    time.Time `json:"startedAt,omitzero"`
	PropsAtStart string    `json:"propsAtStart,omitempty"`
	// Pages hold the settled history moved out of the state (see
	// ArchiveThreshold), before Commands and Steps.
	Pages    []PageRef       `json:"pages,omitempty"`
	Commands []*Command      `json:"commands,omitempty"`
	Steps    []*Step         `json:"steps,omitempty"`
	Current  *Step           `json:"current,omitempty"`
	Returned bool            `json:"returned,omitempty"`
	Value    json.RawMessage `json:"value,omitempty"`
	// Failure is set when the method's last workflow task failed; the run is
	// kept so RetryTasks or RetryWorkflowTask can resume it.
	Failure *Error `json:"failure,omitempty"`
	// LastTrigger is the trigger instant of the method's last workflow task,
	// reused by RetryWorkflowTask so command ids do not change.
	LastTrigger time.Time `json:"lastTrigger,omitzero"`
	// LastTaskID is the workflow task whose result was recorded last: the
	// history goes on from what that task saw (see Replay.Resume).
	LastTaskID string `json:"lastTaskId,omitempty"`
	// ArchivedThrough bounds the positions that may be in history pages:
	// all of them are below it (0: none is).
	ArchivedThrough int `json:"archivedThrough,omitempty"`
	// ArchivedSignals are the ids of the signals received by receptions
	// moved to history pages: a late duplicate is still recognised.
	ArchivedSignals []string `json:"archivedSignals,omitempty"`

	index commandIndex // Commands by id (see Command); not stored
}

// Attached is a requester waiting for a method run it did not start.
type Attached struct {
	Requester *Requester `json:"requester,omitempty"`
	Client    string     `json:"client,omitempty"`
	// As is the method run id the requester knows the run by (its own
	// dispatch id), used in the answer.
	As string `json:"as"`
}

// Channel is an open signal reception.
type Channel struct {
	Name        string        `json:"name"`
	Type        string        `json:"type,omitempty"`
	Filter      *SignalFilter `json:"filter,omitempty"`
	MethodRunID string        `json:"methodRunId"`
	CommandID   string        `json:"commandId"`
	Limit       int           `json:"limit"`
	Count       int           `json:"count"`
}

// Buffered is a message waiting for the running workflow task to end.
type Buffered struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Instant time.Time       `json:"instant"`
	Data    json.RawMessage `json:"data"`
}

// MethodResult is the outcome of an ended method run.
type MethodResult struct {
	MethodRunID string          `json:"methodRunId"`
	Name        string          `json:"name"`
	State       State           `json:"state"`
	Value       json.RawMessage `json:"value,omitempty"`
	Error       *Error          `json:"error,omitempty"`
}

// Result marks an ended instance.
type Result struct {
	State   State     `json:"state"`
	EndedAt time.Time `json:"endedAt"`
}

// Requester is who asked for a method run and gets its outcome: a client
// (by name) or a method run of another workflow.
type Requester struct {
	Client      string `json:"client,omitempty"`
	Workflow    string `json:"workflow,omitempty"`
	WorkflowID  string `json:"workflowId,omitempty"`
	MethodRunID string `json:"methodRunId,omitempty"`
}

// IsWorkflow reports whether the requester is a workflow method run.
func (r *Requester) IsWorkflow() bool { return r != nil && r.WorkflowID != "" }

// Method returns the live method run with id, or nil.
func (s *WorkflowState) Method(id string) *MethodRun {
	for _, m := range s.Methods {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// EndedMethod returns the outcome of an ended method run, or nil.
func (s *WorkflowState) EndedMethod(id string) *MethodResult {
	for i := range s.Ended {
		if s.Ended[i].MethodRunID == id {
			return &s.Ended[i]
		}
	}
	return nil
}

// FindCommand returns the command with id in any live method run.
func (s *WorkflowState) FindCommand(id string) (*MethodRun, *Command) {
	for _, m := range s.Methods {
		if c := m.Command(id); c != nil {
			return m, c
		}
	}
	return nil, nil
}

// Command returns the method run's command with id (the first, should
// two share it), or nil. It looks the id up in an index of Commands kept
// beside them: a fan-out's every completion looks up each command its step
// waits for.
func (m *MethodRun) Command(id string) *Command {
	if len(m.Commands) <= linearLookup {
		for _, c := range m.Commands {
			if c.ID == id {
				return c
			}
		}
		return nil
	}
	m.index.update(m)
	var found *Command
	if i, ok := m.index.pos[id]; ok && i < len(m.Commands) && m.Commands[i].ID == id {
		found = m.Commands[i]
	}
	if verifyKept {
		for _, c := range m.Commands {
			if c.ID == id {
				if c != found {
					panic(fmt.Sprintf("core: the command index of method run %s finds %p for %s, not %p", m.ID, found, id, c))
				}
				break
			}
		}
	}
	return found
}

// linearLookup is the length up to which Command scans rather than index.
const linearLookup = 16

// commandIndex maps the ids of a method run's commands to their positions.
// It covers Commands as they were when it was last brought up to date and
// follows appends; any other change of the slice (commands archived to a
// page or brought back from one) gives it another backing array or another
// entry at its last indexed position, and a copy of the run has another
// address: the index is then rebuilt.
type commandIndex struct {
	owner *MethodRun
	pos   map[string]int
	n     int       // Commands[:n] are indexed
	head  **Command // &Commands[0] when indexed
	last  *Command  // Commands[n-1] when indexed
}

func (x *commandIndex) update(m *MethodRun) {
	cmds := m.Commands
	fresh := x.owner == m && x.n > 0 && x.n <= len(cmds) && x.head == &cmds[0] && cmds[x.n-1] == x.last
	if !fresh {
		*x = commandIndex{owner: m, pos: make(map[string]int, len(cmds)), head: &cmds[0]}
	}
	for i := x.n; i < len(cmds); i++ {
		if _, dup := x.pos[cmds[i].ID]; !dup {
			x.pos[cmds[i].ID] = i
		}
	}
	x.n, x.last = len(cmds), cmds[len(cmds)-1]
}

// DecodeState parses a stored state, rejecting unknown schema versions.
func DecodeState(b []byte) (*WorkflowState, error) {
	var s WorkflowState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode workflow state: %w", err)
	}
	if s.V != StateSchemaVersion {
		return nil, fmt.Errorf("decode workflow state %s: unsupported schema version %d (this build reads %d)", s.WorkflowID, s.V, StateSchemaVersion)
	}
	if err := s.checkEntries(); err != nil {
		return nil, fmt.Errorf("decode workflow state %s: %w", s.WorkflowID, err)
	}
	return &s, nil
}

// checkEntries rejects the null entries no engine writes but a damaged or
// edited state may hold, which every reader of a state would dereference.
func (s *WorkflowState) checkEntries() error {
	for i, m := range s.Methods {
		if m == nil {
			return fmt.Errorf("method run %d is null", i)
		}
		for j, c := range m.Commands {
			if c == nil {
				return fmt.Errorf("method run %s: command %d is null", m.ID, j)
			}
		}
		for j, st := range m.Steps {
			if st == nil {
				return fmt.Errorf("method run %s: step %d is null", m.ID, j)
			}
		}
	}
	for i, c := range s.Channels {
		if c == nil {
			return fmt.Errorf("channel %d is null", i)
		}
	}
	return nil
}

// StateKey is the storage key of a workflow's state.
func StateKey(workflowID string) string { return "workflow.state." + workflowID }

// CompactOutbox returns envs for the state's outbox: the envelope of the
// workflow task in flight loses its data (the task's history, as long as
// the state itself), which OutboxEnvelopes rebuilds from the state.
func (s *WorkflowState) CompactOutbox(envs []Envelope) []Envelope {
	if s.Running == nil {
		return envs
	}
	typ := (&ExecuteWorkflowTask{}).MessageType()
	out := make([]Envelope, len(envs))
	for i, env := range envs {
		out[i] = env
		if env.Type == typ && env.Subject == s.WorkflowID && env.Topic == Topic(PrefixWorkflowTaskExecutor, s.WorkflowName) {
			out[i].Data = nil
		}
	}
	return out
}

// OutboxEnvelopes returns the outbox as it was published: the workflow
// task's data is rebuilt from the state, byte for byte as first encoded
// (expand, when set, puts back the history pages the state only names, as
// when the task was published).
func (s *WorkflowState) OutboxEnvelopes(expand func(*ExecuteWorkflowTask) (*ExecuteWorkflowTask, error)) ([]Envelope, error) {
	out := make([]Envelope, len(s.Outbox))
	for i, env := range s.Outbox {
		out[i] = env
		if len(env.Data) > 0 && string(env.Data) != "null" { // a stripped envelope is stored with null data
			continue
		}
		if s.Running == nil {
			return nil, fmt.Errorf("outbox of %s: envelope %s has no data and no workflow task is running", s.WorkflowID, env.ID)
		}
		m := s.Method(s.Running.MethodRunID)
		if m == nil {
			return nil, fmt.Errorf("outbox of %s: the running workflow task's method run %s is gone", s.WorkflowID, s.Running.MethodRunID)
		}
		t := s.runningTask(m)
		if expand != nil {
			var err error
			if t, err = expand(t); err != nil {
				return nil, err
			}
		}
		data, err := EncodeMessage(t)
		if err != nil {
			return nil, err
		}
		out[i].Data = data
	}
	return out, nil
}

// ReplayCopy returns a copy of the method run holding what a replay reads
// (its commands with their statuses, its steps and current step) that
// shares no changeable memory with m: a workflow task run in the state
// engine's process replays the copy, so its goroutine, even abandoned after
// a timeout and still running user code, never reads what the engine goes
// on changing. Immutable parts (inputs, values, step trees, errors) are
// shared.
func (m *MethodRun) ReplayCopy() *MethodRun {
	c := &MethodRun{ID: m.ID, Name: m.Name, Input: m.Input, IndexAtStart: m.IndexAtStart, StartedAt: m.StartedAt,
		PropsAtStart: m.PropsAtStart, Returned: m.Returned, Value: m.Value, LastTrigger: m.LastTrigger, LastTaskID: m.LastTaskID,
		ArchivedThrough: m.ArchivedThrough,
		Pages:           append([]PageRef(nil), m.Pages...)}
	c.Commands = make([]*Command, len(m.Commands))
	for i, cmd := range m.Commands {
		cc := *cmd
		cc.Statuses = append([]Status(nil), cmd.Statuses...)
		c.Commands[i] = &cc
	}
	c.Steps = make([]*Step, len(m.Steps))
	for i, st := range m.Steps {
		c.Steps[i] = st.copy()
	}
	if m.Current != nil {
		c.Current = m.Current.copy()
	}
	return c
}

func (s *Step) copy() *Step {
	c := *s
	if s.Outcome != nil {
		o := *s.Outcome
		c.Outcome = &o
	}
	return &c
}

// OutboxBatch is the outbox a handling of input InputID wrote at Written.
type OutboxBatch struct {
	InputID   string     `json:"inputId"`
	Written   time.Time  `json:"written"`
	Envelopes []Envelope `json:"envelopes"`
}

// OutboxWriter is the input whose handling wrote the state's Outbox.
func (s *WorkflowState) OutboxWriter() string {
	if s.LastInputID != "" {
		return s.LastInputID
	}
	return s.LastMessageID
}
