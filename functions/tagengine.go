package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/storage"
)

// DefaultTagPageSize is how many instance ids one by-tag step fans out to.
const DefaultTagPageSize = 1000

// TagEngineConfig configures the tag-engine role.
type TagEngineConfig struct {
	// Workflows whose workflow-tag topics are consumed, and Services whose
	// task-tag topics are (delegated tasks); at least one of them.
	Workflows []string
	Services  []string
	// Tags stores the instance ids of each (workflow, tag) (required).
	Tags storage.KeySet
	// PageSize bounds the ids a by-tag command reaches per step (default
	// DefaultTagPageSize); the rest follow in continuation messages.
	PageSize int
	// Store, when set, remembers for Retention which running instance a
	// customId dispatch was attached to, so a client awaiting it later
	// finds that instance even after it ended and released its customId.
	Store     storage.KeyValue
	Retention time.Duration
	// Events emits task.delegationCompleted when a delegated task is done.
	Events bool
	Source string
	Clock  func() time.Time
	Logger *slog.Logger
}

// TagEngine is the tag-engine role: it keeps the ids of the instances
// carrying each tag, starts customId workflows at most once per value, and
// fans by-tag commands out to the instances, a page at a time.
type TagEngine struct {
	cfg TagEngineConfig
}

// NewTagEngine validates cfg and returns the role.
func NewTagEngine(cfg TagEngineConfig) (*TagEngine, error) {
	if len(cfg.Workflows) == 0 && len(cfg.Services) == 0 {
		return nil, errors.New("tag engine: no workflow or service")
	}
	if len(cfg.Services) > 0 && cfg.Store == nil {
		return nil, errors.New("tag engine: Store (key-value) is required for the delegated tasks of services")
	}
	if cfg.Tags == nil {
		return nil, errors.New("tag engine: Tags (a key-set store) is required")
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultTagPageSize
	}
	if cfg.Source == "" {
		cfg.Source = "weft/tag-engine"
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 7 * 24 * time.Hour
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &TagEngine{cfg: cfg}, nil
}

// Name implements Function.
func (t *TagEngine) Name() string { return "tag-engine" }

// Subscriptions implements Function: workflow-tag:<W>, keyed by tag, so the
// messages of one tag are handled one at a time, in order.
func (t *TagEngine) Subscriptions() []Subscription {
	subs := make([]Subscription, 0, len(t.cfg.Workflows)+len(t.cfg.Services))
	for _, w := range t.cfg.Workflows {
		subs = append(subs, Subscription{Topic: core.Topic(core.PrefixWorkflowTag, w), Keyed: true})
	}
	for _, s := range t.cfg.Services {
		subs = append(subs, Subscription{Topic: core.Topic(core.PrefixTaskTag, s), Keyed: true})
	}
	return subs
}

// Handle implements Function.
func (t *TagEngine) Handle(ctx context.Context, in core.Envelope) (Result, error) {
	msg, err := core.DecodeMessage(in)
	if err != nil {
		return Result{}, err
	}
	switch m := msg.(type) {
	case *core.AddTaskTag:
		if m.Service == "" || m.Tag == "" || m.TaskID == "" {
			return Result{}, Permanent(fmt.Sprintf("AddTaskTag %s names no service, tag or task id", in.ID), nil)
		}
		if err := t.cfg.Tags.Add(ctx, core.TaskTagKey(m.Service, m.Tag), []byte(m.TaskID)); err != nil {
			return Result{}, Unavailable(fmt.Errorf("task tag %s of %s: add %s: %w", m.Tag, m.Service, m.TaskID, err))
		}
		return Result{}, nil
	case *core.RemoveTaskTag:
		if err := t.cfg.Tags.Remove(ctx, core.TaskTagKey(m.Service, m.Tag), []byte(m.TaskID)); err != nil {
			return Result{}, Unavailable(fmt.Errorf("task tag %s of %s: remove %s: %w", m.Tag, m.Service, m.TaskID, err))
		}
		return Result{}, nil
	}
	if service, taskID, ok := core.TaskTagTarget(msg); ok {
		return t.delegated(ctx, in, msg, service, taskID)
	}
	workflow, tag, ok := core.TagTarget(msg)
	if !ok {
		return Result{}, Permanent(fmt.Sprintf("message type %s is not handled by the tag engine", in.Type), nil)
	}
	if workflow == "" || tag == "" {
		return Result{}, Permanent(fmt.Sprintf("%s %s names no workflow or tag", in.Type, in.ID), nil)
	}
	key := core.TagKey(workflow, tag)
	var outs []core.Out
	switch m := msg.(type) {
	case *core.AddTagToWorkflow:
		if m.WorkflowID == "" {
			return Result{}, Permanent(fmt.Sprintf("AddTagToWorkflow %s names no workflow id", in.ID), nil)
		}
		if err := t.cfg.Tags.Add(ctx, key, []byte(m.WorkflowID)); err != nil {
			return Result{}, Unavailable(fmt.Errorf("tag %s of %s: add %s: %w", tag, workflow, m.WorkflowID, err))
		}
	case *core.RemoveTagFromWorkflow:
		if err := t.cfg.Tags.Remove(ctx, key, []byte(m.WorkflowID)); err != nil {
			return Result{}, Unavailable(fmt.Errorf("tag %s of %s: remove %s: %w", tag, workflow, m.WorkflowID, err))
		}
		if custom, _ := core.CustomIDTag([]string{tag}); custom != "" && t.cfg.Store != nil {
			if err := t.releaseCustomID(ctx, workflow, tag, m.WorkflowID); err != nil {
				return Result{}, err
			}
		}
	case *core.DispatchWorkflowByCustomID:
		if custom, err := core.CustomIDTag([]string{tag}); err != nil || custom == "" || m.Dispatch.WorkflowID == "" ||
			(!m.WaitOnly && m.Dispatch.Method == "") {
			return Result{}, Permanent(fmt.Sprintf("DispatchWorkflowByCustomId %s: tag %q is not a customId tag, or no workflow id", in.ID, tag), nil)
		}
		page, _, err := t.cfg.Tags.Page(ctx, key, "", 2)
		if err != nil {
			return Result{}, Unavailable(fmt.Errorf("tag %s of %s: read: %w", tag, workflow, err))
		}
		ids := strs(page)
		if len(ids) == 0 && !m.WaitOnly && t.cfg.Store != nil {
			// Claimed with a versioned write: of two dispatches handled at
			// once (two replicas, no per-key order), one starts the
			// instance; the other finds the claim and attaches to it.
			owner, err := t.claimCustomID(ctx, workflow, tag, m.Dispatch.WorkflowID)
			if err != nil {
				return Result{}, err
			}
			if owner != m.Dispatch.WorkflowID {
				ids = []string{owner}
			}
		}
		aliasKey := "customId-alias|" + workflow + "|" + m.Dispatch.WorkflowID
		switch {
		case t.cfg.Store == nil:
		case m.WaitOnly:
			// Wait for the instance this dispatch started or was attached
			// to, never for whichever runs under the tag now.
			v, err := storage.ReadValue(ctx, t.cfg.Store, aliasKey)
			if err != nil {
				return Result{}, Unavailable(fmt.Errorf("customId alias of %s: %w", m.Dispatch.WorkflowID, err))
			}
			ids = nil
			if v != nil {
				ids = []string{string(v)}
			}
		case !m.WaitOnly && len(ids) > 0 && ids[0] != m.Dispatch.WorkflowID:
			if err := putAlias(ctx, t.cfg.Store, aliasKey, ids[0], t.cfg.Retention); err != nil {
				return Result{}, Unavailable(fmt.Errorf("customId alias of %s: %w", m.Dispatch.WorkflowID, err))
			}
		}
		var start bool
		outs, start = core.CustomIDDispatch(m, ids)
		if start {
			// Recorded before the dispatch goes out: a crash in between
			// finds the id and sends the same dispatch again.
			if err := t.cfg.Tags.Add(ctx, key, []byte(m.Dispatch.WorkflowID)); err != nil {
				return Result{}, Unavailable(fmt.Errorf("tag %s of %s: add %s: %w", tag, workflow, m.Dispatch.WorkflowID, err))
			}
		}
	case *core.WorkflowByTag:
		ids, next, err := t.cfg.Tags.Page(ctx, key, m.Cursor, t.cfg.PageSize)
		if err != nil {
			return Result{}, Unavailable(fmt.Errorf("tag %s of %s: read from %q: %w", tag, workflow, m.Cursor, err))
		}
		if outs, err = core.FanOut(m, strs(ids), next); err != nil {
			return Result{}, Permanent("invalid by-tag command", err)
		}
	}
	return t.result(in, outs)
}

func (t *TagEngine) result(in core.Envelope, outs []core.Out) (Result, error) {
	now := t.cfg.Clock()
	envs := make([]core.Envelope, 0, len(outs))
	for _, o := range outs {
		env, err := core.BuildEnvelope(o, in.ID, in.Time, t.cfg.Source, now)
		if err != nil {
			return Result{}, Permanent("output does not encode", err)
		}
		envs = append(envs, env)
	}
	return Result{Outputs: envs}, nil
}

// delegatedRecord is what is known of a delegated task: its delegation,
// its completion, or (briefly) both.
type delegatedRecord struct {
	Set  *core.SetDelegatedTask      `json:"set,omitempty"`
	Done *core.CompleteDelegatedTask `json:"done,omitempty"`
	// Joined: the caller was answered. The record stays for the retention
	// as a tombstone, so redelivered delegations and completions are
	// recognised instead of starting over.
	Joined bool `json:"joined,omitempty"`
	// JoinedBy is the message that joined the two: handled again, it
	// sends the answer again (a crash may have come between the write and
	// the answer).
	JoinedBy string `json:"joinedBy,omitempty"`
}

// delegated joins a delegated task's delegation and completion, in
// whichever order they come: the first is stored, the second answers the
// caller and leaves a tombstone for the retention. The answer goes out
// only once the tombstone is written: two completions handled at once (on
// two replicas, or out of order) both try, and the one that loses the
// write must not answer, or the caller could take the loser's value. A
// crash after the write answers again when the joining message comes back.
func (t *TagEngine) delegated(ctx context.Context, in core.Envelope, msg core.Message, service, taskID string) (Result, error) {
	if service == "" || taskID == "" {
		return Result{}, Permanent(fmt.Sprintf("%s %s names no service or task id", in.Type, in.ID), nil)
	}
	if t.cfg.Store == nil {
		return Result{}, Permanent("this tag engine keeps no delegated tasks (no store)", nil)
	}
	key := "delegated|" + service + "|" + taskID
	raw, version, err := t.cfg.Store.Get(ctx, key)
	if err != nil {
		return Result{}, Unavailable(fmt.Errorf("delegated task %s: load: %w", taskID, err))
	}
	var rec delegatedRecord
	if version > 0 {
		if err := json.Unmarshal(raw, &rec); err != nil {
			return Result{}, Permanent("stored delegated task cannot be read", err)
		}
	}
	if rec.Joined && rec.JoinedBy == in.ID && rec.Set != nil && rec.Done != nil {
		return t.joined(in, rec) // the joining message again: answer again
	}
	switch m := msg.(type) {
	case *core.SetDelegatedTask:
		switch {
		case rec.Set != nil && m.RetrySeq <= rec.Set.RetrySeq:
			return Result{}, nil // a duplicate, or an older attempt's delegation
		case rec.Joined:
			rec = delegatedRecord{} // a retry (RetryTasks) of a task answered before
		}
		rec.Set = m
	case *core.CompleteDelegatedTask:
		if rec.Done != nil || rec.Joined {
			return Result{}, nil // completed already: the first completion wins
		}
		rec.Done = m
	}
	save := func(rec delegatedRecord, ttl time.Duration) func(ctx context.Context) error {
		b, err := json.Marshal(rec)
		return func(ctx context.Context) error {
			if err != nil {
				return Permanent("delegated task does not encode", err)
			}
			if _, err := t.cfg.Store.Put(ctx, key, b, version, ttl); err != nil {
				if errors.Is(err, storage.ErrVersionConflict) {
					return fmt.Errorf("delegated task %s: %w", taskID, ErrConflict)
				}
				return Unavailable(fmt.Errorf("delegated task %s: save: %w", taskID, err))
			}
			return nil
		}
	}
	if rec.Set == nil || rec.Done == nil {
		ttl := time.Duration(0)
		if rec.Set == nil {
			// A completion for a task not delegated (yet): kept for a
			// while, so a delegation recorded late still finds it.
			ttl = t.cfg.Retention
		}
		return Result{Commit: save(rec, ttl)}, nil
	}
	rec.Joined, rec.JoinedBy = true, in.ID
	answer, err := t.joined(in, rec)
	if err != nil {
		return answer, err
	}
	return Result{Commit: save(rec, t.cfg.Retention), After: answer.Outputs}, nil
}

// joined is the answer to the caller of a delegated task whose delegation
// and completion are both known, as the joining message in produces it.
func (t *TagEngine) joined(in core.Envelope, rec delegatedRecord) (Result, error) {
	outs := core.DelegatedResult(rec.Set, rec.Done)
	if t.cfg.Events {
		ev := &core.Event{Kind: core.EventTaskDelegationComplete, Service: rec.Set.Service, Method: rec.Set.Method,
			TaskID: rec.Set.TaskID, RetrySeq: rec.Set.RetrySeq, Requester: rec.Set.Requester, Tags: rec.Set.Tags,
			Value: rec.Done.Value, Error: rec.Done.Error}
		if r := rec.Set.Requester; r.IsWorkflow() {
			ev.Workflow, ev.WorkflowID, ev.MethodRunID = r.Workflow, r.WorkflowID, r.MethodRunID
		}
		outs = append(outs, core.EventOut(ev))
	}
	return t.result(in, outs)
}

func customIDClaimKey(workflow, tag string) string { return "customId-claim|" + workflow + "|" + tag }

// claimCustomID makes id the instance holding a customId tag, unless
// another holds it already; it returns the holder. A claim lost to a
// concurrent one is a conflict: the input is handled again and finds it.
func (t *TagEngine) claimCustomID(ctx context.Context, workflow, tag, id string) (string, error) {
	key := customIDClaimKey(workflow, tag)
	owner, version, err := t.cfg.Store.Get(ctx, key)
	if err != nil {
		return "", Unavailable(fmt.Errorf("customId claim of %s %s: %w", workflow, tag, err))
	}
	if version > 0 {
		return string(owner), nil
	}
	if _, err := t.cfg.Store.Put(ctx, key, []byte(id), 0, 0); err != nil {
		if errors.Is(err, storage.ErrVersionConflict) {
			return "", fmt.Errorf("customId claim of %s %s: %w", workflow, tag, ErrConflict)
		}
		return "", Unavailable(fmt.Errorf("customId claim of %s %s: %w", workflow, tag, err))
	}
	return id, nil
}

// releaseCustomID frees a customId tag held by id (the instance ended).
func (t *TagEngine) releaseCustomID(ctx context.Context, workflow, tag, id string) error {
	key := customIDClaimKey(workflow, tag)
	owner, version, err := t.cfg.Store.Get(ctx, key)
	if err != nil {
		return Unavailable(fmt.Errorf("customId claim of %s %s: %w", workflow, tag, err))
	}
	if version == 0 || string(owner) != id {
		return nil // held by another instance, or released already
	}
	if err := t.cfg.Store.Delete(ctx, key, version); err != nil {
		if errors.Is(err, storage.ErrVersionConflict) {
			return fmt.Errorf("customId claim of %s %s: %w", workflow, tag, ErrConflict)
		}
		return Unavailable(fmt.Errorf("customId claim of %s %s: %w", workflow, tag, err))
	}
	return nil
}

func strs(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

// putAlias writes key = value unless already there.
func putAlias(ctx context.Context, kv storage.KeyValue, key, value string, ttl time.Duration) error {
	old, version, err := kv.Get(ctx, key)
	if err != nil || (version > 0 && string(old) == value) {
		return err
	}
	_, err = kv.Put(ctx, key, []byte(value), version, ttl)
	if errors.Is(err, storage.ErrVersionConflict) {
		return nil // written meanwhile by a duplicate of this message
	}
	return err
}
