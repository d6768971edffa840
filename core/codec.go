package core

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// DecodeMessage decodes an envelope's data into its typed message. Every
// failure is a *DecodeError: unknown type, malformed JSON, or a schema
// version this build does not read.
func DecodeMessage(env Envelope) (Message, error) {
	return decodePayload(env.Type, env.ID, env.Data)
}

func decodePayload(typ, id string, data []byte) (Message, error) {
	mk, ok := messageFactories[typ]
	if !ok {
		return nil, &DecodeError{Reason: fmt.Sprintf("message %s: unknown type %q", id, typ)}
	}
	m := mk()
	if len(data) == 0 {
		return nil, &DecodeError{Reason: fmt.Sprintf("message %s (%s): no data", id, typ)}
	}
	want := m.MessageType()
	if err := json.Unmarshal(data, m); err != nil {
		return nil, &DecodeError{Reason: fmt.Sprintf("message %s (%s): malformed data: %v", id, typ, err)}
	}
	// A kind field inside the data must agree with the envelope type.
	if m.MessageType() != want {
		return nil, &DecodeError{Reason: fmt.Sprintf("message %s: data kind %q does not match type %q", id, m.MessageType(), want)}
	}
	if v := *m.schema(); v != MessageSchemaVersion {
		return nil, &DecodeError{Reason: fmt.Sprintf("message %s (%s): unsupported schema version %d (this build reads %d)", id, typ, v, MessageSchemaVersion)}
	}
	return m, nil
}

// EncodeMessage renders a message payload with the current schema version.
func EncodeMessage(m Message) (json.RawMessage, error) {
	*m.schema() = MessageSchemaVersion
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.MessageType(), err)
	}
	return b, nil
}

// Out is one output of a transition: a message for a topic.
type Out struct {
	Topic     string
	Key       string
	Subject   string
	DeliverAt time.Time
	Msg       Message
}

// BuildEnvelope turns an output of handling input (inputID, emitted at
// inputTime) into an envelope emitted at now. Its id depends only on the
// input and the output's content, so handling the same input again yields
// the same ids (brokers and engines drop such duplicates) while different
// outputs never share one.
func BuildEnvelope(o Out, inputID string, inputTime time.Time, source string, now time.Time) (Envelope, error) {
	data, err := EncodeMessage(o.Msg)
	if err != nil {
		return Envelope{}, err
	}
	typ := o.Msg.MessageType()
	env := Envelope{
		Source:          source,
		SpecVersion:     SpecVersion,
		Type:            typ,
		Subject:         o.Subject,
		Time:            now.UTC(),
		DataContentType: ContentTypeJSON,
		Data:            data,
		PartitionKey:    o.Key,
		Topic:           o.Topic,
	}
	env.SetDeliverAt(o.DeliverAt)
	env.ID = DeriveID(inputTime, inputID, typ, o.Topic, o.Key, env.DeliverAt, string(data))
	return env, nil
}

// Instant is the logical instant of an envelope: when it was due if
// delayed, otherwise when it was emitted.
func Instant(env Envelope) time.Time {
	if t := env.DeliverAtTime(); !t.IsZero() && t.After(env.Time) {
		return t
	}
	return env.Time
}

// ChildID derives an id that depends only on parent and a label, e.g. the
// id of a synthetic message created while handling another.
func ChildID(at time.Time, parent string, label string, n int) string {
	return DeriveID(at, parent, label, strconv.Itoa(n))
}
