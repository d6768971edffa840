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
	tr, err := core.Apply(state, core.Input{ID: in.ID, Instant: core.Instant(in), Msg: msg}, now)
	if err != nil {
		return Result{}, Permanent("invalid message", err)
	}
	outs, err := e.envelopes(tr, in, now)
	if err != nil {
		return Result{}, err
	}
	if !tr.Changed {
		if state != nil {
			e.cache.put(id, raw, state)
		}
		return Result{Outputs: outs}, nil
	}
	final := tr.State
	return Result{Outputs: outs, Commit: func(ctx context.Context) error {
		b, err := e.save(ctx, key, final, version)
		if err == nil {
			e.cache.put(id, b, final)
		}
		return err
	}}, nil
}

// envelopes turns a transition's outputs into envelopes, running workflow
// tasks in-process when the fast path applies. Outputs are encoded before
// the next in-process task changes the state they may point into.
func (e *StateEngine) envelopes(tr core.Transition, in core.Envelope, now time.Time) ([]core.Envelope, error) {
	var envs []core.Envelope
	pending := tr.Outputs
	for local := 0; len(pending) > 0; {
		var task *core.ExecuteWorkflowTask
		for _, o := range pending {
			if t, ok := o.Msg.(*core.ExecuteWorkflowTask); ok && task == nil && local < MaxLocalTasks && e.cfg.Local != nil && e.cfg.Local.HasWorkflowCode(t) {
				task = t
				continue
			}
			env, err := core.BuildEnvelope(o, in.ID, in.Time, e.cfg.Source, now)
			if err != nil {
				return nil, Permanent("output does not encode", err)
			}
			envs = append(envs, env)
		}
		if task == nil {
			break
		}
		local++
		res, _ := e.cfg.Local.RunWorkflowTask(task)
		step, err := core.Apply(tr.State, core.Input{ID: core.ChildID(task.Trigger, task.TaskID, "local", 0), Instant: now, Msg: res}, now)
		if err != nil {
			return nil, fmt.Errorf("apply in-process workflow task %s: %w", task.TaskID, err)
		}
		pending = step.Outputs
	}
	if tr.State != nil && tr.Changed {
		// Duplicates of the input, not of the in-process results, will come.
		tr.State.LastMessageID = in.ID
	}
	return envs, nil
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
