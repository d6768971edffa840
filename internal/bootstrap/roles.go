package bootstrap

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/triggers"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/transport"
)

// Roles is what the roles of one process are built from.
type Roles struct {
	Config *config.Config
	// Registry holds the binary's code; empty in the role binaries that
	// need none (state engine, tag engine, event listener).
	Registry  *weft.Registry
	Transport transport.Transport
	Store     storage.KeyValue
	Tags      storage.KeySet
	// Sink receives lifecycle events (the event listener needs one).
	Sink   functions.EventSink
	Logger *slog.Logger
	// Sessions keeps the code of suspended method runs parked for the
	// fast path and the executor (nil: none).
	Sessions *weft.Sessions
	// Triggers map the CloudEvents of WEFT_TRIGGERS_TOPIC, consumed
	// beside the executor (nil: none).
	Triggers *triggers.Mapper
}

// Names returns the workflows and services the roles serve: WEFT_WORKFLOWS
// and WEFT_SERVICES when set, else what the registry holds.
func (r Roles) Names() (workflows, services []string) {
	workflows, services = config.List(r.Config.Workflows), config.List(r.Config.Services)
	if r.Config.Workflows == "" && r.Registry != nil {
		workflows = r.Registry.Workflows()
	}
	if r.Config.Services == "" && r.Registry != nil {
		services = r.Registry.Services()
	}
	return workflows, services
}

// Functions builds the handler of each role named in roles, in that
// order. An error names the role and what it lacks.
func (r Roles) Functions(roles []config.Role) ([]functions.Function, error) {
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.Registry == nil {
		r.Registry = weft.NewRegistry()
	}
	cfg := r.Config
	workflows, services := r.Names()
	events := cfg.Events.Enabled || r.Sink != nil
	maxSize := r.Transport.Capabilities().MaxMessageSize
	var fns []functions.Function
	for _, role := range roles {
		var fn functions.Function
		var err error
		switch role {
		case config.RoleStateEngine:
			if len(workflows) == 0 {
				return nil, errors.New("state-engine: no workflow to serve: register workflows in the binary or name them in WEFT_WORKFLOWS")
			}
			var local functions.WorkflowRunner
			var localTasks functions.TaskRunner
			if cfg.Engine.FastPath && r.Sessions != nil && len(r.Registry.Workflows()) > 0 {
				local, localTasks = r.Sessions, r.Registry
			}
			var grace time.Duration
			if !r.Transport.Capabilities().KeyedOrder {
				grace = cfg.Engine.MissingGrace
			}
			fn, err = functions.NewStateEngine(functions.StateEngineConfig{Workflows: workflows, Store: r.Store, Local: local, LocalTasks: localTasks, MissingGrace: grace,
				Events: events, MaxMessageSize: maxSize, HistoryByReference: true, Retention: cfg.Engine.Retention,
				CacheSize: cfg.Engine.StateCache, Logger: r.Logger.With("role", string(role)), Serves: r.serves(services)})
		case config.RoleTagEngine:
			if len(workflows)+len(services) == 0 {
				return nil, errors.New("tag-engine: no workflow or service to serve: register them in the binary or name them in WEFT_WORKFLOWS and WEFT_SERVICES")
			}
			fn, err = functions.NewTagEngine(functions.TagEngineConfig{Workflows: workflows, Services: services, Tags: r.Tags,
				Store: r.Store, Retention: cfg.Engine.Retention, Events: events, Logger: r.Logger.With("role", string(role))})
		case config.RoleExecutor:
			fn, err = r.executor(workflows, services, events, maxSize)
			if err == nil && cfg.TriggersTopic != "" {
				if r.Triggers == nil {
					return nil, errors.New("WEFT_TRIGGERS_TOPIC: no triggers to map its events by (WEFT_TRIGGERS)")
				}
				in, ierr := triggers.NewIngress(cfg.TriggersTopic, r.Triggers)
				if ierr != nil {
					return nil, fmt.Errorf("WEFT_TRIGGERS_TOPIC: %w", ierr)
				}
				fns = append(fns, in)
			}
		case config.RoleEventListener:
			if r.Sink == nil {
				return nil, errors.New("event-listener: no sink to hand events to: set WEFT_EVENTS_SINK (or run it where $K_SINK is set)")
			}
			if len(workflows)+len(services) == 0 {
				return nil, errors.New("event-listener: no workflow or service whose events to read: name them in WEFT_WORKFLOWS and WEFT_SERVICES")
			}
			fn, err = functions.NewEventListener(functions.EventListenerConfig{Workflows: workflows, Services: services, Sink: r.Sink})
		default:
			return nil, fmt.Errorf("unknown role %q", role)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", role, err)
		}
		fns = append(fns, fn)
	}
	return fns, nil
}

// executor builds the executor of the named workflows and services, which
// must all have their code in the binary.
func (r Roles) executor(workflows, services []string, events bool, maxSize int) (functions.Function, error) {
	if len(r.Registry.Workflows())+len(r.Registry.Services()) == 0 {
		return nil, errors.New("executor: no service or workflow is registered in this binary: the executor runs user code, " +
			"so build it from a main that registers them (see functions/executor)")
	}
	for _, w := range workflows {
		if !r.Registry.HasWorkflow(w) {
			return nil, fmt.Errorf("executor: workflow %q (WEFT_WORKFLOWS) is not registered in this binary", w)
		}
	}
	for _, s := range services {
		if !slices.Contains(r.Registry.Services(), s) {
			return nil, fmt.Errorf("executor: service %q (WEFT_SERVICES) is not registered in this binary", s)
		}
	}
	var runner functions.WorkflowRunner
	if r.Sessions != nil {
		runner = r.Sessions
	}
	return functions.NewExecutor(functions.ExecutorConfig{Registry: r.Registry, Workflows: nonNil(workflows), Services: nonNil(services),
		Events: events, MaxMessageSize: maxSize, Runner: runner, Store: r.Store, Logger: r.Logger.With("role", string(config.RoleExecutor))})
}

// serves tells the state engine which services have an executor when
// nothing but this process reads its transport (an in-memory one): a task
// of any other service would wait for ever, so it fails at once.
func (r Roles) serves(services []string) func(string) bool {
	if r.Config.Transport != "memory" {
		return nil
	}
	return func(s string) bool { return slices.Contains(services, s) }
}

// nonNil keeps an empty list from meaning "everything registered".
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
