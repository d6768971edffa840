package lambda

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/redact"
	"github.com/weftio/weft/internal/triggers"
)

// Answer is the response to a directly invoked CloudEvent.
type Answer struct {
	// Status is "handled" (an envelope, its outputs published),
	// "published" (a trigger's command), or "dead-lettered" (it can never
	// be handled; Reason says why, and the dead-letter topic has it).
	Status string `json:"status"`
	// IDs are the ids of the commands a trigger published.
	IDs    []string `json:"ids,omitempty"`
	Reason string   `json:"reason,omitempty"`
}

// cloudEvent handles a directly invoked CloudEvent: a weft envelope (it
// names its topic) is handled; any other type goes through the triggers.
// A retryable failure is the invocation's error, so an asynchronous
// invocation is retried by Lambda; one that can never succeed is
// dead-lettered and answered with the reason.
func (h *Handler) cloudEvent(ctx context.Context, payload []byte) ([]byte, error) {
	var probe struct {
		Topic string `json:"wefttopic"`
	}
	_ = json.Unmarshal(payload, &probe) // it decoded once already
	w, cancel := h.bound(ctx)
	defer cancel()
	if probe.Topic != "" {
		switch out, err := h.handleBody(w.ctx, "", "", payload, 1); out {
		case done:
			return json.Marshal(Answer{Status: "handled"})
		case dead:
			return json.Marshal(Answer{Status: "dead-lettered", Reason: err.Error()})
		default:
			return nil, fmt.Errorf("lambda: the envelope failed; invoke again: %s", redact.Text(err.Error()))
		}
	}
	e, err := triggers.ParseStructured(payload)
	if err != nil {
		return h.refuse(w.ctx, core.Topic("triggers", "unknown"), payload, err.Error())
	}
	if h.cfg.Triggers == nil {
		return h.refuse(w.ctx, triggers.Topic(e.Type()), payload,
			fmt.Sprintf("CloudEvent %s of type %q is no weft envelope and no trigger is configured (WEFT_TRIGGERS)", e.ID(), e.Type()))
	}
	envs, err := h.cfg.Triggers.Map(e, h.cfg.Now())
	if err != nil {
		return h.refuse(w.ctx, triggers.Topic(e.Type()), payload, err.Error())
	}
	if err := h.cfg.Transport.Publish(w.ctx, envs...); err != nil {
		return nil, fmt.Errorf("lambda: publishing the command failed; invoke again: %s", redact.Text(err.Error()))
	}
	a := Answer{Status: "published"}
	for _, env := range envs {
		a.IDs = append(a.IDs, env.ID)
	}
	return json.Marshal(a)
}

// refuse dead-letters an event that cannot be mapped and answers with the
// reason (no error: invoking again cannot help).
func (h *Handler) refuse(ctx context.Context, topic string, payload []byte, reason string) ([]byte, error) {
	if err := h.deadLetter(ctx, topic, "", payload, reason, 1); err != nil {
		return nil, fmt.Errorf("lambda: dead-lettering the event failed; invoke again: %w", err)
	}
	return json.Marshal(Answer{Status: "dead-lettered", Reason: reason})
}
