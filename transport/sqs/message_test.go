package sqs

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/transport"
)

func attrs(o outgoing) map[string]string {
	m := map[string]string{}
	for k, v := range o.attrs {
		m[k] = *v.StringValue
	}
	return m
}

func TestOutgoingAttributes(t *testing.T) {
	t.Parallel()
	due := time.Date(2030, 1, 2, 3, 4, 5, 600000000, time.UTC)
	for _, tc := range []struct {
		name      string
		key       string
		body      []byte
		envID     string
		due       time.Time
		wantAttrs map[string]string
		wantBody  string
		group     string
		dedup     string
	}{
		{name: "envelope with key", key: "wf-1", body: []byte(`{"id":"e1"}`), envID: "e1",
			wantAttrs: map[string]string{AttrTopic: "t:x", AttrKey: "wf-1"}, wantBody: `{"id":"e1"}`, group: "wf-1", dedup: "e1"},
		{name: "envelope without key", body: []byte(`{}`), envID: "e2",
			wantAttrs: map[string]string{AttrTopic: "t:x"}, wantBody: `{}`, group: "e2", dedup: "e2"},
		{name: "delayed", key: "k", body: []byte(`{}`), envID: "e3", due: due,
			wantAttrs: map[string]string{AttrTopic: "t:x", AttrKey: "k", AttrDue: "2030-01-02T03:04:05.6Z"}, wantBody: `{}`, group: "k", dedup: "e3"},
		{name: "raw bytes", key: "k", body: []byte("{not json \x00\xff"),
			wantAttrs: map[string]string{AttrTopic: "t:x", AttrKey: "k", AttrRaw: "base64"}, wantBody: "e25vdCBqc29uIAD/", group: "k"},
		{name: "text SQS refuses", body: []byte("a\uFFFEb"),
			wantAttrs: map[string]string{AttrTopic: "t:x", AttrRaw: "base64"}, wantBody: "Ye+/vmI="},
		{name: "long ids", key: strings.Repeat("k", 129), body: []byte(`{}`), envID: "id with spaces",
			wantAttrs: map[string]string{AttrTopic: "t:x", AttrKey: strings.Repeat("k", 129)}, wantBody: `{}`,
			group: fifoID(strings.Repeat("k", 129)), dedup: fifoID("id with spaces")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := newOutgoing("t:x", tc.key, tc.body, tc.envID, tc.due)
			if err != nil {
				t.Fatal(err)
			}
			if got := attrs(o); !equalMaps(got, tc.wantAttrs) {
				t.Errorf("attributes %v, want %v", got, tc.wantAttrs)
			}
			if o.body != tc.wantBody {
				t.Errorf("body %q, want %q", o.body, tc.wantBody)
			}
			if tc.group != "" && o.group != tc.group {
				t.Errorf("group %q, want %q", o.group, tc.group)
			}
			if tc.dedup != "" && o.dedup != tc.dedup {
				t.Errorf("dedup %q, want %q", o.dedup, tc.dedup)
			}
			for _, id := range []string{o.group, o.dedup} {
				if fifoID(id) != id {
					t.Errorf("id %q is not one SQS takes", id)
				}
			}
			size := len(o.body)
			for k, v := range tc.wantAttrs {
				size += len(k) + len("String") + len(v)
			}
			if o.size != size {
				t.Errorf("size %d, want %d (body and attributes)", o.size, size)
			}
			in := map[string]string{}
			for k, v := range attrs(o) {
				in[k] = v
			}
			back, err := decodeBody(o.body, in)
			if err != nil || !bytes.Equal(back, tc.body) {
				t.Errorf("decodeBody = %q, %v; want %q", back, err, tc.body)
			}
		})
	}
	if fifoID(strings.Repeat("x", 128)) != strings.Repeat("x", 128) || len(fifoID(strings.Repeat("x", 129))) != 64 {
		t.Error("fifoID keeps 128 characters and hashes 129")
	}
	a, _ := newOutgoing("t:x", "k", []byte{0xff}, "", time.Time{})
	b, _ := newOutgoing("t:y", "k", []byte{0xff}, "", time.Time{})
	if a.dedup == b.dedup {
		t.Error("raw messages to two topics share a deduplication id")
	}
	if _, err := newOutgoing("t:x", "bad\x00key", []byte("{}"), "e", time.Time{}); err == nil || !strings.Contains(err.Error(), "partition key") {
		t.Errorf("a key with NUL: %v, want an error", err)
	}
}

func TestCheckSize(t *testing.T) {
	t.Parallel()
	o, _ := newOutgoing("t:x", "k", bytes.Repeat([]byte("x"), 1000), "big", time.Time{})
	if err := o.checkSize(o.size); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	err := o.checkSize(1000) // the body alone fits; its attributes do not
	if !errors.Is(err, transport.ErrMessageTooLarge) || !strings.Contains(err.Error(), "big") || !strings.Contains(err.Error(), "1000 byte limit") {
		t.Errorf("over the limit: %v", err)
	}
}

func TestDecodeBodyErrors(t *testing.T) {
	t.Parallel()
	if _, err := decodeBody("not base64!", map[string]string{AttrRaw: "base64"}); err == nil {
		t.Error("a bad base64 body decodes")
	}
	if _, err := decodeBody("x", map[string]string{AttrRaw: "gzip"}); err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("an unknown weft-raw: %v", err)
	}
}

func TestSQSText(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"":                               true,
		`{"a":"é€😀"}`:                    true,
		"tab\tnl\ncr\r":                  true,
		"\uFFFD":                         true,
		"nul\x00":                        false,
		"bell\x07":                       false,
		"\xff":                           false,
		"\uFFFE":                         false,
		"\uFFFF":                         false,
		string([]byte{0xed, 0xa0, 0x80}): false, // a surrogate
	} {
		if got := sqsText([]byte(s)); got != want {
			t.Errorf("sqsText(%q) = %v, want %v", s, got, want)
		}
	}
}

// FuzzBody: whatever the bytes, the body SQS gets is text it takes, and it
// decodes back to the bytes.
func FuzzBody(f *testing.F) {
	for _, s := range []string{"", "{}", "{not json \x00\xff", "\uFFFE", "é"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := newOutgoing("t:x", "", b, "", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if !sqsText([]byte(o.body)) {
			t.Fatalf("body %q is not text SQS takes", o.body)
		}
		back, err := decodeBody(o.body, attrs(o))
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("round trip of %q gave %q, %v", b, back, err)
		}
	})
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
