package pgqueue

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
)

// installationHash identifies one set of queue tables (schema and prefix);
// the advisory-lock keys and the notification channel derive from it so two
// installations in one database never wait for or wake each other.
func installationHash(schema, prefix string) uint64 {
	h := fnv.New64a()
	h.Write([]byte("weft/transport/pgqueue\x00" + schema + "\x00" + prefix))
	return h.Sum64()
}

// channelName is the LISTEN/NOTIFY channel of an installation: one channel
// whose payload names the topic.
func channelName(schema, prefix string) string {
	return fmt.Sprintf("weft_pgqueue_%016x", installationHash(schema, prefix))
}

// maxWakePayload keeps NOTIFY payloads far below PostgreSQL's 8000-byte
// limit; longer topic names are sent as a digest.
const maxWakePayload = 200

// wakeKey is what a notification carries for topic: the name itself, or a
// digest of a very long one. Listeners look subscriptions up by it.
func wakeKey(topic string) string {
	if len(topic) <= maxWakePayload {
		return topic
	}
	sum := sha256.Sum256([]byte(topic))
	return "#" + hex.EncodeToString(sum[:])
}
