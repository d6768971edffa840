package memory

import (
	"bytes"
	"reflect"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/weftio/weft/core"
)

// payload is the content of one published message, shared by every group
// and delivery of it.
//
// Publishing and consuming through a process-local queue does not need the
// JSON round trip a broker needs, and for the embedded runtime that round
// trip (encode on publish, decode on receive) is a large share of the work
// per step. So when an envelope is known to survive the round trip
// unchanged, the payload keeps the envelope itself (see
// DeliveredEnvelope) and encodes the body only if somebody asks for it.
// Otherwise the body is encoded at publish time, exactly as before, and
// consumers decode it.
type payload struct {
	// env is the envelope exactly as core.DecodeEnvelope(body) returns it;
	// set only when hasEnv.
	env    core.Envelope
	hasEnv bool

	once sync.Once
	body []byte
}

// rawPayload is a body that is not (known to be) an envelope.
func rawPayload(body []byte) *payload {
	p := &payload{body: body}
	p.once.Do(func() {})
	return p
}

// Body returns the encoded message, encoding it on first use.
func (p *payload) Body() []byte {
	p.once.Do(func() {
		b, err := core.EncodeEnvelope(p.env)
		if err != nil {
			// passThrough admits only envelopes that encode; reaching this
			// is a bug. An empty body makes consumers dead-letter the
			// message as undecodable rather than lose it silently.
			b = nil
		}
		p.body = b
	})
	return p.body
}

// envelopeOverhead bounds the encoded size of everything in an envelope but
// its string fields and data: the member names, quotes, separators, the
// time and the attempt count.
const envelopeOverhead = 512

// passThrough reports whether e (already validated, with its defaults
// filled in) can be kept as is: its encoding is sure to succeed and to fit
// in maxSize (0: no limit), and decoding it would give back e field for
// field.
func passThrough(e *core.Envelope, maxSize int) bool {
	if !envelopeLayoutKnown {
		return false
	}
	strs := [...]string{e.ID, e.Source, e.SpecVersion, e.Type, e.Subject, e.DataContentType,
		e.PartitionKey, e.Topic, e.DeliverAt, e.TraceParent, e.DeadLetterReason}
	bound := envelopeOverhead + len(e.Data)
	for _, s := range strs {
		// Invalid UTF-8 is replaced when encoding, so it would not come
		// back unchanged.
		if !utf8.ValidString(s) {
			return false
		}
		bound += 6 * len(s) // the worst case: every byte as \u00XX
	}
	limit := core.MaxEnvelopeSize // what a consumer's DecodeEnvelope accepts
	if maxSize > 0 && maxSize < limit {
		limit = maxSize
	}
	if bound > limit {
		return false // let the encoding tell the exact size
	}
	return timeRoundTrips(e.Time) && dataRoundTrips(e.Data)
}

// timeRoundTrips reports whether t encodes (RFC 3339, years 0-9999) and
// decodes back to an identical time.Time: in UTC and without a monotonic
// reading, which a decoded time never has.
func timeRoundTrips(t time.Time) bool {
	return t.Location() == time.UTC && t == t.Round(0) && t.Year() >= 0 && t.Year() <= 9999
}

// dataRoundTrips reports whether data is valid JSON that encoding/json
// copies unchanged: already compact (no white space outside strings) and
// with nothing it escapes (<, >, &, U+2028, U+2029). It may say false for
// data that would round-trip (for instance nesting deeper than
// maxDataDepth), never true for data that would not.
func dataRoundTrips(data []byte) bool {
	s := jsonScan{b: data}
	return s.value(0) && s.i == len(data)
}

// maxDataDepth bounds the nesting dataRoundTrips follows (encoding/json
// accepts 10,000 levels; deeper data here just takes the encoding path).
const maxDataDepth = 1000

// jsonScan is a one-pass recursive-descent check of compact JSON. It
// accepts what encoding/json's scanner accepts (RFC 8259; bytes of strings
// are not checked for UTF-8) minus white space and the characters Marshal
// would escape in a json.RawMessage.
type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) value(depth int) bool {
	if s.i >= len(s.b) || depth > maxDataDepth {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		s.i++
		if s.eat('}') {
			return true
		}
		for {
			if !s.string() || !s.eat(':') || !s.value(depth+1) {
				return false
			}
			if !s.eat(',') {
				return s.eat('}')
			}
		}
	case c == '[':
		s.i++
		if s.eat(']') {
			return true
		}
		for {
			if !s.value(depth + 1) {
				return false
			}
			if !s.eat(',') {
				return s.eat(']')
			}
		}
	case c == '"':
		return s.string()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	}
	return false
}

func (s *jsonScan) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *jsonScan) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// digits consumes one or more decimal digits.
func (s *jsonScan) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

func (s *jsonScan) number() bool {
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.eat('.') && !s.digits() {
		return false
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		return s.digits()
	}
	return true
}

func (s *jsonScan) string() bool {
	if !s.eat('"') {
		return false
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		s.i++
		switch {
		case c == '"':
			return true
		case c < 0x20, c == '<', c == '>', c == '&':
			return false
		case c == 0xE2 && s.i+1 < len(s.b) && s.b[s.i] == 0x80 && s.b[s.i+1]&^1 == 0xA8:
			return false // U+2028 or U+2029
		case c == '\\':
			if s.i >= len(s.b) {
				return false
			}
			e := s.b[s.i]
			s.i++
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(s.b)-s.i < 4 {
					return false
				}
				for _, h := range s.b[s.i : s.i+4] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				s.i += 4
			default:
				return false
			}
		}
	}
	return false
}

// envelopeFields is the layout of core.Envelope that passThrough was written
// for. If core.Envelope changes, the pass-through turns itself off (every
// body is encoded and decoded again) until this list and passThrough are
// updated; TestEnvelopePassThroughLayout reports it.
var envelopeFields = []struct{ name, typ, tag string }{
	{"ID", "string", `json:"id"`},
	{"Source", "string", `json:"source"`},
	{"SpecVersion", "string", `json:"specversion"`},
	{"Type", "string", `json:"type"`},
	{"Subject", "string", `json:"subject,omitempty"`},
	{"Time", "time.Time", `json:"time"`},
	{"DataContentType", "string", `json:"datacontenttype"`},
	{"Data", "json.RawMessage", `json:"data"`},
	{"PartitionKey", "string", `json:"partitionkey,omitempty"`},
	{"Topic", "string", `json:"wefttopic"`},
	{"DeliverAt", "string", `json:"deliverat,omitempty"`},
	{"TraceParent", "string", `json:"traceparent,omitempty"`},
	{"DeadLetterReason", "string", `json:"weftdlqreason,omitempty"`},
	{"DeadLetterAttempts", "int", `json:"weftdlqattempts,omitempty"`},
}

var envelopeLayoutKnown = func() bool {
	t := reflect.TypeFor[core.Envelope]()
	if t.NumField() != len(envelopeFields) {
		return false
	}
	for i, want := range envelopeFields {
		f := t.Field(i)
		if f.Name != want.name || f.Type.String() != want.typ || string(f.Tag) != want.tag {
			return false
		}
	}
	return true
}()

// EnvelopePassThrough reports whether this build keeps envelopes in memory
// instead of encoding and decoding them (see DeliveredEnvelope). It is false
// only when core.Envelope has changed in a way this package does not know.
func EnvelopePassThrough() bool { return envelopeLayoutKnown }

// newPayload prepares e, which Publish has validated and completed with its
// defaults: kept as is when it round-trips, encoded now otherwise.
func newPayload(e core.Envelope, maxSize int) (*payload, error) {
	if passThrough(&e, maxSize) {
		e.Data = bytes.Clone(e.Data) // the caller keeps its slice
		return &payload{env: e, hasEnv: true}, nil
	}
	body, err := core.EncodeEnvelope(e)
	if err != nil {
		return nil, err
	}
	return rawPayload(body), nil
}
