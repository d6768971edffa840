package functions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/storage"
)

// DefaultRetention is how long the result record of an ended workflow is kept.
const DefaultRetention = 7 * 24 * time.Hour

// StateEngineConfig configures the state-engine role.
type StateEngineConfig struct {
	// Workflows lists the workflow names whose topics this engine consumes.
	Workflows []string
	// Store keeps workflow states (required).
	Store storage.KeyValue
	// Retention is how long result records are kept (default DefaultRetention).
	Retention time.Duration
	// Local, when set, runs workflow tasks of workflows it has code for in
	// this process instead of a round trip through the broker (the fast
	// path); the recorded results are the same.
	Local *weft.Registry
	// Source is the CloudEvents source of emitted envelopes.
	Source string
	// CacheSize bounds the decoded states kept between messages (default
	// DefaultStateCacheSize; negative: no cache).
	CacheSize int
	// Clock returns the wall clock (default time.Now).
	Clock  func() time.Time
	Logger *slog.Logger
}

// DefaultStateCacheSize is the default number of decoded states cached.
const DefaultStateCacheSize = 4096

// StateEngine is the state-engine role: it loads a workflow's state, applies
// one message with core.Apply, and returns the outputs plus a Commit that
// writes the state under its expected version.
type StateEngine struct {
	cfg   StateEngineConfig
	cache *stateCache
}

// MaxLocalTasks bounds the in-process workflow tasks run for one input, so a
// workflow that loops on self-signals cannot hold the engine for ever.
const MaxLocalTasks = 1000

// NewStateEngine validates cfg and returns the role.
func NewStateEngine(cfg StateEngineConfig) (*StateEngine, error) {
	if cfg.Store == nil {
		return nil, errors.New("state engine: Store is required")
	}
	if len(cfg.Workflows) == 0 {
		return nil, errors.New("state engine: Workflows is empty")
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Source == "" {
		cfg.Source = "weft/state-engine"
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultStateCacheSize
	}
	return &StateEngine{cfg: cfg, cache: newStateCache(cfg.CacheSize)}, nil
}

// Name implements Function.
func (e *StateEngine) Name() string { return "state-engine" }

// Subscriptions implements Function.
func (e *StateEngine) Subscriptions() []Subscription {
	var subs []Subscription
	for _, w := range e.cfg.Workflows {
		subs = append(subs,
			Subscription{Topic: core.Topic(core.PrefixWorkflowCmd, w), Keyed: true},
			Subscription{Topic: core.Topic(core.PrefixWorkflowEngine, w), Keyed: true},
			Subscription{Topic: core.Topic(core.PrefixWorkflowDelay, w)},
		)
	}
	return subs
}

// Handle implements Function.
func (e *StateEngine) Handle(ctx context.Context, in core.Envelope) (Result, error) {
	msg, err := core.DecodeMessage(in)
	if err != nil {
		return Result{}, err
	}
	workflow, id, ok := core.EngineTarget(msg)
	if !ok {
		return Result{}, Permanent(fmt.Sprintf("message type %s is not handled by the state engine", in.Type), nil)
	}
	if id == "" || workflow == "" {
		return Result{}, Permanent(fmt.Sprintf("%s %s names no workflow or workflow id", in.Type, in.ID), nil)
	}
	if _, entity, err := core.SplitTopic(in.Topic); err == nil && entity != workflow {
		return Result{}, Permanent(fmt.Sprintf("%s for workflow %s arrived on topic %s", in.Type, workflow, in.Topic), nil)
	}
	if prefix, _, _ := core.SplitTopic(in.Topic); prefix == core.PrefixWorkflowDelay {
		return e.forwardDelayed(in, msg, workflow, id)
	}
	input := core.Input{ID: in.ID, Instant: core.Instant(in), Msg: msg}
	return e.step(ctx, id, 0, func(state *core.WorkflowState, now time.Time) (core.Transition, core.Input, error) {
		tr, err := core.Apply(state, input, now)
		return tr, input, err
	})
}

// forwardDelayed moves a due timer or timeout from the (unkeyed) delay topic
// to the instance's keyed engine topic, so every change to one instance is
// made by one handler at a time and optimistic-lock conflicts stay rare.
func (e *StateEngine) forwardDelayed(in core.Envelope, msg core.Message, workflow, id string) (Result, error) {
	if r, ok := msg.(*core.CommandResult); ok && r.Kind == core.TimerCompleted && len(r.Value) == 0 {
		// A timer completes with its due instant, not the forwarding time.
		r.Value, _ = core.Instant(in).UTC().MarshalJSON()
	}
	out := core.Out{Topic: core.Topic(core.PrefixWorkflowEngine, workflow), Key: id, Subject: id, Msg: msg}
	// The forwarded event keeps the instant it was due as its time: the
	// workflow resumes as of then, whenever the forward is handled.
	env, err := core.BuildEnvelope(out, in.ID, in.Time, e.cfg.Source, core.Instant(in))
	if err != nil {
		return Result{}, Permanent("output does not encode", err)
	}
	return Result{Outputs: []core.Envelope{env}}, nil
}

// transform applies one input to a loaded state and says which input it
// was (for envelope ids).
type transform func(state *core.WorkflowState, now time.Time) (core.Transition, core.Input, error)

// step loads the state of workflow id, applies f, and returns the outputs,
// the commit of the new state and, when a workflow task whose code is in
// this process is now pending, the follow-up step that runs it. Running it
// only after the commit means in-process workflow tasks always start from
// recorded state, exactly as a task sent through the broker would.
func (e *StateEngine) step(ctx context.Context, id string, local int, f transform) (Result, error) {
	key := core.StateKey(id)
	raw, version, err := e.cfg.Store.Get(ctx, key)
	if err != nil {
		return Result{}, Unavailable(fmt.Errorf("load state of %s: %w", id, err))
	}
	var state *core.WorkflowState
	if version > 0 {
		if state = e.cache.take(id, raw); state == nil {
			if state, err = core.DecodeState(raw); err != nil {
				return Result{}, Permanent("stored state cannot be read", err)
			}
		}
	}
	now := e.cfg.Clock()
	tr, in, err := f(state, now)
	if err != nil {
		return Result{}, Permanent("invalid message", err)
	}
	runLocal := local < MaxLocalTasks
	var outs []core.Envelope
	for _, o := range tr.Outputs {
		if t, ok := o.Msg.(*core.ExecuteWorkflowTask); ok && runLocal && e.isLocal(t) {
			continue // run by the follow-up step, after the commit
		}
		env, err := core.BuildEnvelope(o, in.ID, in.Instant, e.cfg.Source, now)
		if err != nil {
			return Result{}, Permanent("output does not encode", err)
		}
		outs = append(outs, env)
	}
	res := Result{Outputs: outs}
	final := tr.State
	if t := core.PendingWorkflowTask(final); t != nil && runLocal && e.isLocal(t) {
		res.Next = func(ctx context.Context) (Result, error) { return e.step(ctx, id, local+1, e.runLocal) }
	}
	if !tr.Changed {
		if state != nil {
			e.cache.put(id, raw, state)
		}
		return res, nil
	}
	res.Commit = func(ctx context.Context) error {
		b, err := e.save(ctx, key, final, version)
		if err == nil {
			e.cache.put(id, b, final)
		}
		return err
	}
	return res, nil
}

func (e *StateEngine) isLocal(t *core.ExecuteWorkflowTask) bool {
	return e.cfg.Local != nil && e.cfg.Local.HasWorkflowCode(t)
}

// runLocal runs the pending workflow task of the loaded state in this
// process and applies its result. Its input id and instant derive from the
// task, so handling it again yields the same envelopes.
func (e *StateEngine) runLocal(state *core.WorkflowState, now time.Time) (core.Transition, core.Input, error) {
	t := core.PendingWorkflowTask(state)
	if t == nil || !e.isLocal(t) {
		return core.Transition{State: state}, core.Input{}, nil // already done by another handler
	}
	res, _ := e.cfg.Local.RunWorkflowTask(t)
	in := core.Input{ID: core.ChildID(t.Trigger, t.TaskID, "local", 0), Instant: t.Trigger, Msg: res}
	tr, err := core.Apply(state, in, now)
	return tr, in, err
}

func (e *StateEngine) save(ctx context.Context, key string, s *core.WorkflowState, version uint64) ([]byte, error) {
	b, err := core.EncodeState(s)
	if err != nil {
		return nil, fmt.Errorf("encode state of %s: %w", s.WorkflowID, err)
	}
	var ttl time.Duration
	if s.Result != nil {
		// Retention counts from the end, not from the last write.
		ttl = max(e.cfg.Retention-e.cfg.Clock().Sub(s.Result.EndedAt), time.Second)
	}
	if _, err := e.cfg.Store.Put(ctx, key, b, version, ttl); err != nil {
		if errors.Is(err, storage.ErrVersionConflict) {
			return nil, fmt.Errorf("save state of %s: %w", s.WorkflowID, ErrConflict)
		}
		return nil, Unavailable(fmt.Errorf("save state of %s: %w", s.WorkflowID, err))
	}
	return b, nil
}
