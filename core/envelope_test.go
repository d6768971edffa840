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

// fullEnvelope has every attribute and extension set.
func fullEnvelope() Envelope {
	e := Envelope{
		ID:                 "019b7a0e-6c00-7a3f-9c1e-5b2d8e4f6a10",
		Source:             "weft/state-engine/7",
		SpecVersion:        SpecVersion,
		Type:               "weft.engine.TaskCompleted",
		Subject:            "order-42",
		Time:               time.Date(2026, 1, 1, 0, 0, 5, 123456789, time.UTC),
		DataContentType:    ContentTypeJSON,
		Data:               json.RawMessage(`{"v":1,"kind":"TaskCompleted","workflowId":"order-42","value":[1,"two",{"three":3}]}`),
		PartitionKey:       "order-42",
		Topic:              "workflow-engine:Checkout",
		TraceParent:        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		DeadLetterReason:   "unknown type",
		DeadLetterAttempts: 5,
	}
	e.SetDeliverAt(time.Date(2026, 1, 1, 0, 1, 0, 500_000_000, time.UTC))
	return e
}

// envelopeJSON renders a structured envelope from attributes, so tests can
// drop or break one attribute at a time.
func envelopeJSON(t testing.TB, edit func(map[string]any)) []byte {
	t.Helper()
	m := map[string]any{
		"id":              "m-1",
		"source":          "test",
		"specversion":     "1.0",
		"type":            "weft.cmd.SendSignal",
		"time":            "2026-01-01T00:00:00Z",
		"datacontenttype": "application/json",
		"data":            map[string]any{"v": 1},
		"wefttopic":       "workflow-cmd:W",
	}
	if edit != nil {
		edit(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEnvelopeRoundTripKeepsEveryField(t *testing.T) {
	t.Parallel()
	want := fullEnvelope()
	b, err := EncodeEnvelope(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the envelope:\n got %+v\nwant %+v", got, want)
	}
	// The extensions are top-level CloudEvents attributes with these names.
	var attrs map[string]any
	if err := json.Unmarshal(b, &attrs); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{
		"specversion":     "1.0",
		"datacontenttype": "application/json",
		"partitionkey":    "order-42",
		"wefttopic":       "workflow-engine:Checkout",
		"deliverat":       "2026-01-01T00:01:00.5Z",
		"traceparent":     want.TraceParent,
		"subject":         "order-42",
		"time":            "2026-01-01T00:00:05.123456789Z",
	} {
		if attrs[name] != v {
			t.Errorf("attribute %s = %v, want %v", name, attrs[name], v)
		}
	}
	if got.DeliverAtTime() != time.Date(2026, 1, 1, 0, 1, 0, 500_000_000, time.UTC) {
		t.Errorf("DeliverAtTime = %s", got.DeliverAtTime())
	}
}

func TestEnvelopeRoundTripMinimal(t *testing.T) {
	t.Parallel()
	// Optional attributes stay absent, and the defaults are filled in.
	in := Envelope{ID: "1", Source: "s", Type: "t", Topic: "a:b", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Data: json.RawMessage(`{}`)}
	b, err := EncodeEnvelope(in)
	if err != nil {
		t.Fatal(err)
	}
	var attrs map[string]any
	if err := json.Unmarshal(b, &attrs); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"subject", "partitionkey", "deliverat", "traceparent", "weftdlqreason", "weftdlqattempts"} {
		if _, ok := attrs[name]; ok {
			t.Errorf("empty optional attribute %s is encoded", name)
		}
	}
	got, err := DecodeEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.SpecVersion, want.DataContentType = SpecVersion, ContentTypeJSON
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestEncodeEnvelopeRejectsInvalid(t *testing.T) {
	t.Parallel()
	for name, edit := range map[string]func(*Envelope){
		"no id":         func(e *Envelope) { e.ID = "" },
		"no topic":      func(e *Envelope) { e.Topic = "" },
		"specversion":   func(e *Envelope) { e.SpecVersion = "0.3" },
		"content type":  func(e *Envelope) { e.DataContentType = "text/plain" },
		"deliverat":     func(e *Envelope) { e.DeliverAt = "soon" },
		"data not JSON": func(e *Envelope) { e.Data = json.RawMessage(`{`) },
	} {
		e := fullEnvelope()
		edit(&e)
		if b, err := EncodeEnvelope(e); err == nil {
			t.Errorf("%s: encoded %s", name, b)
		}
	}
}

func TestDecodeEnvelopeErrors(t *testing.T) {
	t.Parallel()
	valid := envelopeJSON(t, nil)
	without := func(names ...string) []byte {
		return envelopeJSON(t, func(m map[string]any) {
			for _, n := range names {
				delete(m, n)
			}
		})
	}
	with := func(name string, v any) []byte {
		return envelopeJSON(t, func(m map[string]any) { m[name] = v })
	}
	cases := []struct {
		name string
		in   []byte
		want []string // substrings of the reason
	}{
		{"empty", nil, []string{"malformed envelope JSON"}},
		{"truncated", valid[:len(valid)/2], []string{"malformed envelope JSON"}},
		{"not JSON", []byte("hello"), []string{"malformed envelope JSON"}},
		{"array", []byte(`[1,2,3]`), []string{"malformed envelope JSON"}},
		{"string", []byte(`"id"`), []string{"malformed envelope JSON"}},
		{"id of wrong type", with("id", 42), []string{"malformed envelope JSON", "id"}},
		{"bad time", with("time", "yesterday"), []string{"malformed envelope JSON"}},
		{"data not JSON", bytes.Replace(valid, []byte(`{"v":1}`), []byte(`{"v":}`), 1), []string{"malformed envelope JSON"}},
		{"trailing object", append(bytes.Clone(valid), []byte(` {}`)...), []string{"trailing data"}},
		{"trailing garbage", append(bytes.Clone(valid), []byte(`x`)...), []string{"trailing data"}},
		{"second event", append(bytes.Clone(valid), valid...), []string{"trailing data"}},
		{"null", []byte(`null`), []string{"missing required attribute(s) id, source, type, wefttopic"}},
		{"empty object", []byte(`{}`), []string{"missing required attribute(s) id, source, type, wefttopic"}},
		{"missing id", without("id"), []string{"missing required attribute(s) id"}},
		{"empty id", with("id", ""), []string{"missing required attribute(s) id"}},
		{"missing source", without("source"), []string{"missing required attribute(s) source"}},
		{"missing type", without("type"), []string{"missing required attribute(s) type"}},
		{"missing wefttopic", without("wefttopic"), []string{"missing required attribute(s) wefttopic"}},
		{"missing several", without("source", "wefttopic"), []string{"missing required attribute(s) source, wefttopic"}},
		{"missing specversion", without("specversion"), []string{"m-1", `unsupported specversion ""`, `"1.0"`}},
		{"wrong specversion", with("specversion", "0.3"), []string{"m-1", `unsupported specversion "0.3"`}},
		{"wrong datacontenttype", with("datacontenttype", "application/xml"), []string{"m-1", `unsupported datacontenttype "application/xml"`}},
		{"bad deliverat", with("deliverat", "tomorrow"), []string{"m-1", `deliverat "tomorrow" is not RFC 3339`}},
		{"deliverat without zone", with("deliverat", "2026-01-01T00:00:00"), []string{`deliverat "2026-01-01T00:00:00"`}},
		{"deliverat with space", with("deliverat", "2026-01-01 00:00:00Z"), []string{"deliverat"}},
		{"oversized", bytes.Repeat([]byte(" "), MaxEnvelopeSize+1), []string{"exceeds", "byte limit"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := DecodeEnvelope(tc.in)
			if err == nil {
				t.Fatalf("decoded %+v", e)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *DecodeError", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(de.Reason, w) {
					t.Errorf("reason %q does not contain %q", de.Reason, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "undecodable message: ") {
				t.Errorf("Error() = %q", err.Error())
			}
			if !reflect.DeepEqual(e, Envelope{}) {
				t.Errorf("failed decode returned a non-zero envelope %+v", e)
			}
		})
	}
}

func TestDecodeEnvelopeRejectsTrailingCloser(t *testing.T) {
	t.Parallel()
	valid := envelopeJSON(t, nil)
	for _, tail := range []string{"}", "]", "}}]", " ] "} {
		if _, err := DecodeEnvelope(append(bytes.Clone(valid), tail...)); err == nil {
			t.Errorf("trailing %q accepted", tail)
		}
	}
}

func TestDecodeEnvelopeSizeLimitBoundary(t *testing.T) {
	t.Parallel()
	valid := envelopeJSON(t, nil)
	// Trailing whitespace is allowed, so pad to exactly the limit.
	at := append(bytes.Clone(valid), bytes.Repeat([]byte(" "), MaxEnvelopeSize-len(valid))...)
	if _, err := DecodeEnvelope(at); err != nil {
		t.Fatalf("envelope of exactly MaxEnvelopeSize bytes: %v", err)
	}
	over := append(at, ' ')
	_, err := DecodeEnvelope(over)
	var de *DecodeError
	if !errors.As(err, &de) || !strings.Contains(de.Reason, "exceeds") {
		t.Fatalf("envelope of MaxEnvelopeSize+1 bytes: %v", err)
	}
}

func TestEncodedEnvelopeStaysWithinDecodeLimit(t *testing.T) {
	t.Parallel()
	pad := strings.Repeat("<", MaxEnvelopeSize/2)
	in := envelopeJSON(t, func(m map[string]any) { m["data"] = map[string]any{"v": 1, "s": pad} })
	in = bytes.ReplaceAll(in, []byte(`\u003c`), []byte("<"))
	e, err := DecodeEnvelope(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := EncodeEnvelope(e)
	if err != nil {
		return // refusing to encode is acceptable
	}
	if _, err := DecodeEnvelope(out); err != nil {
		t.Fatalf("a decoded envelope re-encodes to %d bytes that do not decode: %v", len(out), err)
	}
}

func TestEnvelopeFixtureRoundTrip(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("testdata", "envelope_structured.json"))
	if err != nil {
		t.Fatal(err)
	}
	env, err := DecodeEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	if env.Type != "weft.engine.TaskCompleted" || env.Topic != "workflow-engine:Checkout" || env.PartitionKey != "order-42" ||
		env.TraceParent == "" || env.DeadLetterAttempts != 3 || !env.DeliverAtTime().Equal(time.Date(2026, 1, 1, 0, 1, 5, 0, time.UTC)) {
		t.Fatalf("decoded %+v", env)
	}
	if got := Instant(env); !got.Equal(env.DeliverAtTime()) {
		t.Errorf("Instant = %s, want the deliverat", got)
	}
	msg, err := DecodeMessage(env)
	if err != nil {
		t.Fatal(err)
	}
	res, ok := msg.(*CommandResult)
	if !ok || res.Kind != TaskCompleted || res.RetrySeq != 2 || res.CommandID == "" {
		t.Fatalf("message %#v", msg)
	}
	out, err := EncodeEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("re-encoded fixture differs:\n got %s\nwant %s", out, raw)
	}
}

func TestDeliverAtHelpers(t *testing.T) {
	t.Parallel()
	var e Envelope
	if !e.DeliverAtTime().IsZero() {
		t.Fatal("no deliverat must be the zero time")
	}
	at := time.Date(2026, 1, 1, 1, 0, 0, 0, time.FixedZone("CET", 3600))
	e.SetDeliverAt(at)
	if e.DeliverAt != "2026-01-01T00:00:00Z" {
		t.Fatalf("SetDeliverAt stored %q, want UTC", e.DeliverAt)
	}
	if !e.DeliverAtTime().Equal(at) {
		t.Fatalf("DeliverAtTime = %s", e.DeliverAtTime())
	}
	e.SetDeliverAt(time.Time{})
	if e.DeliverAt != "" {
		t.Fatalf("SetDeliverAt(zero) left %q", e.DeliverAt)
	}
	e.DeliverAt = "garbage"
	if !e.DeliverAtTime().IsZero() {
		t.Fatal("an unparsable deliverat must read as the zero time")
	}
}

func TestInstant(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := Envelope{Time: t0}
	if !Instant(e).Equal(t0) {
		t.Fatal("undelayed envelope: instant is its time")
	}
	e.SetDeliverAt(t0.Add(time.Hour))
	if !Instant(e).Equal(t0.Add(time.Hour)) {
		t.Fatal("delayed envelope: instant is its deliverat")
	}
	e.SetDeliverAt(t0.Add(-time.Hour))
	if !Instant(e).Equal(t0) {
		t.Fatal("deliverat in the past of the emission: instant is its time")
	}
}
