package functions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/jsonfilter"
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
	// path); the recorded results are the same. A *weft.Registry is one.
	Local WorkflowRunner
	// Source is the CloudEvents source of emitted envelopes.
	Source string
	// CacheSize bounds the decoded states kept between messages (default
	// DefaultStateCacheSize; negative: no cache).
	CacheSize int
	// Clock returns the wall clock (default time.Now).
	Clock func() time.Time
	// SignalMatcher evaluates the JSONPath filters of signal receptions
	// (default jsonfilter.Match: RFC 9535, see weft.WhereJSONPath).
	SignalMatcher core.Matcher
	Logger        *slog.Logger
	// Events publishes workflow lifecycle events (and task dispatched
	// events) on workflow-events:<W> and task-events:<S>; off, they are
	// dropped before they are encoded.
	Events bool
}

// WorkflowRunner runs workflow tasks: *weft.Registry does, with the
// registered workflow code.
type WorkflowRunner interface {
	// HasWorkflowCode reports whether RunWorkflowTask can run t here.
	HasWorkflowCode(t *core.ExecuteWorkflowTask) bool
	// RunWorkflowTask replays t and returns its result (see
	// weft.Registry.RunWorkflowTask).
	RunWorkflowTask(t *core.ExecuteWorkflowTask) (core.Message, error)
}

// DefaultStateCacheSize is the default number of decoded states cached.
const DefaultStateCacheSize = 4096

// StateEngine is the state-engine role: it loads a workflow's state, applies
// one message with core.ApplyWith, and returns the outputs plus a Commit that
// writes the state under its expected version.
type StateEngine struct {
	cfg   StateEngineConfig
	cache *stateCache
	opts  core.ApplyOptions
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
	if cfg.SignalMatcher == nil {
		cfg.SignalMatcher = jsonfilter.Match
	}
	return &StateEngine{cfg: cfg, cache: newStateCache(cfg.CacheSize), opts: core.ApplyOptions{Match: cfg.SignalMatcher}}, nil
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
	return e.apply(ctx, id, core.Input{ID: in.ID, Instant: core.Instant(in), Msg: msg})
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

// apply loads the state of workflow id, applies the input and, on the
// fast path, the workflow tasks it starts whose code is in this process.
//
// The outputs of a transition that changes the state are written with it,
// in its outbox, and published only after the write: another engine may be
// applying another message to the same instance (serverless runtimes give
// no per-key order), and an attempt that loses the versioned write must
// have no effect at all (no task run, no tag released, no event or answer
// sent), since the winner may never repeat it. A crash after the write
// republishes the outbox when the input comes again. With a transactional
// store and transport they commit with the state instead.
func (e *StateEngine) apply(ctx context.Context, id string, input core.Input) (Result, error) {
	key := core.StateKey(id)
	raw, version, err := e.cfg.Store.Get(ctx, key)
	if err != nil {
		return Result{}, Unavailable(fmt.Errorf("load state of %s: %w", id, err))
	}
	var state *core.WorkflowState
	var sent bool
	if version > 0 {
		if state, sent = e.cache.take(id, raw); state == nil {
			if state, err = core.DecodeState(raw); err != nil {
				return Result{}, Permanent("stored state cannot be read", err)
			}
		}
	}
	var res Result
	if state != nil && len(state.Outbox) > 0 && !sent {
		// Maybe never published (a crash after the write): send it again.
		outbox, err := state.OutboxEnvelopes()
		if err != nil {
			return Result{}, Permanent("stored outbox cannot be rebuilt", err)
		}
		res.Outputs = append(res.Outputs, outbox...)
	}
	now := e.cfg.Clock()
	tr, err := core.ApplyWith(state, input, now, e.opts)
	if err != nil {
		return Result{}, Permanent("invalid message", err)
	}
	outs, local, err := e.runLocal(&tr, input, now)
	if err != nil {
		return Result{}, err
	}
	final := tr.State
	if !tr.Changed {
		res.Outputs = append(res.Outputs, outs...)
		if state != nil {
			e.cache.put(id, raw, state, sent || len(state.Outbox) == 0)
			if len(res.Outputs) > 0 && !sent {
				// Once republished here, the outbox need not go out again.
				res.Done = func() { e.cache.markSent(id, raw) }
			}
		}
		return res, nil
	}
	final.Outbox, res.After = final.CompactOutbox(outs), outs
	if local {
		// Duplicates of the input come, not of the local results; the last
		// of those stays LastMessageID, as on the broker path, where it is
		// the last message applied.
		final.LastInputID = input.ID
	}
	var written []byte
	res.Commit = func(ctx context.Context) error {
		b, err := e.save(ctx, key, final, version, nil)
		if err == nil {
			written = b
			e.cache.put(id, b, final, len(outs) == 0)
		}
		return err
	}
	if tkv, ok := e.cfg.Store.(storage.TxKeyValue); ok {
		res.TxDomain = tkv.TxDomain()
		res.TxCommit = func(ctx context.Context, hook storage.TxHook) error {
			// The outputs commit with the state, so there is no outbox to
			// republish after a crash.
			final.Outbox = nil
			b, err := e.save(ctx, key, final, version, hook)
			if err == nil {
				written = b
				// The outbox went out in the same transaction.
				e.cache.put(id, b, final, true)
			}
			return err
		}
	}
	res.Done = func() { e.cache.markSent(id, written) }
	return res, nil
}

// runLocal turns a transition's outputs into envelopes, running in this
// process every workflow task whose code it has (at most MaxLocalTasks per
// input; beyond, they go through the broker). Each local result is applied
// with an id and instant derived from its task, so handling the same input
// again yields the same envelopes.
func (e *StateEngine) runLocal(tr *core.Transition, in core.Input, now time.Time) ([]core.Envelope, bool, error) {
	var envs []core.Envelope
	pending, from, ran := tr.Outputs, in, 0
	for len(pending) > 0 {
		var task *core.ExecuteWorkflowTask
		for _, o := range pending {
			if t, ok := o.Msg.(*core.ExecuteWorkflowTask); ok && task == nil && ran < MaxLocalTasks && e.isLocal(t) {
				task = t
				continue
			}
			if _, isEvent := o.Msg.(*core.Event); isEvent && !e.cfg.Events {
				continue
			}
			env, err := core.BuildEnvelope(o, from.ID, from.Instant, e.cfg.Source, now)
			if err != nil {
				return nil, false, Permanent("output does not encode", err)
			}
			envs = append(envs, env)
		}
		if task == nil {
			break
		}
		ran++
		res, _ := e.cfg.Local.RunWorkflowTask(task)
		from = core.ResultInput(task, res)
		step, err := core.ApplyWith(tr.State, from, now, e.opts)
		if err != nil {
			return nil, false, fmt.Errorf("apply in-process workflow task %s: %w", task.TaskID, err)
		}
		tr.Changed = tr.Changed || step.Changed
		pending = step.Outputs
	}
	return envs, ran > 0, nil
}

func (e *StateEngine) isLocal(t *core.ExecuteWorkflowTask) bool {
	return e.cfg.Local != nil && e.cfg.Local.HasWorkflowCode(t)
}

// save writes the state under its expected version; a non-nil hook runs in
// the same transaction (the store must then be a storage.TxKeyValue).
func (e *StateEngine) save(ctx context.Context, key string, s *core.WorkflowState, version uint64, hook storage.TxHook) ([]byte, error) {
	b, err := core.EncodeState(s)
	if err != nil {
		return nil, fmt.Errorf("encode state of %s: %w", s.WorkflowID, err)
	}
	var ttl time.Duration
	if s.Result != nil {
		// Retention counts from the end, not from the last write.
		ttl = max(e.cfg.Retention-e.cfg.Clock().Sub(s.Result.EndedAt), time.Second)
	}
	if hook != nil {
		_, err = e.cfg.Store.(storage.TxKeyValue).PutTx(ctx, key, b, version, ttl, hook)
	} else {
		_, err = e.cfg.Store.Put(ctx, key, b, version, ttl)
	}
	if err != nil {
		if errors.Is(err, storage.ErrVersionConflict) {
			return nil, fmt.Errorf("save state of %s: %w", s.WorkflowID, ErrConflict)
		}
		return nil, Unavailable(fmt.Errorf("save state of %s: %w", s.WorkflowID, err))
	}
	return b, nil
}
