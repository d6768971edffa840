package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SpecVersion is the CloudEvents specification version every envelope uses.
const SpecVersion = "1.0"

// ContentTypeJSON is the only data content type weft produces or accepts.
const ContentTypeJSON = "application/json"

// MaxEnvelopeSize is the largest encoded envelope accepted by DecodeEnvelope.
// Larger inputs are rejected before parsing so a hostile message cannot make a
// function allocate without bound.
const MaxEnvelopeSize = 8 << 20

// Envelope is one message on the wire: a CloudEvents 1.0 event in structured
// JSON mode. Data holds the typed message (see Message) as JSON. The
// extensions route the event: Topic is its destination, PartitionKey keeps
// per-key order, DeliverAt delays it.
type Envelope struct {
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	SpecVersion     string          `json:"specversion"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject,omitempty"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`

	PartitionKey string `json:"partitionkey,omitempty"`
	Topic        string `json:"wefttopic"`
	DeliverAt    string `json:"deliverat,omitempty"`
	TraceParent  string `json:"traceparent,omitempty"`
	// DeadLetterReason is set on envelopes written to a dead-letter topic.
	DeadLetterReason string `json:"weftdlqreason,omitempty"`
	// Attempt is set on dead-letter entries: how many deliveries were tried.
	DeadLetterAttempts int `json:"weftdlqattempts,omitempty"`
}

// DeliverAtTime returns the delivery instant, or the zero time when the
// envelope is not delayed or the value cannot be parsed (Validate rejects the
// latter before it gets this far).
func (e Envelope) DeliverAtTime() time.Time {
	if e.DeliverAt == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, e.DeliverAt)
	if err != nil {
		return time.Time{}
	}
	return t
}

// SetDeliverAt delays the envelope until t; the zero time clears the delay.
func (e *Envelope) SetDeliverAt(t time.Time) {
	if t.IsZero() {
		e.DeliverAt = ""
		return
	}
	e.DeliverAt = t.UTC().Format(time.RFC3339Nano)
}

// Validate checks the attributes every envelope must carry.
func (e Envelope) Validate() error {
	var missing []string
	if e.ID == "" {
		missing = append(missing, "id")
	}
	if e.Source == "" {
		missing = append(missing, "source")
	}
	if e.Type == "" {
		missing = append(missing, "type")
	}
	if e.Topic == "" {
		missing = append(missing, "wefttopic")
	}
	if len(missing) > 0 {
		return fmt.Errorf("envelope: missing required attribute(s) %s", strings.Join(missing, ", "))
	}
	if e.SpecVersion != SpecVersion {
		return fmt.Errorf("envelope %s: unsupported specversion %q (want %q)", e.ID, e.SpecVersion, SpecVersion)
	}
	if e.DataContentType != "" && e.DataContentType != ContentTypeJSON {
		return fmt.Errorf("envelope %s: unsupported datacontenttype %q (want %q)", e.ID, e.DataContentType, ContentTypeJSON)
	}
	if e.DeliverAt != "" {
		if _, err := time.Parse(time.RFC3339Nano, e.DeliverAt); err != nil {
			return fmt.Errorf("envelope %s: deliverat %q is not RFC 3339", e.ID, e.DeliverAt)
		}
	}
	return nil
}

// EncodeEnvelope renders e as structured-mode CloudEvents JSON.
func EncodeEnvelope(e Envelope) ([]byte, error) {
	if e.SpecVersion == "" {
		e.SpecVersion = SpecVersion
	}
	if e.DataContentType == "" {
		e.DataContentType = ContentTypeJSON
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep payloads byte for byte, and their size
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("envelope %s: %w", e.ID, err)
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	if len(b) > MaxEnvelopeSize {
		return nil, fmt.Errorf("envelope %s: %d bytes exceeds the %d byte limit", e.ID, len(b), MaxEnvelopeSize)
	}
	return b, nil
}

// DecodeEnvelope parses structured-mode CloudEvents JSON and validates it.
// The error names what was wrong; it is always a *DecodeError so callers can
// route the input to a dead-letter topic.
func DecodeEnvelope(b []byte) (Envelope, error) {
	var e Envelope
	if len(b) > MaxEnvelopeSize {
		return e, &DecodeError{Reason: fmt.Sprintf("envelope of %d bytes exceeds the %d byte limit", len(b), MaxEnvelopeSize)}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&e); err != nil {
		return Envelope{}, &DecodeError{Reason: "malformed envelope JSON: " + err.Error()}
	}
	if rest := bytes.TrimSpace(b[dec.InputOffset():]); len(rest) > 0 {
		return Envelope{}, &DecodeError{Reason: "malformed envelope JSON: trailing data after the event"}
	}
	if err := e.Validate(); err != nil {
		return Envelope{}, &DecodeError{Reason: err.Error()}
	}
	return e, nil
}

// DecodeError reports input that can never be processed: retrying it cannot
// help, so it belongs on a dead-letter topic with Reason.
type DecodeError struct {
	Reason string
}

func (e *DecodeError) Error() string { return "undecodable message: " + e.Reason }
