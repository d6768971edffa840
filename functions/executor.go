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
}

// Executor is the executor role: it runs task attempts and workflow tasks
// with user code and reports their outcome to the caller's state engine.
type Executor struct {
	cfg ExecutorConfig
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
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Executor{cfg: cfg}, nil
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
	var outs []core.Out
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
		outs = core.DecideTask(m, outcome, policy, finished, x.cfg.Rand())
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
			envs, err := x.envelopes(in, outs, finished)
			if err != nil {
				return Result{}, err
			}
			return Result{Outputs: append(append(envs, started), evs...)}, failure
		}
	case *core.ExecuteWorkflowTask:
		if m.Method == nil || m.WorkflowID == "" || m.TaskID == "" {
			return Result{}, Permanent(fmt.Sprintf("ExecuteWorkflowTask %s names no workflow id, task id or method", in.ID), nil)
		}
		res, err := x.cfg.Registry.RunWorkflowTask(m)
		if err != nil {
			failure = Permanent(err.Error(), nil)
		}
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
	default:
		return Result{}, Permanent(fmt.Sprintf("message type %s is not handled by the executor", in.Type), nil)
	}
	envs, err := x.envelopes(in, outs, now)
	if err != nil {
		return Result{}, err
	}
	return Result{Outputs: envs}, failure
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
