package functions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
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
	// MissingGrace, when positive, is how long a message for an instance
	// that has no state yet is asked to come again (NotYet) instead of
	// being answered or dropped as one for an instance that does not
	// exist: on a transport without per-key order (Knative, say) a
	// command sent after a dispatch can arrive before it. A message older
	// than MissingGrace (by its time) is taken for what it says. Zero: the
	// transport keeps each instance's messages in order, so a missing
	// state is missing.
	MissingGrace time.Duration
	// Local, when set, runs workflow tasks of workflows it has code for in
	// this process instead of a round trip through the broker (the fast
	// path); the recorded results are the same. A *weft.Registry is one.
	Local WorkflowRunner
	// LocalTasks, when set, runs in this process the tasks it says may run
	// here (registered with weft.Local) as soon as a transition dispatches
	// them: their outcomes are applied with the transition and written with
	// the state, as the executor's would be, with their retry policy and
	// timeout; a retry goes through the broker. At most MaxLocalTaskRuns
	// run for one input, within LocalTaskBudget. A *weft.Registry is one.
	LocalTasks TaskRunner
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
	// MaxMessageSize is the largest envelope the transport takes (default
	// core.MaxEnvelopeSize). A workflow task whose result or history
	// would not fit fails its method with ErrPayloadTooLarge.
	MaxMessageSize int
	// HistoryByReference sends workflow tasks through the broker with the
	// part of the history the state holds, naming its history pages
	// (core.ArchiveThreshold) instead of carrying them: the executors read
	// them from the same storage (ExecutorConfig.Store), and only when
	// they replay from the start, so a task costs the same at step 10,000
	// as at step 10. Off, every task carries the whole history.
	HistoryByReference bool
	// MaxStateSize bounds a stored workflow state (0: what Store declares
	// with storage.Limited, if anything; negative: no bound). A change
	// that would take a state closer to it than a margin kept for
	// recording the failure fails the workflow tasks (then the results)
	// that make it, with ErrPayloadTooLarge. A store without a declared
	// limit is found out by its writes failing with storage.ErrTooLarge.
	MaxStateSize int
	// Serves, when set, tells whether an executor serves a service. A
	// task of a service it does not serve fails at once with
	// CodeNotRegistered, as an executor fails a method it does not know,
	// instead of waiting on a topic nobody reads. Set it only when every
	// executor is known, as in the embedded runtime on its own transport.
	Serves func(service string) bool
}

// WorkflowRunner runs workflow tasks: *weft.Sessions does, with the
// registered workflow code.
type WorkflowRunner interface {
	// HasWorkflowCode reports whether RunWorkflowTask can run t here.
	HasWorkflowCode(t *core.ExecuteWorkflowTask) bool
	// RunWorkflowTask runs t and returns its result (see
	// weft.Sessions.RunWorkflowTask): t may hold only the history kept in
	// the state, full returns it with its history pages merged.
	RunWorkflowTask(t *core.ExecuteWorkflowTask, full func() (*core.ExecuteWorkflowTask, error)) (core.Message, error)
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
	// oversized remembers the inputs whose state was too large to store,
	// while they are handled again (see shrinking).
	oversized oversizedInputs
	// history reads history pages (see expand).
	history *history
	// learned is the smallest state size the store refused (0: none yet),
	// the limit of a store that declares none (see MaxStateSize).
	learned atomic.Int64
	// drops counts the messages that had nothing to act on, by reason.
	drops [3]atomic.Int64
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
	if cfg.MaxMessageSize <= 0 || cfg.MaxMessageSize > core.MaxEnvelopeSize {
		cfg.MaxMessageSize = core.MaxEnvelopeSize
	}
	if cfg.MaxStateSize == 0 {
		cfg.MaxStateSize = storage.MaxValueSize(cfg.Store)
	}
	return &StateEngine{cfg: cfg, cache: newStateCache(cfg.CacheSize), opts: core.ApplyOptions{Match: cfg.SignalMatcher},
		history: newHistory(cfg.Store)}, nil
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
	if version == 0 && e.cfg.MissingGrace > 0 {
		if _, starts := input.Msg.(*core.DispatchWorkflow); !starts {
			if age := e.cfg.Clock().Sub(input.Instant); age < e.cfg.MissingGrace {
				return Result{}, &NotYetError{Reason: fmt.Sprintf("%s %s for workflow instance %s, which has no state yet (its dispatch may still be on its way)",
					input.Msg.MessageType(), input.ID, id), After: time.Second}
			}
		}
	}
	if version > 0 {
		if state, sent = e.cache.take(id, raw); state == nil {
			if state, err = core.DecodeState(raw); err != nil {
				return Result{}, Permanent("stored state cannot be read", err)
			}
		}
	}
	var res Result
	now := e.cfg.Clock()
	carried, resent, err := e.outboxes(ctx, state, sent, input.ID, now, &res)
	if err != nil {
		return Result{}, err
	}
	shrink := e.oversized.get(input.ID)
	if shrink.level > 0 {
		if r, refused := e.shrinking(&input, shrink, now); refused {
			if state != nil {
				e.cache.put(id, raw, state, sent)
			}
			return r, Permanent("the workflow state would be too large to store", shrink.cause)
		}
	}
	tr, err := core.ApplyWith(state, input, now, e.opts)
	if err != nil {
		return Result{}, Permanent("invalid message", err)
	}
	if tr.Dropped != core.NotDropped {
		if err := e.dropped(id, input, tr.Dropped); err != nil {
			return Result{}, err
		}
	}
	outs, local, err := e.runLocal(ctx, &tr, input, now, shrink.cause)
	if err != nil {
		return Result{}, err
	}
	final := tr.State
	if !tr.Changed {
		res.Outputs = append(res.Outputs, outs...)
		if state != nil {
			e.cache.put(id, raw, state, sent || len(state.Outbox) == 0)
			if resent {
				// Once republished here, the outbox need not go out again.
				res.Done = func() { e.cache.markSent(id, raw) }
			}
		}
		return res, nil
	}
	final.Outbox, res.After = final.CompactOutbox(outs), outs
	final.Carried = carried
	if local {
		// Duplicates of the input come, not of the local results; the last
		// of those stays LastMessageID, as on the broker path, where it is
		// the last message applied.
		final.LastInputID = input.ID
	}
	var written []byte
	saved := func(b []byte, err error) error {
		if err != nil {
			if version > 0 && (sent || resent || len(state.Outbox) == 0) {
				e.cache.keepSent(id, raw) // published before this commit
			}
			return e.oversized.tooLarge(input.ID, shrink, err)
		}
		e.oversized.forget(input.ID)
		written = b
		return nil
	}
	w := stateWrite{key: key, state: final, version: version, shrunk: shrink.level > 0, pages: tr.Pages, dropped: tr.DroppedPages}
	res.Commit = func(ctx context.Context) error {
		if err := saved(e.save(ctx, w, nil)); err != nil {
			return err
		}
		e.cache.put(id, written, final, len(outs) == 0)
		return nil
	}
	if tkv, ok := e.cfg.Store.(storage.TxKeyValue); ok {
		res.TxDomain = tkv.TxDomain()
		res.TxCommit = func(ctx context.Context, hook storage.TxHook) error {
			// The outputs commit with the state, so there is no outbox to
			// republish after a crash.
			final.Outbox = nil
			if err := saved(e.save(ctx, w, hook)); err != nil {
				return err
			}
			// The outbox went out in the same transaction.
			e.cache.put(id, written, final, true)
			return nil
		}
	}
	res.Done = func() { e.cache.markSent(id, written) }
	return res, nil
}

// stateWrite is what a handling writes: the state under its expected
// version, with the history pages it made and the deletion of those of
// runs that are gone.
type stateWrite struct {
	key     string
	state   *core.WorkflowState
	version uint64
	// shrunk: the change records failures made to fit (see shrinking).
	shrunk  bool
	pages   []core.StoredPage
	dropped []string
}

// save writes w at once; a non-nil hook runs in the same transaction (the
// store must then be a storage.TxKeyValue). A state or page over
// MaxStateSize, less a margin unless the change was shrunk, is not
// written (stateTooLarge).
func (e *StateEngine) save(ctx context.Context, w stateWrite, hook storage.TxHook) ([]byte, error) {
	key, s, version, shrunk := w.key, w.state, w.version, w.shrunk
	b, err := core.EncodeState(s)
	if err != nil {
		return nil, fmt.Errorf("encode state of %s: %w", s.WorkflowID, err)
	}
	// The largest value written: the state, or a history page, which
	// holds what the state held before (as large, at worst).
	largest := len(b)
	for _, p := range w.pages {
		largest = max(largest, len(p.Value))
	}
	limit := e.cfg.MaxStateSize
	if l := int(e.learned.Load()); l > 0 && (limit <= 0 || l < limit) {
		limit = l
	}
	if limit > 0 {
		margin := stateMargin(limit)
		if shrunk {
			margin = 0
		}
		if largest > limit-margin {
			return nil, &stateTooLarge{size: largest, err: fmt.Errorf("save state of %s: the storage takes %d bytes, less %d kept to record failures",
				s.WorkflowID, limit, stateMargin(limit))}
		}
	}
	var ttl time.Duration
	if s.Result != nil {
		// Retention counts from the end, not from the last write.
		ttl = max(e.cfg.Retention-e.cfg.Clock().Sub(s.Result.EndedAt), time.Second)
	}
	pages, err := e.pageWrites(ctx, w.pages, w.dropped)
	if err != nil {
		return nil, err
	}
	head := storage.Write{Key: key, Value: b, Expected: version, TTL: ttl}
	switch {
	case len(pages) > 0 && hook != nil:
		_, err = e.cfg.Store.(storage.TxKeyValue).PutManyTx(ctx, append([]storage.Write{head}, pages...), hook)
	case len(pages) > 0:
		_, err = e.cfg.Store.PutMany(ctx, append([]storage.Write{head}, pages...))
	case hook != nil:
		_, err = e.cfg.Store.(storage.TxKeyValue).PutTx(ctx, key, b, version, ttl, hook)
	default:
		_, err = e.cfg.Store.Put(ctx, key, b, version, ttl)
	}
	if err != nil {
		switch {
		case errors.Is(err, storage.ErrVersionConflict):
			return nil, fmt.Errorf("save state of %s: %w", s.WorkflowID, ErrConflict)
		case errors.Is(err, storage.ErrTooLarge):
			// Learnt: later writes keep below the largest value refused,
			// with a margin to fail in.
			for l := e.learned.Load(); (l == 0 || int64(largest) < l) && !e.learned.CompareAndSwap(l, int64(largest)); l = e.learned.Load() {
			}
			return nil, &stateTooLarge{size: largest, err: fmt.Errorf("save state of %s: %w", s.WorkflowID, err)}
		}
		return nil, Unavailable(fmt.Errorf("save state of %s: %w", s.WorkflowID, err))
	}
	return b, nil
}

// shrinking prepares the handling of an input whose state was too large
// to store, at the given level: level 1 fails the workflow tasks it runs
// (and a workflow task's result it is), level 2 also fails a task's or
// child's result it is. Beyond, the input cannot be applied: refused is
// true, and r holds the answers telling its requester.
func (e *StateEngine) shrinking(input *core.Input, o oversize, now time.Time) (r Result, refused bool) {
	_, isResult := input.Msg.(*core.CommandResult)
	if o.level == 1 || (o.level == 2 && isResult) {
		if m, ok := core.Oversized(input.Msg, o.cause); ok {
			input.Msg = m
		}
		if o.level == 1 || isResult {
			return Result{}, false
		}
	}
	e.oversized.forget(input.ID)
	for _, out := range core.Refuse(input.Msg, o.cause) {
		if env, err := core.BuildEnvelope(out, input.ID, input.Instant, e.cfg.Source, now); err == nil {
			r.Outputs = append(r.Outputs, env)
		}
	}
	return r, true
}

// stateTooLarge is a state write the store refused as too large.
type stateTooLarge struct {
	size int
	err  error
}

func (e *stateTooLarge) Error() string { return e.err.Error() }
func (e *stateTooLarge) Unwrap() error { return e.err }

// oversize is how far the handling of an input must shrink what it
// records (see StateEngine.shrinking), and why.
type oversize struct {
	level int
	cause *core.Error
}

// oversizedInputs remembers, for the inputs being handled again after
// their state was too large to store, the next level of shrinking. It is
// in memory only: after a crash the input's next delivery finds out again.
type oversizedInputs struct {
	mu sync.Mutex
	m  map[string]oversize
}

// maxOversized bounds the inputs remembered (each is forgotten once
// handled; only inputs handled elsewhere meanwhile could stay).
const maxOversized = 1024

func (o *oversizedInputs) get(id string) oversize {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.m[id]
}

func (o *oversizedInputs) forget(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.m, id)
}

// tooLarge turns a failed state write into the commit's error: a state
// too large to store makes the input be handled again one level smaller
// (as a conflict does); any other error is returned as is.
func (o *oversizedInputs) tooLarge(id string, cur oversize, err error) error {
	var tl *stateTooLarge
	if !errors.As(err, &tl) {
		return err
	}
	o.mark(id, cur, &core.Error{Code: core.CodePayloadTooLarge,
		Message: fmt.Sprintf("the workflow state would be %d bytes, more than the storage accepts (%v)", tl.size, tl.err)})
	return fmt.Errorf("%w: %w", ErrConflict, err)
}

// mark records that input id, handled at level cur, must be handled again
// one level smaller, because of cause.
func (o *oversizedInputs) mark(id string, cur oversize, cause *core.Error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil || len(o.m) >= maxOversized {
		o.m = map[string]oversize{}
	}
	o.m[id] = oversize{level: cur.level + 1, cause: cause}
}

// stateMargin is what a state kept below a store's limit leaves for
// recording that a change did not fit (a method's failure, its answers).
func stateMargin(limit int) int { return min(64<<10, limit/8) }
