package sqs

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/weftio/weft/core"
)

// Queue names. The queue of topic "p:e" is QueuePrefix+"p_e", with ".fifo"
// when p is one of FifoPrefixes: "workflow-engine:TripBooking" is
// "weft-workflow-engine_TripBooking.fifo", "task-executor:Hotel" is
// "weft-task-executor_Hotel". Deployment templates compute these names, so
// the plain form must not change.
//
// A name keeps only A-Z, a-z, 0-9, '-' and '_'; when a character had to be
// replaced (by '-'), or the name would be longer than SQS's 80 characters,
// it is cut and "-" plus 10 hex digits of the SHA-256 of the topic are
// appended, so that distinct topics keep distinct queues (as when the
// topic's prefix holds a '_', which would make "a_b:c" meet "a:b_c"). Two more rules
// keep the kinds of names apart, and are enforced the same way (a name that
// breaks one is hashed):
//
//   - "__" separates a topic's queue name from a consumer group's
//     (GroupQueueName), so no topic queue name holds "__" after the prefix;
//   - "-redrive" ends a redrive queue's name (RedriveQueueName), so no other
//     name ends with it.
const (
	maxQueueName  = 80
	fifoSuffix    = ".fifo"
	redriveSuffix = "-redrive"
	groupSep      = "__"
	hashDigits    = 10
	// maxGroupBase is the longest topic part a group queue name keeps
	// whole: room for "__", a hashed group part (at least one character
	// and "-" plus the hash) and ".fifo".
	maxGroupBase = maxQueueName - len(fifoSuffix) - len(groupSep) - 1 - 1 - hashDigits
)

// namer computes queue names for one configuration.
type namer struct {
	prefix string
	fifo   []string
}

func (c Config) namer() namer {
	c = c.withDefaults()
	return namer{prefix: c.QueuePrefix, fifo: c.FifoPrefixes}
}

// QueueName is the name of topic's queue, the one the first consumer group
// of the topic reads (see GroupQueueName for the others).
func (c Config) QueueName(topic string) string { return c.namer().queue(topic) }

// IsFifo reports whether topic's queues are FIFO queues: its prefix is one
// of FifoPrefixes.
func (c Config) IsFifo(topic string) bool { return c.namer().isFifo(topic) }

// GroupQueueName is the name of the queue of a consumer group of topic
// other than the first: the topic's queue name without ".fifo", "__", the
// group, and ".fifo" again for a FIFO topic.
func (c Config) GroupQueueName(topic, group string) string { return c.namer().groupQueue(topic, group) }

// DelayQueueName is the standard queue that holds messages due later than
// SQS can delay them, or bound for FIFO queues (which cannot delay one
// message): QueuePrefix + "delay".
func (c Config) DelayQueueName() string { return c.namer().delay() }

// RedriveQueueName is the queue SQS moves a message of queue to after
// RedriveMaxReceives receives: the name with "-redrive" before ".fifo"
// (FIFO queues redrive to FIFO queues).
func RedriveQueueName(queue string) string {
	stem, suffix := splitFifo(queue)
	if len(stem)+len(redriveSuffix)+len(suffix) <= maxQueueName {
		return stem + redriveSuffix + suffix
	}
	keep := maxQueueName - len(suffix) - len(redriveSuffix) - 1 - hashDigits
	return stem[:keep] + "-" + hash(queue) + redriveSuffix + suffix
}

func (n namer) isFifo(topic string) bool {
	p, _, err := core.SplitTopic(topic)
	return err == nil && slices.Contains(n.fifo, p)
}

func (n namer) delay() string { return n.prefix + "delay" }

// topicStem is topic's queue name without ".fifo".
func (n namer) topicStem(topic string) string {
	var rest string
	exact := true
	if p, e, err := core.SplitTopic(topic); err == nil {
		sp, cp := sanitize(p)
		se, ce := sanitize(e)
		// A '_' in the prefix would make "a_b:c" and "a:b_c" meet.
		rest, exact = sp+"_"+se, !cp && !ce && !strings.Contains(p, "_")
	} else {
		// Not "<prefix>:<entity>": hashed always, so it cannot meet a
		// topic that is.
		rest, _ = sanitize(topic)
		exact = false
	}
	// A prefix ending in '_' joins the rest with one.
	lead := strings.HasSuffix(n.prefix, "_")
	if strings.Contains(rest, groupSep) || (lead && strings.HasPrefix(rest, "_")) {
		rest, exact = noDoubleUnderscore(rest, lead), false
	}
	stem := n.prefix + rest
	if strings.HasSuffix(stem, redriveSuffix) {
		exact = false
	}
	suffix := ""
	if n.isFifo(topic) {
		suffix = fifoSuffix
	}
	if exact && len(stem)+len(suffix) <= maxQueueName {
		return stem
	}
	keep := maxQueueName - len(suffix) - 1 - hashDigits
	return stem[:min(len(stem), keep)] + "-" + hash(topic)
}

func (n namer) queue(topic string) string {
	if n.isFifo(topic) {
		return n.topicStem(topic) + fifoSuffix
	}
	return n.topicStem(topic)
}

// groupBase is what every group queue name of topic starts with, before
// "__": the topic's stem when it is short enough, else a hashed cut of it.
func (n namer) groupBase(topic string) string {
	stem := n.topicStem(topic)
	if len(stem) <= maxGroupBase {
		return stem
	}
	return stem[:maxGroupBase-1-hashDigits] + "-" + hash(topic)
}

// groupPrefix is the prefix listing the group queues of topic finds.
func (n namer) groupPrefix(topic string) string { return n.groupBase(topic) + groupSep }

func (n namer) groupQueue(topic, group string) string {
	base := n.groupBase(topic) + groupSep
	// The group part may hold "__": no topic's base does, so what follows
	// the first "__" is always the group's.
	g, changed := sanitize(group)
	if g == "" || strings.HasSuffix(g, redriveSuffix) {
		changed = true
	}
	suffix := ""
	if n.isFifo(topic) {
		suffix = fifoSuffix
	}
	room := maxQueueName - len(suffix) - len(base)
	if !changed && len(g) <= room {
		return base + g + suffix
	}
	keep := room - 1 - hashDigits
	if g == "" {
		g = "g"
	}
	return base + g[:min(len(g), keep)] + "-" + hash(topic+"\x00"+group) + suffix
}

// isGroupQueue reports whether a name a listing of groupPrefix returned is
// a group's queue (and not a redrive queue).
func isGroupQueue(name string) bool {
	stem, _ := splitFifo(name)
	return !strings.HasSuffix(stem, redriveSuffix)
}

func splitFifo(name string) (stem, suffix string) {
	if s, ok := strings.CutSuffix(name, fifoSuffix); ok {
		return s, fifoSuffix
	}
	return name, ""
}

// sanitize replaces every character outside [A-Za-z0-9_-] by '-' and
// reports whether it replaced any.
func sanitize(s string) (string, bool) {
	changed := false
	out := []byte(s)
	for i := range len(out) {
		c := out[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			out[i] = '-'
			changed = true
		}
	}
	if !changed {
		return s, false
	}
	// A multi-byte character becomes one '-' per byte, which keeps the
	// length in bytes, the unit SQS counts.
	return string(out), true
}

// noDoubleUnderscore turns every '_' that follows another (or, with
// afterUnderscore, that starts s) into '-'.
func noDoubleUnderscore(s string, afterUnderscore bool) string {
	out := []byte(s)
	prev := afterUnderscore
	for i, c := range out {
		if c == '_' && prev {
			out[i] = '-'
		}
		prev = out[i] == '_'
	}
	return string(out)
}

// hash is the first hashDigits hex digits of the SHA-256 of s.
func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:hashDigits]
}

// queueNameOf returns the last part of a queue URL: the queue's name.
func queueNameOf(queueURL string) string {
	return queueURL[strings.LastIndexByte(queueURL, '/')+1:]
}
