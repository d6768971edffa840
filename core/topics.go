package core

import (
	"fmt"
	"strings"
)

// Topic prefixes. A topic name is "<prefix>:<entity>" where the entity is a
// workflow or service name (or a client name for responses).
const (
	PrefixWorkflowCmd          = "workflow-cmd"
	PrefixWorkflowEngine       = "workflow-engine"
	PrefixWorkflowDelay        = "workflow-delay"
	PrefixWorkflowTaskExecutor = "workflow-task-executor"
	PrefixWorkflowTaskRetry    = "workflow-task-retry"
	PrefixTaskExecutor         = "task-executor"
	PrefixTaskRetry            = "task-retry"
	PrefixWorkflowTag          = "workflow-tag"
	PrefixTaskTag              = "task-tag"
	PrefixWorkflowEvents       = "workflow-events"
	PrefixTaskEvents           = "task-events"
	PrefixResponse             = "response"
)

// Topic builds "<prefix>:<entity>".
func Topic(prefix, entity string) string { return prefix + ":" + entity }

// SplitTopic returns the prefix and entity of a topic name.
func SplitTopic(topic string) (prefix, entity string, err error) {
	p, e, ok := strings.Cut(topic, ":")
	if !ok || p == "" || e == "" {
		return "", "", fmt.Errorf("topic %q is not of the form <prefix>:<entity>", topic)
	}
	return p, e, nil
}

// DeadLetterTopic names the dead-letter topic of topic: "<prefix>-dlq:<entity>".
func DeadLetterTopic(topic string) string {
	p, e, err := SplitTopic(topic)
	if err != nil {
		return topic + "-dlq"
	}
	return p + "-dlq:" + e
}

// IsKeyedPrefix reports whether topics with this prefix need per-key order.
func IsKeyedPrefix(prefix string) bool {
	switch prefix {
	case PrefixWorkflowCmd, PrefixWorkflowEngine, PrefixWorkflowTaskExecutor, PrefixWorkflowTag, PrefixTaskTag:
		return true
	}
	return false
}
