package triggers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"time"
)

// structured is a CloudEvent read from its structured-mode JSON (the form
// it takes on a broker topic).
type structured struct {
	id, source, typ, subject, contentType string
	time                                  time.Time
	ext                                   map[string]any
	data                                  []byte
}

func (e *structured) ID() string                 { return e.id }
func (e *structured) Source() string             { return e.source }
func (e *structured) Type() string               { return e.typ }
func (e *structured) Subject() string            { return e.subject }
func (e *structured) Time() time.Time            { return e.time }
func (e *structured) Extensions() map[string]any { return e.ext }
func (e *structured) Data() []byte               { return e.data }
func (e *structured) DataMediaType() string {
	mt, _, err := mime.ParseMediaType(e.contentType)
	if err != nil {
		return e.contentType
	}
	return mt
}

// MaxStructuredEvent bounds a structured event's size.
const MaxStructuredEvent = 1 << 20

// ParseStructured reads a CloudEvent in structured-mode JSON
// (specversion 1.0): its attributes, extensions, and data or data_base64.
func ParseStructured(b []byte) (Event, error) {
	if len(b) > MaxStructuredEvent {
		return nil, fmt.Errorf("CloudEvent of %d bytes exceeds the %d byte limit", len(b), MaxStructuredEvent)
	}
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a CloudEvent in structured JSON: %w", err)
	}
	str := func(name string) (string, error) {
		raw, ok := m[name]
		if !ok {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("CloudEvent attribute %s is not a string", name)
		}
		return s, nil
	}
	e := &structured{ext: map[string]any{}}
	var errs []error
	for name, to := range map[string]*string{"id": &e.id, "source": &e.source, "type": &e.typ, "subject": &e.subject, "datacontenttype": &e.contentType} {
		v, err := str(name)
		if err != nil {
			errs = append(errs, err)
		}
		*to = v
	}
	if v, err := str("specversion"); err != nil || v != "1.0" {
		errs = append(errs, fmt.Errorf("CloudEvent specversion %q, want 1.0", v))
	}
	for _, req := range []struct{ name, v string }{{"id", e.id}, {"source", e.source}, {"type", e.typ}} {
		if req.v == "" {
			errs = append(errs, fmt.Errorf("CloudEvent without %s", req.name))
		}
	}
	if t, err := str("time"); err != nil {
		errs = append(errs, err)
	} else if t != "" {
		if e.time, err = time.Parse(time.RFC3339Nano, t); err != nil {
			errs = append(errs, fmt.Errorf("CloudEvent time %q is not RFC 3339", t))
		}
	}
	if raw, ok := m["data_base64"]; ok {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			errs = append(errs, errors.New("CloudEvent data_base64 is not a string"))
		} else if e.data, err = base64.StdEncoding.DecodeString(s); err != nil {
			errs = append(errs, fmt.Errorf("CloudEvent data_base64: %v", err))
		}
	} else if raw, ok := m["data"]; ok {
		e.data = raw
		if e.contentType == "" {
			e.contentType = "application/json"
		}
		var s string
		if mt := e.DataMediaType(); mt != "application/json" && json.Unmarshal(raw, &s) == nil {
			e.data = []byte(s) // text data is a JSON string in structured mode
		}
	}
	for name, raw := range m {
		switch name {
		case "id", "source", "type", "subject", "datacontenttype", "specversion", "time", "data", "data_base64", "dataschema":
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			continue
		}
		e.ext[name] = v
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return e, nil
}
