package sqs

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/weftio/weft/transport"
)

// The message attributes weft sets. Every message carries weft-topic;
// weft-key when it has a partition key; weft-raw when its body had to be
// base64-encoded; weft-due on the delay queue only.
const (
	AttrTopic = "weft-topic"
	AttrKey   = "weft-key"
	AttrRaw   = "weft-raw"
	AttrDue   = "weft-due"
	// rawBase64 is weft-raw's value for a base64 body.
	rawBase64 = "base64"
	// stringType is the data type of every weft attribute.
	stringType = "String"
	// maxID is the longest group or deduplication id SQS takes.
	maxID = 128
)

// outgoing is one message ready to send: body and attributes encoded, its
// size as SQS counts it (body and attributes), and for FIFO queues its
// group and deduplication ids.
type outgoing struct {
	topic   string // the weft topic, for errors
	id      string // envelope id, or "" for raw bytes (for errors)
	body    string
	attrs   map[string]types.MessageAttributeValue
	size    int
	group   string
	dedup   string
	delay   int32 // DelaySeconds (standard queues only)
	viaWait bool  // bound for the delay queue
}

// newOutgoing encodes body for topic. envID is the envelope id, "" for
// bytes that are not (known to be) an envelope; due, when not zero, makes
// it a delay-queue message.
func newOutgoing(topic, key string, body []byte, envID string, due time.Time) (outgoing, error) {
	o := outgoing{topic: topic, id: envID, attrs: map[string]types.MessageAttributeValue{}}
	if sqsText(body) {
		o.body = string(body)
	} else {
		o.body = base64.StdEncoding.EncodeToString(body)
		o.setAttr(AttrRaw, rawBase64)
	}
	o.setAttr(AttrTopic, topic)
	if key != "" {
		if !sqsText([]byte(key)) {
			return o, fmt.Errorf("partition key %q has characters SQS cannot carry in a message attribute", key)
		}
		o.setAttr(AttrKey, key)
	}
	if !due.IsZero() {
		o.setAttr(AttrDue, due.UTC().Format(time.RFC3339Nano))
		o.viaWait = true
	}
	o.size += len(o.body)
	o.group = key
	switch {
	case envID != "":
		o.dedup = fifoID(envID)
	default:
		sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s", topic, key, body))
		o.dedup = hex.EncodeToString(sum[:])
	}
	if o.group == "" {
		// No order asked for: each message a group of its own.
		o.group = o.dedup
	}
	o.group = fifoID(o.group)
	return o, nil
}

func (o *outgoing) setAttr(name, value string) {
	o.attrs[name] = types.MessageAttributeValue{DataType: aws.String(stringType), StringValue: aws.String(value)}
	// SQS counts an attribute's name, type and value.
	o.size += len(name) + len(stringType) + len(value)
}

// checkSize refuses a message over limit, for good.
func (o outgoing) checkSize(limit int) error {
	if o.size <= limit {
		return nil
	}
	what := "raw message"
	if o.id != "" {
		what = "envelope " + o.id
	}
	return fmt.Errorf("%s for %s: %d bytes with its message attributes, over the %d byte limit: %w",
		what, o.topic, o.size, limit, transport.ErrMessageTooLarge)
}

// fifoID is s when SQS takes it as a group or deduplication id (1 to 128
// ASCII letters, digits and punctuation), else its SHA-256 in hex.
func fifoID(s string) string {
	ok := len(s) > 0 && len(s) <= maxID
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] > ' ' && s[i] <= '~'
	}
	if ok {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sqsText reports whether SQS takes b as a message body or attribute
// value as it is: valid UTF-8 of the characters XML allows (#x9, #xA, #xD,
// #x20 to #xD7FF, #xE000 to #xFFFD, #x10000 to #x10FFFF).
func sqsText(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return false
		}
		switch {
		case r == 0x9, r == 0xA, r == 0xD, r >= 0x20 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
		b = b[n:]
	}
	return true
}

// decodeBody returns the bytes a message body stands for.
func decodeBody(body string, attrs map[string]string) ([]byte, error) {
	switch raw := attrs[AttrRaw]; raw {
	case "":
		return []byte(body), nil
	case rawBase64:
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return nil, fmt.Errorf("message attribute %s=%s, but the body is not base64: %w", AttrRaw, rawBase64, err)
		}
		return b, nil
	default:
		return nil, fmt.Errorf("message attribute %s has the unknown value %q", AttrRaw, raw)
	}
}

// ceilSeconds rounds d up to whole seconds, never below 0.
func ceilSeconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	return int32((d + time.Second - 1) / time.Second)
}
