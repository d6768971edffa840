package sqs

import (
	"strings"
	"testing"
)

// validName: what SQS takes as a queue name.
func validName(t *testing.T, what, name string, fifo bool) {
	t.Helper()
	stem, isFifo := strings.CutSuffix(name, fifoSuffix)
	if isFifo != fifo {
		t.Errorf("%s %q: .fifo is %v, want %v", what, name, isFifo, fifo)
	}
	if len(name) == 0 || len(name) > maxQueueName {
		t.Errorf("%s %q: %d characters", what, name, len(name))
	}
	if _, changed := sanitize(stem); changed {
		t.Errorf("%s %q: characters SQS refuses", what, name)
	}
}

// FuzzQueueNames: every name is one SQS takes; distinct topics (and
// groups) get distinct queues; the kinds of names never meet, and listing
// a topic's group queues finds no other topic's.
func FuzzQueueNames(f *testing.F) {
	for _, s := range [][3]string{
		{"workflow-engine:TripBooking", "workflow-engine:Trip_Booking", "g"},
		{"a_b:c", "a:b_c", "state-engine"},
		{"task-executor:x", "task-executor:x-redrive", "x-redrive"},
		{"task-executor:a__b", "task-executor:a", "_b"},
		{"task-executor:a", "task-executor:a__b", "b"},
		{"workflow-engine:" + strings.Repeat("W", 100), "workflow-engine:" + strings.Repeat("W", 101), strings.Repeat("g", 90)},
		{"p:é", "p:e", "grüppe"},
		{"", ":", "__"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	namers := []namer{DefaultConfig().namer(), Config{QueuePrefix: "p_", FifoPrefixes: Prefixes{"a", "p", "task-executor"}}.namer()}
	f.Fuzz(func(t *testing.T, a, b, group string) {
		for _, n := range namers {
			qa, qb := n.queue(a), n.queue(b)
			ga, gb := n.groupQueue(a, group), n.groupQueue(b, group)
			validName(t, "queue", qa, n.isFifo(a))
			validName(t, "group queue", ga, n.isFifo(a))
			validName(t, "redrive queue", RedriveQueueName(qa), n.isFifo(a))
			validName(t, "redrive queue", RedriveQueueName(ga), n.isFifo(a))
			stem, _ := splitFifo(qa)
			if rest := stem[len(n.prefix):]; strings.Contains(rest, groupSep) || strings.HasPrefix(rest, "_") && strings.HasSuffix(n.prefix, "_") ||
				strings.HasSuffix(stem, redriveSuffix) {
				t.Errorf("topic queue %q holds __ or ends in -redrive", qa)
			}
			if !strings.HasPrefix(ga, n.groupPrefix(a)) || !isGroupQueue(ga) || isGroupQueue(RedriveQueueName(ga)) {
				t.Errorf("group queue %q (prefix %q)", ga, n.groupPrefix(a))
			}
			if strings.HasPrefix(qa, n.groupPrefix(b)) || strings.HasPrefix(qb, n.groupPrefix(a)) {
				t.Errorf("a topic queue (%q, %q) is listed as a group queue", qa, qb)
			}
			if group != "g" && ga == n.groupQueue(a, "g") {
				t.Errorf("groups %q and g share queue %q", group, ga)
			}
			for _, q := range []string{qa, ga, RedriveQueueName(qa), RedriveQueueName(ga)} {
				if q == n.delay() || q == RedriveQueueName(n.delay()) {
					t.Errorf("%q is the delay queue's name", q)
				}
			}
			if a == b {
				continue
			}
			if qa == qb || ga == gb || qa == gb || ga == qb {
				t.Errorf("topics %q and %q share a queue: %q %q %q %q", a, b, qa, qb, ga, gb)
			}
			if strings.HasPrefix(ga, n.groupPrefix(b)) {
				t.Errorf("group queue %q of %q is listed for %q", ga, a, b)
			}
		}
	})
}
