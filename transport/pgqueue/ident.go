package pgqueue

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
)

// maxIdentLen is PostgreSQL's NAMEDATALEN-1: longer names are silently
// truncated by the server, which could make two names collide.
const maxIdentLen = 63

// checkIdent accepts [A-Za-z_][A-Za-z0-9_]{0,62}. Schema and table names are
// interpolated into SQL, so this check, plus quoting, is what keeps
// configuration from becoming SQL.
func checkIdent(name string) error {
	if name == "" {
		return fmt.Errorf("empty name")
	}
	if len(name) > maxIdentLen {
		return fmt.Errorf("%q is %d characters long; PostgreSQL names hold at most %d", name, len(name), maxIdentLen)
	}
	for i, r := range name {
		ok := r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || (i > 0 && '0' <= r && r <= '9')
		if !ok {
			return fmt.Errorf("%q: only letters, digits and _ are allowed, not starting with a digit", name)
		}
	}
	return nil
}

// quoteIdent quotes a name already accepted by checkIdent (or built from
// such names), keeping its case and letting SQL keywords work.
func quoteIdent(name string) string { return `"` + name + `"` }

func qualified(schema, name string) string { return quoteIdent(schema) + "." + quoteIdent(name) }

// indexName derives an index name from its table and a suffix, shortened
// deterministically (with a hash of the full name) when the server would
// otherwise truncate it.
func indexName(table, suffix string) string {
	name := table + "_" + suffix
	if len(name) <= maxIdentLen {
		return name
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	tag := strconv.FormatUint(uint64(h.Sum32()), 36)
	keep := maxIdentLen - len(suffix) - len(tag) - 2
	return table[:keep] + "_" + tag + "_" + suffix
}

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
