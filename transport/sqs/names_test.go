package sqs_test

import (
	"strings"
	"testing"

	"github.com/weftio/weft/transport/sqs"
)

// TestQueueNames pins the names deployment templates compute.
func TestQueueNames(t *testing.T) {
	t.Parallel()
	d := sqs.DefaultConfig()
	long := strings.Repeat("VeryLongWorkflowName", 5)
	for _, tc := range []struct {
		topic, want string
	}{
		{"workflow-engine:TripBooking", "weft-workflow-engine_TripBooking.fifo"},
		{"workflow-cmd:TripBooking", "weft-workflow-cmd_TripBooking.fifo"},
		{"workflow-task-executor:TripBooking", "weft-workflow-task-executor_TripBooking.fifo"},
		{"workflow-tag:TripBooking", "weft-workflow-tag_TripBooking.fifo"},
		{"task-tag:Hotel", "weft-task-tag_Hotel.fifo"},
		{"task-executor:Hotel", "weft-task-executor_Hotel"},
		{"task-retry:Hotel", "weft-task-retry_Hotel"},
		{"workflow-delay:TripBooking", "weft-workflow-delay_TripBooking"},
		{"workflow-events:TripBooking", "weft-workflow-events_TripBooking"},
		{"response:client-1", "weft-response_client-1"},
		{"workflow-engine-dlq:TripBooking", "weft-workflow-engine-dlq_TripBooking"},
		{"task-executor:Hotel_Service", "weft-task-executor_Hotel_Service"},
		// Replaced characters, "__", a reserved ending, too long, no
		// prefix: cut and hashed.
		{"task-executor:billing.Invoice", "weft-task-executor_billing-Invoice-c26709427a"},
		{"task-executor:a__b", "weft-task-executor_a_-b-a53ef5430a"},
		{"task-executor:_a", "weft-task-executor_-a-e76d586fcc"},
		{"task-executor:x-redrive", "weft-task-executor_x-redrive-877c63befe"},
		{"workflow-engine:" + long, "weft-workflow-engine_VeryLongWorkflowNameVeryLongWorkflowNameVer-c7390c960a.fifo"},
		{"orphan", "weft-orphan-88f6811ab5"},
		{"a_b:c", "weft-a_b_c-b42d7d0bca"},
	} {
		if got := d.QueueName(tc.topic); got != tc.want {
			t.Errorf("QueueName(%q) = %q, want %q", tc.topic, got, tc.want)
		}
	}
	if got := d.GroupQueueName("workflow-engine:TripBooking", "state-engine"); got != "weft-workflow-engine_TripBooking__state-engine.fifo" {
		t.Errorf("GroupQueueName = %q", got)
	}
	if got := d.GroupQueueName("task-executor:Hotel", "audit"); got != "weft-task-executor_Hotel__audit" {
		t.Errorf("GroupQueueName = %q", got)
	}
	if got := d.DelayQueueName(); got != "weft-delay" {
		t.Errorf("DelayQueueName = %q", got)
	}
	for queue, want := range map[string]string{
		"weft-workflow-engine_TripBooking.fifo": "weft-workflow-engine_TripBooking-redrive.fifo",
		"weft-task-executor_Hotel":              "weft-task-executor_Hotel-redrive",
		"weft-delay":                            "weft-delay-redrive",
	} {
		if got := sqs.RedriveQueueName(queue); got != want {
			t.Errorf("RedriveQueueName(%q) = %q, want %q", queue, got, want)
		}
	}
	c := sqs.Config{QueuePrefix: "prod-", FifoPrefixes: sqs.Prefixes{}}
	if got := c.QueueName("workflow-engine:TripBooking"); got != "prod-workflow-engine_TripBooking" || c.IsFifo("workflow-engine:TripBooking") {
		t.Errorf("without FIFO prefixes: %q (fifo %v)", got, c.IsFifo("workflow-engine:TripBooking"))
	}
}
