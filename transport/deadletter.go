package transport

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/weftio/weft/core"
)

// DeadLetterType is the envelope type of a dead-letter entry whose original
// body was not a decodable envelope; its data is {"body": <original bytes>}.
const DeadLetterType = "weft.deadletter.Undecodable"

// DeadLetter builds the entry written to the dead-letter topic for a message
// received on topic. A decodable envelope keeps its attributes and gains the
// reason and attempt count; anything else is wrapped whole so no byte of the
// original is lost. Drivers call this so every transport records the same
// shape.
func DeadLetter(topic, key string, body []byte, reason string, attempts int, now time.Time) (dlqTopic string, entry []byte) {
	dlqTopic = core.DeadLetterTopic(topic)
	env, err := core.DecodeEnvelope(body)
	if err != nil {
		sum := sha256.Sum256(body)
		data, _ := json.Marshal(struct {
			Body []byte `json:"body"`
		}{body})
		env = core.Envelope{
			ID:              "dlq-" + hex.EncodeToString(sum[:16]),
			Source:          "weft/transport",
			SpecVersion:     core.SpecVersion,
			Type:            DeadLetterType,
			Time:            now.UTC(),
			DataContentType: core.ContentTypeJSON,
			Data:            data,
			PartitionKey:    key,
		}
	}
	env.Topic = dlqTopic
	env.DeliverAt = ""
	env.DeadLetterReason = reason
	env.DeadLetterAttempts = attempts
	out, err := core.EncodeEnvelope(env)
	if err != nil { // cannot happen: every required attribute is set above
		panic("transport: dead-letter entry does not encode: " + err.Error())
	}
	return dlqTopic, out
}
