package pulsar

import (
	"strings"
)

// TopicName maps a weft topic ("<prefix>:<entity>", e.g. workflow-cmd:Trip)
// to the persistent Pulsar topic that carries it:
//
//	persistent://<tenant>/<namespace>/workflow-cmd:Trip
//
// Letters, digits and - _ . : are kept; every other byte, '=' included,
// becomes "=XX" (its hex value), so the mapping is one-to-one and the
// result is a single path segment Pulsar accepts. A "-partition-" inside the
// name is written "=2Dpartition-", since Pulsar reads that suffix as a
// partition number.
func TopicName(tenant, namespace, topic string) string {
	return "persistent://" + tenant + "/" + namespace + "/" + escapeTopic(topic)
}

const hexDigits = "0123456789ABCDEF"

func escapeTopic(topic string) string {
	var b strings.Builder
	b.Grow(len(topic))
	for i := 0; i < len(topic); i++ {
		c := topic[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-' && !strings.HasPrefix(topic[i:], "-partition-"),
			c == '_', c == '.', c == ':':
			b.WriteByte(c)
		default:
			b.WriteByte('=')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xF])
		}
	}
	return b.String()
}

// ParseTopicName is the inverse of TopicName: it splits a full Pulsar topic
// name into the tenant, the namespace and the weft topic it carries. ok is
// false for a name TopicName cannot produce (not persistent://, a missing
// part, a malformed or needless "=XX" escape, a partition's name), so a
// runtime handed topic names from elsewhere (a Pulsar Functions instance
// config) can tell which of them are weft topics.
func ParseTopicName(full string) (tenant, namespace, topic string, ok bool) {
	rest, found := strings.CutPrefix(full, "persistent://")
	if !found {
		return "", "", "", false
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	topic, ok = unescapeTopic(parts[2])
	// Escaping again must give the same text: that rejects "=61" for "a"
	// and any other spelling TopicName would not write, so every weft
	// topic has exactly one Pulsar name.
	if !ok || escapeTopic(topic) != parts[2] {
		return "", "", "", false
	}
	return parts[0], parts[1], topic, true
}

func unescapeTopic(s string) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, lo := strings.IndexByte(hexDigits, s[i+1]), strings.IndexByte(hexDigits, s[i+2])
		if hi < 0 || lo < 0 {
			return "", false
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String(), true
}
