package functions

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/weftio/weft/core"
)

// EventSink receives one lifecycle event: env is its CloudEvent (type
// "weft.event.<kind>", subject the workflow or task id), ev its decoded
// data. An error asks for the event again later (at-least-once); a
// Permanent error sends it to the dead-letter topic instead.
type EventSink func(ctx context.Context, env core.Envelope, ev *core.Event) error

// EventListenerConfig configures the event-listener role.
type EventListenerConfig struct {
	// Workflows and Services whose event topics are consumed.
	Workflows []string
	Services  []string
	// Sink receives every event (required).
	Sink EventSink
}

// EventListener is the event-listener role: it hands every lifecycle
// event of its workflows and services to a sink. Run it under a consumer
// group of its own so it sees every event, and can start over.
type EventListener struct {
	cfg EventListenerConfig
}

// NewEventListener validates cfg and returns the role.
func NewEventListener(cfg EventListenerConfig) (*EventListener, error) {
	if cfg.Sink == nil {
		return nil, errors.New("event listener: Sink is required")
	}
	if len(cfg.Workflows)+len(cfg.Services) == 0 {
		return nil, errors.New("event listener: no workflow or service")
	}
	return &EventListener{cfg: cfg}, nil
}

// Name implements Function.
func (l *EventListener) Name() string { return "event-listener" }

// Subscriptions implements Function.
func (l *EventListener) Subscriptions() []Subscription {
	var subs []Subscription
	for _, w := range l.cfg.Workflows {
		subs = append(subs, Subscription{Topic: core.Topic(core.PrefixWorkflowEvents, w)})
	}
	for _, s := range l.cfg.Services {
		subs = append(subs, Subscription{Topic: core.Topic(core.PrefixTaskEvents, s)})
	}
	return subs
}

// Handle implements Function.
func (l *EventListener) Handle(ctx context.Context, in core.Envelope) (Result, error) {
	if !core.IsEventType(in.Type) {
		return Result{}, Permanent(fmt.Sprintf("message type %s is not a lifecycle event", in.Type), nil)
	}
	msg, err := core.DecodeMessage(in)
	if err != nil {
		return Result{}, err
	}
	ev, ok := msg.(*core.Event)
	if !ok {
		return Result{}, Permanent(fmt.Sprintf("message type %s is not a lifecycle event", in.Type), nil)
	}
	if err := l.deliver(ctx, in, ev); err != nil {
		if IsPermanent(err) {
			return Result{}, err
		}
		var p *sinkPanic
		if errors.As(err, &p) {
			return Result{}, err
		}
		// The sink is down or busy: retried in place, never dead-lettered.
		return Result{}, Unavailable(fmt.Errorf("event sink: %s %s: %w", in.Type, in.ID, err))
	}
	return Result{}, nil
}

// deliver hands ev to the sink, which is user code: its panic is an error
// that spends the event's delivery attempts (it ends on the dead-letter
// topic with the panic as the reason), never a crash and never a retry in
// place for ever.
func (l *EventListener) deliver(ctx context.Context, in core.Envelope, ev *core.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &sinkPanic{fmt.Sprintf("event sink panicked on %s %s: %v\n%s", in.Type, in.ID, p, debug.Stack())}
		}
	}()
	return l.cfg.Sink(ctx, in, ev)
}

// sinkPanic is a panic of the event sink, retried like a failed delivery.
type sinkPanic struct{ msg string }

func (p *sinkPanic) Error() string { return p.msg }
