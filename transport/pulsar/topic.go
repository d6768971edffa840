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
