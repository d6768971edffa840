// Package sim runs the state engine and executor roles synchronously over an
// in-memory queue with a fake clock. Tests use it to replay exact message
// sequences, inject duplicates and storage faults, and record golden
// histories; nothing in it is concurrent or timing-dependent.
package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/memory"
)

// Epoch is the fake clock's start.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Sim is a deterministic runtime for tests.
type Sim struct {
	T        testing.TB
	Now      time.Time
	Store    storage.KeyValue
	Engine   *functions.StateEngine
	Executor *functions.Executor
	// Queue holds envelopes not yet handled, in order; Delayed those whose
	// deliverat is in the future.
	Queue   []core.Envelope
	Delayed []core.Envelope
	// Handled records every envelope handled, in order.
	Handled []core.Envelope
	// Responses collects envelopes published to response topics.
	Responses []core.Envelope
	// Others collects, in publish order, envelopes for roles the simulator
	// does not run: tag-engine commands and lifecycle events.
	Others []core.Envelope
	// DeadLetters collects inputs that failed permanently, with reasons.
	DeadLetters []DeadLetter
	// BeforeHandle, when set, may edit or duplicate the queue before each
	// handling (fault injection).
	BeforeHandle func(s *Sim, env core.Envelope)
	// OnPublish, when set, sees every envelope published, as it is.
	OnPublish func(s *Sim, env core.Envelope)
	// Published counts publications per envelope id.
	Published map[string]int
	// Attempts lists, per input envelope id, the ids of the envelopes each
	// handling of it published.
	Attempts map[string][][]string
	// WorkflowTasks lists the workflow tasks run, in order, on the fast
	// path and through the executor alike.
	WorkflowTasks []WorkflowTask
	// Sessions runs the workflow tasks of both paths, keeping suspended
	// runs parked (closed when the test ends).
	Sessions  *weft.Sessions
	engineCfg functions.StateEngineConfig
	dedup     bool
	maxSize   int
	txOut     *functions.TxOutlet
	txIDs     []string // ids written by the current handling's transaction
	seq       int
	failPub   func(int) bool
	pubCalls  int
}

// WorkflowTask is one workflow task run, on either path: the task as the
// replay received it and its result, both encoded.
type WorkflowTask struct {
	Task, Result json.RawMessage
}

// recordingRunner runs the fast path's workflow tasks with sessions,
// recording them in WorkflowTasks.
type recordingRunner struct {
	runs *weft.Sessions
	sim  *Sim
}

func (r recordingRunner) HasWorkflowCode(t *core.ExecuteWorkflowTask) bool {
	return r.runs.HasWorkflowCode(t)
}

func (r recordingRunner) RunWorkflowTask(t *core.ExecuteWorkflowTask, full func() (*core.ExecuteWorkflowTask, error)) (core.Message, error) {
	whole := t
	if len(t.Method.Pages) > 0 { // recorded with its whole history, as sent
		var err error
		if whole, err = full(); err != nil {
			return nil, err
		}
	}
	task, err := core.EncodeMessage(whole) // before the run: as the replay received it
	if err != nil {
		r.sim.T.Fatal(err)
	}
	res, rerr := r.runs.RunWorkflowTask(t, full)
	b, err := core.EncodeMessage(res)
	if err != nil {
		r.sim.T.Fatal(err)
	}
	r.sim.WorkflowTasks = append(r.sim.WorkflowTasks, WorkflowTask{Task: task, Result: b})
	return res, rerr
}

// wholeTask returns a workflow task's data with the history pages it names
// merged in, as the fast path records it.
func (s *Sim) wholeTask(data json.RawMessage) json.RawMessage {
	m, err := core.DecodeMessage(core.Envelope{ID: "task", Type: (&core.ExecuteWorkflowTask{}).MessageType(), Data: data})
	if err != nil {
		s.T.Fatal(err)
	}
	t := m.(*core.ExecuteWorkflowTask)
	if len(t.Method.Pages) == 0 {
		return data
	}
	var keys []string
	for _, p := range t.Method.Pages {
		keys = append(keys, p.Key)
	}
	entries, err := s.Store.GetMany(context.Background(), keys)
	if err != nil {
		s.T.Fatal(err)
	}
	var pages []*core.HistoryPage
	for _, e := range entries {
		p, err := core.DecodePage(e.Value)
		if err != nil {
			s.T.Fatal(err)
		}
		pages = append(pages, p)
	}
	run, props, err := t.Method.Merge(pages)
	if err != nil {
		s.T.Fatal(err)
	}
	t.Method = run
	for h, v := range props {
		if t.Props == nil {
			t.Props = map[string]json.RawMessage{}
		}
		t.Props[h] = v
	}
	b, err := core.EncodeMessage(t)
	if err != nil {
		s.T.Fatal(err)
	}
	return b
}

// DeadLetter is a permanently failed input.
type DeadLetter struct {
	Env    core.Envelope
	Reason string
}

// Options configure a Sim.
type Options struct {
	// Store wraps or replaces the memory store (e.g. to inject faults).
	Store storage.KeyValue
	// FastPath runs workflow tasks in the state engine.
	FastPath bool
	// Rand returns retry jitter (default 0.5: no jitter).
	Rand func() float64
	// Dedup drops a published envelope whose id was published before, as
	// a deduplicating broker does.
	Dedup bool
	// FailPublish, when it returns true for the n-th publish call (from 1),
	// makes that call fail as an unreachable broker would.
	FailPublish func(n int) bool
	// Transactional makes the store transactional (storage.TxKeyValue) and
	// the runtime write outputs inside the state's transaction, as with
	// PostgreSQL as both storage and transport: a failed write publishes
	// nothing.
	Transactional bool
	// SignalMatcher replaces the state engine's JSONPath evaluator of
	// signal filters (default: internal/jsonfilter, as in production).
	SignalMatcher core.Matcher
	// Events makes the state engine publish lifecycle events (collected
	// in Others).
	Events bool
	// MaxMessageSize is the transport's message limit the roles observe,
	// and Publish checks (default core.MaxEnvelopeSize).
	MaxMessageSize int
	// ReplayEveryTask replays every workflow task from the start, as a
	// process without parked runs does (see weft.Sessions): for tests of
	// replays, and of code changed between two tasks.
	ReplayEveryTask bool
	// LocalTasks gives the state engine the registry to run the tasks
	// registered with weft.Local in its process.
	LocalTasks bool
}

// New builds a simulator for the registry's workflows and services.
func New(t testing.TB, reg *weft.Registry, o Options) *Sim {
	s := &Sim{T: t, maxSize: o.MaxMessageSize, Now: Epoch, Store: o.Store, Published: map[string]int{}, Attempts: map[string][][]string{}, dedup: o.Dedup, failPub: o.FailPublish}
	if s.Store == nil {
		s.Store = memory.New(memory.WithClock(func() time.Time { return s.Now }))
	}
	clock := func() time.Time { return s.Now }
	if o.Transactional {
		s.Store = &txStore{KeyValue: s.Store, sim: s}
		s.txOut = &functions.TxOutlet{Domain: txDomain, Publish: func(_ context.Context, tx any, envs ...core.Envelope) error {
			b, ok := tx.(*txBatch)
			if !ok {
				return fmt.Errorf("sim: transaction handle is %T", tx)
			}
			b.envs = append(b.envs, envs...)
			return nil
		}}
	}
	s.Sessions = reg.NewSessions(0)
	if o.ReplayEveryTask {
		s.Sessions = reg.NewSessions(-1)
	}
	t.Cleanup(s.Sessions.Close)
	var local functions.WorkflowRunner
	if o.FastPath {
		local = recordingRunner{runs: s.Sessions, sim: s}
	}
	var localTasks functions.TaskRunner
	if o.LocalTasks {
		localTasks = reg
	}
	s.engineCfg = functions.StateEngineConfig{Workflows: reg.Workflows(), Store: s.Store, Local: local, LocalTasks: localTasks, Clock: clock,
		SignalMatcher: o.SignalMatcher, Events: o.Events, MaxMessageSize: o.MaxMessageSize, HistoryByReference: true}
	eng, err := functions.NewStateEngine(s.engineCfg)
	if err != nil {
		t.Fatal(err)
	}
	if o.Rand == nil {
		o.Rand = func() float64 { return 0.5 }
	}
	ex, err := functions.NewExecutor(functions.ExecutorConfig{Registry: reg, Clock: clock, Rand: o.Rand, MaxMessageSize: o.MaxMessageSize, Runner: s.Sessions, Store: s.Store})
	if err != nil {
		t.Fatal(err)
	}
	s.Engine, s.Executor = eng, ex
	return s
}

// Publish queues envelopes as a runtime would: delayed ones wait for the
// clock, responses are collected.
func (s *Sim) Publish(envs ...core.Envelope) {
	for _, env := range envs {
		b, err := core.EncodeEnvelope(env)
		if err != nil {
			s.T.Fatalf("published an invalid envelope: %v", err)
		}
		if s.maxSize > 0 && len(b) > s.maxSize {
			s.T.Fatalf("published an envelope of %d bytes, over the %d-byte limit: %s to %s", len(b), s.maxSize, env.Type, env.Topic)
		}
		if s.OnPublish != nil {
			s.OnPublish(s, env)
		}
		s.Published[env.ID]++
		if s.dedup && s.Published[env.ID] > 1 {
			continue
		}
		prefix, _, _ := core.SplitTopic(env.Topic)
		switch prefix {
		case core.PrefixWorkflowTag, core.PrefixTaskTag, core.PrefixWorkflowEvents, core.PrefixTaskEvents:
			s.Others = append(s.Others, env)
			continue
		}
		switch {
		case strings.HasPrefix(env.Topic, core.PrefixResponse+":"):
			s.Responses = append(s.Responses, env)
		case env.DeliverAtTime().After(s.Now):
			s.Delayed = append(s.Delayed, env)
		default:
			s.Queue = append(s.Queue, env)
		}
	}
}

// Send publishes a message from outside (a client) at the current time.
func (s *Sim) Send(topic, key string, m core.Message) core.Envelope {
	s.seq++
	env, err := core.BuildEnvelope(core.Out{Topic: topic, Key: key, Msg: m}, fmt.Sprintf("client-%d", s.seq), s.Now, "test", s.Now)
	if err != nil {
		s.T.Fatal(err)
	}
	s.Publish(env)
	return env
}

// Step handles the first queued envelope; false when the queue is empty.
func (s *Sim) Step() bool {
	if len(s.Queue) == 0 {
		return false
	}
	env := s.Queue[0]
	s.Queue = s.Queue[1:]
	if s.BeforeHandle != nil {
		s.BeforeHandle(s, env)
	}
	s.Handle(env)
	return true
}

// OtherEngine returns another state engine over the same store, with a
// cache of its own: a second replica, for races (see HandleOn).
func (s *Sim) OtherEngine() *functions.StateEngine {
	eng, err := functions.NewStateEngine(s.engineCfg)
	if err != nil {
		s.T.Fatal(err)
	}
	return eng
}

// Handle runs one envelope through its role with the runtime contract.
func (s *Sim) Handle(env core.Envelope) {
	fn := functions.Function(s.Engine)
	prefix, _, _ := core.SplitTopic(env.Topic)
	switch prefix {
	case core.PrefixTaskExecutor, core.PrefixTaskRetry, core.PrefixWorkflowTaskExecutor, core.PrefixWorkflowTaskRetry:
		fn = s.Executor
	}
	s.HandleOn(fn, env)
}

// HandleOn runs one envelope through fn (e.g. another engine) with the
// runtime contract.
func (s *Sim) HandleOn(fn functions.Function, env core.Envelope) {
	s.Handled = append(s.Handled, env)
	body, err := json.Marshal(env)
	if err != nil {
		s.T.Fatal(err)
	}
	s.handleBody(env, fn, body)
}

// HandleRaw runs bytes received on topic through its role, as a runtime
// does with whatever a broker hands it.
func (s *Sim) HandleRaw(topic string, body []byte) {
	env := core.Envelope{ID: "raw", Topic: topic}
	fn := functions.Function(s.Engine)
	if p, _, _ := core.SplitTopic(topic); p == core.PrefixTaskExecutor || p == core.PrefixWorkflowTaskExecutor {
		fn = s.Executor
	}
	s.handleBody(env, fn, body)
}

func (s *Sim) handleBody(env core.Envelope, fn functions.Function, body []byte) {
	decoded, err := core.DecodeEnvelope(body)
	if err != nil {
		s.Attempts[env.ID] = append(s.Attempts[env.ID], nil)
		s.DeadLetters = append(s.DeadLetters, DeadLetter{Env: env, Reason: err.Error()})
		return
	}
	var ids []string
	s.txIDs = nil
	err = functions.ProcessEnvelopeTx(context.Background(), fn, decoded, func(_ context.Context, envs ...core.Envelope) error {
		s.pubCalls++
		if s.failPub != nil && s.failPub(s.pubCalls) {
			return errors.New("sim: broker unreachable")
		}
		for _, e := range envs {
			ids = append(ids, e.ID)
			if decoded.Type == (&core.ExecuteWorkflowTask{}).MessageType() && strings.HasPrefix(e.Type, "weft.engine.WorkflowTask") {
				s.WorkflowTasks = append(s.WorkflowTasks, WorkflowTask{Task: s.wholeTask(decoded.Data), Result: e.Data})
			}
		}
		s.Publish(envs...)
		return nil
	}, s.txOut)
	ids = append(ids, s.txIDs...)
	s.Attempts[env.ID] = append(s.Attempts[env.ID], ids)
	switch {
	case err == nil:
	case functions.IsPermanent(err):
		s.DeadLetters = append(s.DeadLetters, DeadLetter{Env: env, Reason: err.Error()})
	default:
		// Transient: redeliver first, as a keyed broker does (the key stays
		// blocked until the message is acknowledged).
		s.Queue = append([]core.Envelope{env}, s.Queue...)
	}
}

// Run handles messages until the queue is empty, releasing delayed ones only
// when Advance moves the clock. It fails the test after limit steps.
func (s *Sim) Run() {
	for i := 0; s.Step(); i++ {
		if i > 100000 {
			s.T.Fatal("sim: more than 100000 steps; a loop?")
		}
	}
}

// Advance moves the clock by d, releases the delayed envelopes now due (in
// due order) and runs.
func (s *Sim) Advance(d time.Duration) {
	s.Now = s.Now.Add(d)
	sort.SliceStable(s.Delayed, func(i, j int) bool { return s.Delayed[i].DeliverAtTime().Before(s.Delayed[j].DeliverAtTime()) })
	var keep []core.Envelope
	for _, env := range s.Delayed {
		if env.DeliverAtTime().After(s.Now) {
			keep = append(keep, env)
		} else {
			s.Queue = append(s.Queue, env)
		}
	}
	s.Delayed = keep
	s.Run()
}

// AdvanceToNext moves the clock to the next delayed envelope's instant and
// runs; false when nothing is delayed.
func (s *Sim) AdvanceToNext() bool {
	if len(s.Delayed) == 0 {
		return false
	}
	next := s.Delayed[0].DeliverAtTime()
	for _, env := range s.Delayed[1:] {
		if t := env.DeliverAtTime(); t.Before(next) {
			next = t
		}
	}
	s.Advance(next.Sub(s.Now))
	return true
}

// RunAll runs and releases every delayed envelope until nothing is left.
func (s *Sim) RunAll() {
	s.Run()
	for i := 0; s.AdvanceToNext(); i++ {
		if i > 100000 {
			s.T.Fatal("sim: more than 100000 delays; a loop?")
		}
	}
}

// State loads a workflow's stored state (nil when absent).
func (s *Sim) State(workflowID string) *core.WorkflowState {
	raw, v, err := s.Store.Get(context.Background(), core.StateKey(workflowID))
	if err != nil {
		s.T.Fatal(err)
	}
	if v == 0 {
		return nil
	}
	st, err := core.DecodeState(raw)
	if err != nil {
		s.T.Fatal(err)
	}
	return st
}

// Outcomes decodes the responses received for a workflow id.
func (s *Sim) Outcomes(workflowID string) []*core.MethodOutcome {
	var out []*core.MethodOutcome
	for _, env := range s.Responses {
		m, err := core.DecodeMessage(env)
		if err != nil {
			s.T.Fatal(err)
		}
		if o, ok := m.(*core.MethodOutcome); ok && o.WorkflowID == workflowID {
			out = append(out, o)
		}
	}
	return out
}

// Types lists the types of handled envelopes, for compact assertions.
func (s *Sim) Types() []string {
	out := make([]string, len(s.Handled))
	for i, e := range s.Handled {
		out[i] = e.Type
	}
	return out
}

// Count returns how many handled envelopes have the given type.
func (s *Sim) Count(typ string) int {
	return len(slices.DeleteFunc(s.Types(), func(t string) bool { return t != typ }))
}

// txDomain is the database name shared by the simulated transactional store
// and outlet.
const txDomain = "sim://tx"

// txBatch is the simulated transaction handle: the envelopes written in it.
type txBatch struct{ envs []core.Envelope }

// txStore makes any store transactional for the simulator: the hook's
// envelopes are published only when the write succeeds.
type txStore struct {
	storage.KeyValue
	sim *Sim
}

func (t *txStore) PutTx(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration, hook storage.TxHook) (uint64, error) {
	b := &txBatch{}
	if err := hook(ctx, b); err != nil {
		return 0, err
	}
	v, err := t.KeyValue.Put(ctx, key, value, expected, ttl)
	if err != nil {
		return 0, err
	}
	for _, e := range b.envs {
		t.sim.txIDs = append(t.sim.txIDs, e.ID)
	}
	t.sim.Publish(b.envs...)
	return v, nil
}

func (t *txStore) PutManyTx(ctx context.Context, writes []storage.Write, hook storage.TxHook) ([]uint64, error) {
	b := &txBatch{}
	if err := hook(ctx, b); err != nil {
		return nil, err
	}
	vs, err := t.KeyValue.PutMany(ctx, writes)
	if err != nil {
		return nil, err
	}
	for _, e := range b.envs {
		t.sim.txIDs = append(t.sim.txIDs, e.ID)
	}
	t.sim.Publish(b.envs...)
	return vs, nil
}

func (t *txStore) TxDomain() string { return txDomain }
