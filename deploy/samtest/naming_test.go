package samtest

import "strings"

// The SQS transport's naming rule, restated here so that this package
// stands apart from the transport; transport/sqs's own tests hold the
// rule itself. Topic "prefix:entity" is the queue QueuePrefix + prefix +
// "_" + entity, with ".fifo" for the keyed prefixes; its weft dead-letter
// queue is QueuePrefix + prefix + "-dlq_" + entity (standard); the SQS
// redrive queue of a queue is its name with "-redrive" before any ".fifo".

var fifoPrefixes = map[string]bool{
	"workflow-cmd": true, "workflow-engine": true, "workflow-task-executor": true, "workflow-tag": true, "task-tag": true,
}

func queueName(queuePrefix, prefix, entity string) string {
	n := queuePrefix + prefix + "_" + entity
	if fifoPrefixes[prefix] {
		n += ".fifo"
	}
	return n
}

func deadLetterName(queuePrefix, prefix, entity string) string {
	return queuePrefix + prefix + "-dlq_" + entity
}

func redriveName(queue string) string {
	if base, ok := strings.CutSuffix(queue, ".fifo"); ok {
		return base + "-redrive.fifo"
	}
	return queue + "-redrive"
}

// The roles: the function that runs each, and the topic prefixes it
// consumes per workflow and per service.
type role struct {
	name, function       string
	workflows, services  []string
	storage, needsEvents bool
}

var roles = []role{
	{name: "state-engine", function: "StateEngineFunction", storage: true,
		workflows: []string{"workflow-cmd", "workflow-engine", "workflow-delay"}},
	{name: "executor", function: "ExecutorFunction", storage: true,
		workflows: []string{"workflow-task-executor", "workflow-task-retry"}, services: []string{"task-executor", "task-retry"}},
	{name: "tag-engine", function: "TagEngineFunction", storage: true,
		workflows: []string{"workflow-tag"}, services: []string{"task-tag"}},
	{name: "event-listener", function: "EventListenerFunction", needsEvents: true,
		workflows: []string{"workflow-events"}, services: []string{"task-events"}},
}

// consumed is one queue a role's function consumes.
type consumed struct {
	queue, deadLetters string // deadLetters: "" for the delay queue, which has no topic
	role               role
}

// topology lists the queues each role consumes: its topics' queues for
// the workflows and services, and for the state engine the transport's
// delay queue, QueuePrefix + "delay", whose due messages it forwards.
func topology(queuePrefix string, workflows, services []string, events bool) []consumed {
	var out []consumed
	for _, r := range roles {
		if r.needsEvents && !events {
			continue
		}
		for _, p := range r.workflows {
			for _, w := range workflows {
				out = append(out, consumed{queueName(queuePrefix, p, w), deadLetterName(queuePrefix, p, w), r})
			}
		}
		for _, p := range r.services {
			for _, sv := range services {
				out = append(out, consumed{queueName(queuePrefix, p, sv), deadLetterName(queuePrefix, p, sv), r})
			}
		}
		if r.name == "state-engine" {
			out = append(out, consumed{queue: queuePrefix + "delay", role: r})
		}
	}
	return out
}
