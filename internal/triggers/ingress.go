package triggers

import (
	"context"
	"errors"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
)

// Ingress is the function that maps the CloudEvents users publish on a
// topic of theirs (structured-mode JSON, the form they take on a broker)
// to commands: WEFT_TRIGGERS_TOPIC. It runs beside the executor, which
// has the workflows' code to check inputs against.
type Ingress struct {
	topic string
	m     *Mapper
	now   func() time.Time
}

// NewIngress consumes topic with the mapper's triggers.
func NewIngress(topic string, m *Mapper) (*Ingress, error) {
	if topic == "" || m == nil {
		return nil, errors.New("triggers: an ingress needs a topic and triggers")
	}
	if _, _, err := core.SplitTopic(topic); err != nil {
		return nil, err
	}
	return &Ingress{topic: topic, m: m, now: time.Now}, nil
}

// Name implements functions.Function.
func (i *Ingress) Name() string { return "triggers" }

// Subscriptions implements functions.Function: the topic, shared by every
// replica (no order: each event is one command).
func (i *Ingress) Subscriptions() []functions.Subscription {
	return []functions.Subscription{{Topic: i.topic}}
}

// Handle implements functions.Function for an input that is a weft
// envelope already, which has no business on the topic.
func (i *Ingress) Handle(_ context.Context, in core.Envelope) (functions.Result, error) {
	return functions.Result{}, functions.Permanent("a weft envelope ("+in.Type+") on the triggers topic "+i.topic+": it takes users' CloudEvents", nil)
}

// HandleRaw maps one CloudEvent to its command's envelopes; an event that
// cannot be mapped is a permanent error with the reason (dead-lettered).
func (i *Ingress) HandleRaw(_ context.Context, body []byte) (functions.Result, error) {
	e, err := ParseStructured(body)
	if err != nil {
		return functions.Result{}, functions.Permanent("not a CloudEvent", err)
	}
	envs, err := i.m.Map(e, i.now())
	if err != nil {
		return functions.Result{}, functions.Permanent("cannot be mapped", err)
	}
	return functions.Result{Outputs: envs}, nil
}
