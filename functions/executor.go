package functions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/storage"
)

// ExecutorConfig configures the executor role.
type ExecutorConfig struct {
	// Registry holds the task and workflow code (required).
	Registry *weft.Registry
	// Services and Workflows select whose topics are consumed (default:
	// everything registered).
	Services  []string
	Workflows []string
	Source    string
	// Clock returns the wall clock (default time.Now); Rand a uniform
	// number in [0, 1) for retry jitter (default math/rand/v2).
	Clock  func() time.Time
	Rand   func() float64
	Logger *slog.Logger
	// Events makes the executor emit task lifecycle events (started,
	// completed, retry scheduled, failed, delegated) on task-events:<S>.
	Events bool
	// MaxMessageSize is the largest envelope the transport takes (default
	// core.MaxEnvelopeSize): a task result or workflow task result over it
	// fails the task or the method with ErrPayloadTooLarge.
	MaxMessageSize int
	// Runner runs workflow tasks (default: Registry, replaying each from
	// the start); a *weft.Sessions resumes suspended runs instead.
	Runner WorkflowRunner
	// Store is the state engines' storage, from which the history pages a
	// workflow task only names are read (see
	// StateEngineConfig.HistoryByReference).
	Store storage.KeyValue
}

// Executor is the executor role: it runs task attempts and workflow tasks
// with user code and reports their outcome to the caller's state engine.
type Executor struct {
	cfg     ExecutorConfig
	history *history // nil without a Store
}

// NewExecutor validates cfg and returns the role.
func NewExecutor(cfg ExecutorConfig) (*Executor, error) {
	if cfg.Registry == nil {
		return nil, errors.New("executor: Registry is required")
	}
	if cfg.Services == nil {
		cfg.Services = cfg.Registry.Services()
	}
	if cfg.Workflows == nil {
		cfg.Workflows = cfg.Registry.Workflows()
	}
	if len(cfg.Services) == 0 && len(cfg.Workflows) == 0 {
		return nil, errors.New("executor: no service or workflow to execute")
	}
	if cfg.Source == "" {
		cfg.Source = "weft/executor"
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.MaxMessageSize <= 0 || cfg.MaxMessageSize > core.MaxEnvelopeSize {
		cfg.MaxMessageSize = core.MaxEnvelopeSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	x := &Executor{cfg: cfg}
	if cfg.Store != nil {
		x.history = newHistory(cfg.Store)
	}
	return x, nil
}

// Name implements Function.
func (x *Executor) Name() string { return "executor" }

// Subscriptions implements Function.
func (x *Executor) Subscriptions() []Subscription {
	var subs []Subscription
	for _, s := range x.cfg.Services {
		subs = append(subs,
			Subscription{Topic: core.Topic(core.PrefixTaskExecutor, s)},
			Subscription{Topic: core.Topic(core.PrefixTaskRetry, s)})
	}
	for _, w := range x.cfg.Workflows {
		subs = append(subs,
			Subscription{Topic: core.Topic(core.PrefixWorkflowTaskExecutor, w), Keyed: true},
			Subscription{Topic: core.Topic(core.PrefixWorkflowTaskRetry, w)})
	}
	return subs
}

// Handle implements Function.
func (x *Executor) Handle(ctx context.Context, in core.Envelope) (Result, error) {
	msg, err := core.DecodeMessage(in)
	if err != nil {
		return Result{}, err
	}
	now := x.cfg.Clock()
	var failure error
	switch m := msg.(type) {
	case *core.ExecuteTask:
		if m.TaskID == "" || m.Service == "" || m.Method == "" {
			return Result{}, Permanent(fmt.Sprintf("ExecuteTask %s names no task id, service or method", in.ID), nil)
		}
		outcome, policy, err := x.cfg.Registry.RunTask(ctx, m)
		if err != nil {
			ce := core.AsError(err)
			if ce == nil || ce.Code != core.CodeNotRegistered {
				return Result{}, err // interrupted: redeliver
			}
			failure = Permanent(ce.Error(), nil)
			outcome = core.TaskOutcome{Failure: &core.Failure{Type: string(ce.Code), Message: ce.Error()}, Cause: ce}
		}
		finished := x.cfg.Clock()
		outs, envs, err := x.decide(in, m, outcome, policy, finished)
		if err != nil {
			return Result{}, err
		}
		if x.cfg.Events {
			// Started carries the start instant; the outcome's events the end.
			started, err := core.BuildEnvelope(core.EventOut(core.TaskEvent(core.EventTaskStarted, m)), in.ID, in.Time, x.cfg.Source, now)
			if err != nil {
				return Result{}, Permanent("event does not encode", err)
			}
			evs, err := x.envelopes(in, core.TaskOutcomeEvents(m, outs), finished)
			if err != nil {
				return Result{}, err
			}
			envs = append(append(envs, started), evs...)
		}
		return Result{Outputs: envs}, failure
	case *core.ExecuteWorkflowTask:
		if m.Method == nil || m.WorkflowID == "" || m.TaskID == "" {
			return Result{}, Permanent(fmt.Sprintf("ExecuteWorkflowTask %s names no workflow id, task id or method", in.ID), nil)
		}
		if len(m.Method.Pages) > 0 && x.history == nil {
			return Result{}, Permanent(fmt.Sprintf("ExecuteWorkflowTask %s names history pages: this executor needs the workflow states' storage (ExecutorConfig.Store) to read them", in.ID), nil)
		}
		full := func() (*core.ExecuteWorkflowTask, error) { return x.history.expand(ctx, m, nil) }
		var res core.Message
		var err error
		if x.cfg.Runner != nil {
			res, err = x.cfg.Runner.RunWorkflowTask(m, full)
		} else if whole, ferr := full(); ferr != nil {
			err = ferr
		} else {
			res, err = x.cfg.Registry.RunWorkflowTask(whole)
		}
		if res == nil {
			if errors.Is(err, errPageGone) && x.stale(ctx, m) {
				// The run moved on or ended (its pages went with it): a late
				// copy of a task whose result would be stale anyway.
				x.cfg.Logger.Info("stale workflow task dropped", "workflow", m.Workflow, "id", m.WorkflowID, "task", m.TaskID)
				return Result{}, nil
			}
			return Result{}, err // the history could not be read
		}
		if err != nil {
			failure = Permanent(err.Error(), nil)
		}
		res = core.FitResult(m, res, x.cfg.MaxMessageSize)
		// The result carries the id and instant the fast path applies it
		// with, so both paths record the same history.
		in := core.ResultInput(m, res)
		env, err := core.BuildEnvelope(core.Out{Topic: core.Topic(core.PrefixWorkflowEngine, m.Workflow), Key: m.WorkflowID, Subject: m.WorkflowID, Msg: res},
			in.ID, in.Instant, x.cfg.Source, in.Instant)
		if err != nil {
			return Result{}, Permanent("output does not encode", err)
		}
		env.ID = in.ID
		return Result{Outputs: []core.Envelope{env}}, failure
	}
	return Result{}, Permanent(fmt.Sprintf("message type %s is not handled by the executor", in.Type), nil)
}

// decide turns a task attempt's outcome into its outputs. An output that
// cannot be published (a result, or a retry carrying the failure, over
// the message limit) makes the attempt fail with a payload-too-large
// error instead, through the retry policy: the caller is told, rather than
// the attempt running again and again.
func (x *Executor) decide(in core.Envelope, m *core.ExecuteTask, o core.TaskOutcome, p core.RetryPolicy, at time.Time) ([]core.Out, []core.Envelope, error) {
	for try := 0; ; try++ {
		outs := core.DecideTask(m, o, p, at, x.cfg.Rand())
		envs, err := x.envelopes(in, outs, at)
		if err != nil {
			return nil, nil, err
		}
		size, fits := 0, true
		for _, env := range envs {
			if n, ok := core.EnvelopeFits(env, x.cfg.MaxMessageSize); !ok {
				size, fits = n, false
				break
			}
		}
		switch {
		case fits:
			return outs, envs, nil
		case try == 0:
			cause := core.TooLarge("the task's "+outputName(o), size, x.cfg.MaxMessageSize)
			cause.Service, cause.Method, cause.TaskID = m.Service, m.Method, m.TaskID
			o = core.TaskOutcome{Failure: &core.Failure{Type: string(core.CodePayloadTooLarge), Message: cause.Message}, Retryable: true, Cause: cause}
		case try == 1 && o.Retryable:
			o.Retryable = false // the retry itself does not fit: the task fails now
		default:
			return nil, nil, Permanent(fmt.Sprintf("ExecuteTask %s: no output fits in %d bytes", m.TaskID, x.cfg.MaxMessageSize), nil)
		}
	}
}

func outputName(o core.TaskOutcome) string {
	if o.Failure != nil {
		return "failure"
	}
	return "result"
}

// stale reports whether workflow task t is no longer the one running on
// its instance, as stored: the instance is gone or ended, or runs another.
func (x *Executor) stale(ctx context.Context, t *core.ExecuteWorkflowTask) bool {
	raw, version, err := x.cfg.Store.Get(ctx, core.StateKey(t.WorkflowID))
	if err != nil {
		return false
	}
	if version == 0 {
		return true
	}
	st, err := core.DecodeState(raw)
	return err == nil && (st.Result != nil || st.Running == nil || st.Running.ID != t.TaskID)
}

func (x *Executor) envelopes(in core.Envelope, outs []core.Out, now time.Time) ([]core.Envelope, error) {
	envs := make([]core.Envelope, 0, len(outs))
	for _, o := range outs {
		env, err := core.BuildEnvelope(o, in.ID, in.Time, x.cfg.Source, now)
		if err != nil {
			return nil, Permanent("output does not encode", err)
		}
		envs = append(envs, env)
	}
	return envs, nil
}
