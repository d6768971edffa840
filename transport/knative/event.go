package knative

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/weftio/weft/core"
)

// The CloudEvents extension attributes of weft's envelopes. wefttopic
// routes an event (a Trigger filters on it, exactly or by prefix);
// weftprefix is the topic's prefix alone (workflow-engine, task-executor,
// ...), for Triggers of the classic exact filter that send a role all of
// its topics.
const (
	ExtTopic        = "wefttopic"
	ExtPrefix       = "weftprefix"
	ExtPartitionKey = "partitionkey"
	ExtDeliverAt    = "deliverat"
	ExtTraceParent  = "traceparent"
	ExtDLQReason    = "weftdlqreason"
	ExtDLQAttempts  = "weftdlqattempts"
)

// reserved are the extensions weft sets itself: K_CE_OVERRIDES may not
// replace them.
var reserved = map[string]bool{ExtTopic: true, ExtPrefix: true, ExtPartitionKey: true, ExtDeliverAt: true,
	ExtTraceParent: true, ExtDLQReason: true, ExtDLQAttempts: true}

// ToEvent renders an envelope as a CloudEvent: its attributes as the
// event's, its routing as extensions, its data as the JSON body. The
// overrides (K_CE_OVERRIDES' extensions) are added, but never over weft's
// own.
func ToEvent(env core.Envelope, overrides map[string]string) (event.Event, error) {
	if env.SpecVersion == "" {
		env.SpecVersion = core.SpecVersion
	}
	if err := env.Validate(); err != nil {
		return event.Event{}, err
	}
	e := event.New(event.CloudEventsVersionV1)
	e.SetID(env.ID)
	e.SetSource(env.Source)
	e.SetType(env.Type)
	if env.Subject != "" {
		e.SetSubject(env.Subject)
	}
	if !env.Time.IsZero() {
		e.SetTime(env.Time)
	}
	e.SetDataContentType(core.ContentTypeJSON)
	data := env.Data
	if len(data) == 0 {
		data = []byte("null")
	}
	e.DataEncoded = data
	for k, v := range overrides {
		if !reserved[k] {
			e.SetExtension(k, v)
		}
	}
	e.SetExtension(ExtTopic, env.Topic)
	if prefix, _, err := core.SplitTopic(env.Topic); err == nil {
		e.SetExtension(ExtPrefix, prefix)
	}
	set := func(name, v string) {
		if v != "" {
			e.SetExtension(name, v)
		}
	}
	set(ExtPartitionKey, env.PartitionKey)
	set(ExtDeliverAt, env.DeliverAt)
	set(ExtTraceParent, env.TraceParent)
	set(ExtDLQReason, env.DeadLetterReason)
	if env.DeadLetterAttempts > 0 {
		e.SetExtension(ExtDLQAttempts, strconv.Itoa(env.DeadLetterAttempts))
	}
	if err := e.Validate(); err != nil {
		return event.Event{}, fmt.Errorf("envelope %s as a CloudEvent: %w", env.ID, err)
	}
	return e, nil
}

// ErrNotWeft is wrapped by FromEvent's error for an event without the
// wefttopic extension: an event of someone else's, which a trigger mapping
// may turn into a command but which is no envelope.
var ErrNotWeft = errors.New("not a weft envelope (no wefttopic extension)")

// FromEvent reads a weft envelope from a CloudEvent (received in binary or
// structured mode). The error is a *core.DecodeError, naming what is
// wrong, when the event is not a valid envelope.
func FromEvent(e event.Event) (core.Envelope, error) {
	ext := e.Extensions()
	str := func(name string) (string, error) {
		v, ok := ext[name]
		if !ok {
			return "", nil
		}
		s, err := types.ToString(v)
		if err != nil {
			return "", &core.DecodeError{Reason: fmt.Sprintf("event %s: extension %s: %v", e.ID(), name, err)}
		}
		return s, nil
	}
	topic, err := str(ExtTopic)
	if err != nil {
		return core.Envelope{}, err
	}
	if topic == "" {
		return core.Envelope{}, fmt.Errorf("event %s of type %q: %w", e.ID(), e.Type(), ErrNotWeft)
	}
	ct := e.DataContentType()
	if base, _, _ := strings.Cut(ct, ";"); ct != "" && strings.TrimSpace(base) != core.ContentTypeJSON {
		return core.Envelope{}, &core.DecodeError{Reason: fmt.Sprintf("event %s: datacontenttype %q, want %s", e.ID(), ct, core.ContentTypeJSON)}
	}
	env := core.Envelope{
		ID:              e.ID(),
		Source:          e.Source(),
		SpecVersion:     e.SpecVersion(),
		Type:            e.Type(),
		Subject:         e.Subject(),
		Time:            e.Time(),
		DataContentType: core.ContentTypeJSON,
		Data:            e.Data(),
		Topic:           topic,
	}
	for _, f := range []struct {
		name string
		to   *string
	}{{ExtPartitionKey, &env.PartitionKey}, {ExtDeliverAt, &env.DeliverAt}, {ExtTraceParent, &env.TraceParent}, {ExtDLQReason, &env.DeadLetterReason}} {
		if *f.to, err = str(f.name); err != nil {
			return core.Envelope{}, err
		}
	}
	if n, err := str(ExtDLQAttempts); err != nil {
		return core.Envelope{}, err
	} else if n != "" {
		if env.DeadLetterAttempts, err = strconv.Atoi(n); err != nil {
			return core.Envelope{}, &core.DecodeError{Reason: fmt.Sprintf("event %s: %s %q is not a number", e.ID(), ExtDLQAttempts, n)}
		}
	}
	if len(env.Data) == 0 {
		env.Data = []byte("null")
	}
	if !env.Time.IsZero() {
		env.Time = env.Time.UTC()
	}
	if !json.Valid(env.Data) {
		return core.Envelope{}, &core.DecodeError{Reason: fmt.Sprintf("event %s: data is not JSON", e.ID())}
	}
	if err := env.Validate(); err != nil {
		return core.Envelope{}, &core.DecodeError{Reason: err.Error()}
	}
	if len(env.Data) > core.MaxEnvelopeSize {
		return core.Envelope{}, &core.DecodeError{Reason: fmt.Sprintf("event %s: %d bytes of data exceed the %d byte limit", e.ID(), len(env.Data), core.MaxEnvelopeSize)}
	}
	return env, nil
}

// parseOverrides reads K_CE_OVERRIDES, {"extensions":{"name":"value"}},
// which Knative sets for a SinkBinding's subject ("" gives none).
func parseOverrides(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return map[string]string{}, nil
	}
	var o struct {
		Extensions map[string]any `json:"extensions"`
	}
	if err := json.Unmarshal([]byte(s), &o); err != nil {
		return nil, fmt.Errorf("K_CE_OVERRIDES is not JSON of the form {\"extensions\":{...}}: %w", err)
	}
	out := make(map[string]string, len(o.Extensions))
	for k, v := range o.Extensions {
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64, bool:
			out[k] = fmt.Sprint(v)
		default:
			return nil, fmt.Errorf("K_CE_OVERRIDES: extension %s is %T, want a string, number or boolean", k, v)
		}
	}
	return out, nil
}
