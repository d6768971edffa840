package devserver

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/triggers"
	"github.com/weftio/weft/transport"
)

// EventDecoder reads a CloudEvent from a request (binary or structured
// mode).
type EventDecoder func(r *http.Request) (triggers.Event, error)

var (
	decoderMu sync.RWMutex
	decoder   EventDecoder
)

// RegisterEventDecoder makes POST /v1/events read CloudEvents; the Knative
// runtime's package (app/knative), which has the CloudEvents SDK, does.
func RegisterEventDecoder(d EventDecoder) {
	decoderMu.Lock()
	defer decoderMu.Unlock()
	decoder = d
}

func eventDecoder() EventDecoder {
	decoderMu.RLock()
	defer decoderMu.RUnlock()
	return decoder
}

// Events are what POST /v1/events needs: the configured triggers and where
// their commands (and the dead-letter entries of refused events) go.
type Events struct {
	Triggers *triggers.Mapper
	Publish  func(ctx context.Context, envs ...core.Envelope) error
}

// events maps a posted CloudEvent to its command and publishes it: 202
// with the envelopes' ids; 422 with the reason, and a dead-letter entry,
// when no trigger maps it or it does not fit.
func (s *server) events(w http.ResponseWriter, r *http.Request) {
	decode := eventDecoder()
	if decode == nil {
		writeError(w, http.StatusNotImplemented, `this binary cannot read CloudEvents: import _ "github.com/weftio/weft/app/knative" in its main package`)
		return
	}
	if s.ev.Triggers == nil || s.ev.Publish == nil {
		writeError(w, http.StatusUnprocessableEntity, "no trigger is configured (WEFT_TRIGGERS, or triggers in the configuration file)")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	e, err := decode(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "not a CloudEvent: "+err.Error())
		return
	}
	envs, err := s.ev.Triggers.Map(e, time.Now())
	if err != nil {
		body := e.Data()
		_, entry := transport.DeadLetter(triggers.Topic(e.Type()), e.Subject(), body, err.Error(), 1, time.Now())
		if env, derr := core.DecodeEnvelope(entry); derr == nil {
			if perr := s.ev.Publish(r.Context(), env); perr != nil {
				writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("%v; and dead-lettering it failed: %v", err, perr))
				return
			}
		}
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if err := s.ev.Publish(r.Context(), envs...); err != nil {
		writeError(w, http.StatusServiceUnavailable, "publishing the command failed: "+err.Error())
		return
	}
	ids := make([]string, len(envs))
	for i, env := range envs {
		ids[i] = env.ID
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"commands": ids})
}
