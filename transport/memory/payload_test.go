package memory_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/memory"
)

type envelopeDelivery interface {
	DeliveredEnvelope() (core.Envelope, bool)
}

// roundTrip publishes e and receives it, returning the delivered envelope
// (if the transport kept it) and the decoding of the body.
func roundTrip(t *testing.T, tr *memory.Transport, e core.Envelope) (kept core.Envelope, ok bool, decoded core.Envelope) {
	t.Helper()
	sub := subscribe(t, tr, e.Topic, transport.SubscribeOptions{Group: "g"})
	publish(t, tr, e)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := sub.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	defer d.Ack(ctx)
	decoded, err = core.DecodeEnvelope(d.Body())
	if err != nil {
		t.Fatalf("decode body %q: %v", d.Body(), err)
	}
	kept, ok = d.(envelopeDelivery).DeliveredEnvelope()
	return kept, ok, decoded
}

// TestEnvelopePassThroughLayout fails when core.Envelope changed in a way
// the pass-through does not know: it is then off (correct but slower) until
// envelopeFields and passThrough in payload.go are updated.
func TestEnvelopePassThroughLayout(t *testing.T) {
	if !memory.EnvelopePassThrough() {
		t.Fatal("core.Envelope no longer matches envelopeFields in payload.go: update it (and passThrough) to re-enable the pass-through")
	}
}

func TestDeliveredEnvelopeIsTheDecodedBody(t *testing.T) {
	t.Parallel()
	base := func() core.Envelope {
		e := env("", "id-1", "key-1")
		e.Time = time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.UTC)
		e.Data = json.RawMessage(`{"a":[1,2.5,"x y"],"b":{"c":null,"d":true},"e":"caf\u00e9 \"q\" \\"}`)
		e.Subject = "subj"
		return e
	}
	monotonic := time.Now()
	for _, tc := range []struct {
		name     string
		edit     func(e *core.Envelope)
		wantKept bool
	}{
		{"plain", func(*core.Envelope) {}, true},
		{"defaults", func(e *core.Envelope) { e.SpecVersion, e.DataContentType = "", "" }, true},
		{"zero time", func(e *core.Envelope) { e.Time = time.Time{} }, true},
		{"delayed", func(e *core.Envelope) { e.SetDeliverAt(time.Now().Add(-time.Hour)) }, true},
		{"extensions", func(e *core.Envelope) {
			e.TraceParent, e.DeadLetterReason, e.DeadLetterAttempts = "00-abc-def-01", "why", 3
		}, true},
		{"unicode strings", func(e *core.Envelope) { e.Subject, e.PartitionKey = "ü€😀\u2028<&>", "k\x00\n\"" }, true},
		{"unicode data", func(e *core.Envelope) { e.Data = json.RawMessage(`"ü€😀 ok"`) }, true},
		{"scalar data", func(e *core.Envelope) { e.Data = json.RawMessage(`42`) }, true},
		{"indented data", func(e *core.Envelope) { e.Data = json.RawMessage("{\n  \"a\": 1\n}") }, false},
		{"html in data", func(e *core.Envelope) { e.Data = json.RawMessage(`{"a":"<b>&"}`) }, false},
		{"line separator in data", func(e *core.Envelope) { e.Data = json.RawMessage("\"a\u2028b\"") }, false},
		{"nil data", func(e *core.Envelope) { e.Data = nil }, false},
		{"invalid utf-8 string", func(e *core.Envelope) { e.Subject = "bad\xffutf8" }, false},
		{"local time", func(e *core.Envelope) { e.Time = time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("X", 3600)) }, false},
		{"monotonic time", func(e *core.Envelope) { e.Time = monotonic }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := memory.New()
			defer tr.Close()
			e := base()
			e.Topic = "t:pass"
			tc.edit(&e)
			kept, ok, decoded := roundTrip(t, tr, e)
			if ok != tc.wantKept {
				t.Errorf("kept in memory: %t, want %t", ok, tc.wantKept)
			}
			if ok && !reflect.DeepEqual(kept, decoded) {
				t.Errorf("delivered envelope differs from the decoded body:\nkept    %#v\ndecoded %#v", kept, decoded)
			}
		})
	}
}

func TestPublishedDataIsCopied(t *testing.T) {
	t.Parallel()
	tr := memory.New()
	defer tr.Close()
	e := env("t:copy", "m1", "")
	e.Data = json.RawMessage(`{"n":1}`)
	sub := subscribe(t, tr, e.Topic, transport.SubscribeOptions{Group: "g"})
	publish(t, tr, e)
	e.Data[5] = '9' // the publisher reuses its buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := sub.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := d.(envelopeDelivery).DeliveredEnvelope()
	if !ok || string(got.Data) != `{"n":1}` {
		t.Fatalf("delivered data %s (kept %t), want the data as published", got.Data, ok)
	}
	if dec, err := core.DecodeEnvelope(d.Body()); err != nil || string(dec.Data) != `{"n":1}` {
		t.Fatalf("body data %s (%v), want the data as published", dec.Data, err)
	}
}

func TestPassThroughKeepsSizeLimit(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{300, 2000} {
		tr := memory.New(memory.WithMaxMessageSize(limit))
		e := env("t:size", "m1", "")
		e.Data = json.RawMessage(`"` + string(make([]byte, 0)) + `"`)
		small, _ := core.EncodeEnvelope(e)
		e.Data = json.RawMessage(`"` + repeat('x', limit-len(small)) + `"`)
		if body, _ := core.EncodeEnvelope(e); len(body) != limit {
			t.Fatalf("test envelope is %d bytes, want %d", len(body), limit)
		}
		if err := tr.Publish(context.Background(), e); err != nil {
			t.Errorf("limit %d: envelope of exactly the limit refused: %v", limit, err)
		}
		e.Data = json.RawMessage(`"` + repeat('x', limit-len(small)+1) + `"`)
		if err := tr.Publish(context.Background(), e); err == nil {
			t.Errorf("limit %d: envelope one byte over the limit accepted", limit)
		}
		tr.Close()
	}
}

func repeat(c byte, n int) string {
	b := make([]byte, max(n, 0))
	for i := range b {
		b[i] = c
	}
	return string(b)
}

// FuzzDeliveredEnvelope checks that whatever the transport keeps in memory
// is exactly what decoding the body gives.
func FuzzDeliveredEnvelope(f *testing.F) {
	f.Add("id", "subj", "key", []byte(`{"a":1}`), int64(0))
	f.Add("i\xffd", "s u", "", []byte(`"<>"`), int64(1700000000123456789))
	f.Add("id", "", "k", []byte("[1, 2]"), int64(-1))
	f.Add("id", "\u2028", "k", []byte(`"\u2028 \\\" x"`), int64(42))
	f.Fuzz(func(t *testing.T, id, subject, key string, data []byte, nanos int64) {
		tr := memory.New()
		defer tr.Close()
		e := env("t:fuzz", id, key)
		e.Subject, e.Data, e.Time = subject, data, time.Unix(0, nanos).UTC()
		if _, err := core.EncodeEnvelope(e); err != nil {
			if tr.Publish(context.Background(), e) == nil {
				t.Fatalf("Publish accepted an envelope that does not encode: %v", err)
			}
			return
		}
		kept, ok, decoded := roundTrip(t, tr, e)
		if ok && !reflect.DeepEqual(kept, decoded) {
			t.Fatalf("delivered envelope differs from the decoded body:\nkept    %#v\ndecoded %#v", kept, decoded)
		}
	})
}
