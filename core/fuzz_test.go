package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// canonicalJSON renders a JSON value in one canonical form (object keys
// sorted, no insignificant space, numbers kept as written), so values that
// differ only in layout or escaping compare equal. A missing value is null.
func canonicalJSON(t testing.TB, raw []byte) string {
	t.Helper()
	if len(raw) == 0 {
		return "null"
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("canonical JSON of %q: %v", raw, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// normalizedEnvelope is an envelope with the defaults EncodeEnvelope fills
// in and its data and time in canonical form.
func normalizedEnvelope(t testing.TB, e Envelope) Envelope {
	t.Helper()
	if e.SpecVersion == "" {
		e.SpecVersion = SpecVersion
	}
	if e.DataContentType == "" {
		e.DataContentType = ContentTypeJSON
	}
	e.Data = json.RawMessage(canonicalJSON(t, e.Data))
	e.Time = e.Time.UTC()
	return e
}

func FuzzDecodeEnvelope(f *testing.F) {
	full, err := EncodeEnvelope(fullEnvelope())
	if err != nil {
		f.Fatal(err)
	}
	fixture, err := os.ReadFile(filepath.Join("testdata", "envelope_structured.json"))
	if err != nil {
		f.Fatal(err)
	}
	minimal := envelopeJSON(f, nil)
	huge := envelopeJSON(f, func(m map[string]any) {
		m["subject"] = strings.Repeat("s", 64<<10)
		m["data"] = map[string]any{"v": 1, "blob": strings.Repeat("<&>\u2028é", 8<<10)}
	})
	for _, seed := range [][]byte{
		full, fixture, minimal, huge,
		nil, []byte(""), []byte(" "), []byte("{}"), []byte("null"), []byte("[]"), []byte(`"x"`), []byte("garbage\x00\xff"),
		append(bytes.Clone(minimal), '}'),
		append(bytes.Clone(minimal), minimal...),
		minimal[:len(minimal)-1],
		envelopeJSON(f, func(m map[string]any) { m["time"] = "2026-01-01T05:00:00.000000001+05:00" }),
		envelopeJSON(f, func(m map[string]any) { m["deliverat"] = "2026-01-01T00:00:00-23:59" }),
		envelopeJSON(f, func(m map[string]any) { delete(m, "data"); delete(m, "datacontenttype") }),
		envelopeJSON(f, func(m map[string]any) { m["data"] = "a string \xff with invalid UTF-8" }),
		[]byte(`{"id":"1","ID":"2","source":"s","specversion":"1.0","type":"t","wefttopic":"a:b","data":{ "a" : [ 1 , 2 ] }}`),
		[]byte(`{"id":"` + strings.Repeat("\\u0000", 1000) + `","source":"s","specversion":"1.0","type":"t","wefttopic":"a:b"}`),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEnvelope(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *DecodeError", err, err)
			}
			if de.Reason == "" {
				t.Fatal("DecodeError without a reason")
			}
			return
		}
		enc, err := EncodeEnvelope(e)
		if err != nil {
			t.Fatalf("decoded envelope %+v does not re-encode: %v", e, err)
		}
		if len(enc) > MaxEnvelopeSize {
			return // see TestEncodedEnvelopeStaysWithinDecodeLimit
		}
		e2, err := DecodeEnvelope(enc)
		if err != nil {
			t.Fatalf("re-encoded envelope %s does not decode: %v", enc, err)
		}
		if !e2.Time.Equal(e.Time) || e2.Time.Format(time.RFC3339Nano) != e.Time.Format(time.RFC3339Nano) {
			t.Fatalf("time %s became %s", e.Time, e2.Time)
		}
		if a, b := normalizedEnvelope(t, e), normalizedEnvelope(t, e2); !reflect.DeepEqual(a, b) {
			t.Fatalf("re-decoded envelope differs:\n got %+v\nwant %+v", b, a)
		}
		enc2, err := EncodeEnvelope(e2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable:\n%s\n%s (%v)", enc, enc2, err)
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	for _, m := range sampleMessages() {
		data, err := EncodeMessage(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m.MessageType(), []byte(data))
	}
	for typ := range messageFactories {
		for _, data := range []string{``, `{}`, `null`, `[]`, `{"v":1}`, `{"v":2}`, `{"v":1,"kind":"TimerCompleted"}`, `{"v":1,"commands":[null]}`, `{"v":1,"method":{"commands":[{"statuses":[{}]}]}}`} {
			f.Add(typ, []byte(data))
		}
	}
	f.Add("weft.cmd.Unknown", []byte(`{"v":1}`))
	f.Add("", []byte(`{"v":1}`))
	f.Add("weft.engine.", []byte(`{"v":1,"kind":""}`))
	f.Add("weft.executor.ExecuteWorkflowTask", []byte(`{"v":1,"trigger":"0000-01-01T00:00:00+23:59","index":-1}`))
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		env := Envelope{ID: "fuzz", Type: typ, Data: data}
		m, err := DecodeMessage(env)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *DecodeError", err, err)
			}
			if m != nil {
				t.Fatalf("failed decode returned %+v", m)
			}
			return
		}
		if m.MessageType() != typ {
			t.Fatalf("decoded a %s from a %s envelope", m.MessageType(), typ)
		}
		if *m.schema() != MessageSchemaVersion {
			t.Fatalf("accepted schema version %d", *m.schema())
		}
		EngineTarget(m)
		// What decodes must re-encode to something that decodes to the same
		// thing: the state engine buffers messages in encoded form.
		d1, err := EncodeMessage(m)
		if err != nil {
			t.Fatalf("decoded %s does not re-encode: %v", typ, err)
		}
		m2, err := DecodeMessage(Envelope{ID: "fuzz", Type: typ, Data: d1})
		if err != nil {
			t.Fatalf("re-encoded %s %s does not decode: %v", typ, d1, err)
		}
		d2, err := EncodeMessage(m2)
		if err != nil || !bytes.Equal(d1, d2) {
			t.Fatalf("encoding is not stable:\n%s\n%s (%v)", d1, d2, err)
		}
	})
}
