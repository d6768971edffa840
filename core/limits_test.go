package core

import (
	"strings"
	"testing"
	"time"
)

// TestEnvelopeFitsAgreesWithTheEncoding: whatever shortcut EnvelopeFits
// takes, its answer is the encoding's, on both sides of the limit.
func TestEnvelopeFitsAgreesWithTheEncoding(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 100, 3000, 4000, 5000, 9000} {
		for _, subject := range []string{"w-1", strings.Repeat("\"", 300), "\xff"} {
			env, err := BuildEnvelope(Out{Topic: "workflow-engine:W", Key: "w-1", Subject: subject,
				Msg: &CommandResult{Kind: TaskCompleted, Workflow: "W", WorkflowID: "w-1", CommandID: "c", Value: []byte(`"` + strings.Repeat("v", n) + `"`)}},
				"in", time.Unix(1, 0), "test", time.Unix(1, 0))
			if err != nil {
				t.Fatal(err)
			}
			b, err := EncodeEnvelope(env)
			if err != nil {
				t.Fatal(err)
			}
			for _, limit := range []int{len(b) - 1, len(b), len(b) + 1, 2 * len(b)} {
				if _, ok := EnvelopeFits(env, limit); ok != (len(b) <= limit) {
					t.Errorf("data %d, subject %q: EnvelopeFits(limit %d) = %v, the encoding is %d bytes", n, subject, limit, ok, len(b))
				}
			}
		}
	}
}

func TestFitResultFailsAResultTooLargeForAMessage(t *testing.T) {
	t.Parallel()
	task := &ExecuteWorkflowTask{TaskID: "t", WorkflowID: "w", Workflow: "W", Method: &MethodRun{ID: "w", Name: "run"}}
	small := &WorkflowTaskCompleted{TaskID: "t", WorkflowID: "w", Workflow: "W", MethodRunID: "w", CodeVersion: 2, Value: []byte(`1`)}
	if got := FitResult(task, small, 8<<10); got != small {
		t.Fatalf("a small result was replaced: %#v", got)
	}
	big := *small
	big.Value = []byte(`"` + strings.Repeat("x", 8<<10) + `"`)
	f, ok := FitResult(task, &big, 8<<10).(*WorkflowTaskFailed)
	if !ok || f.TaskID != "t" || f.CodeVersion != 2 || f.Error.Cause == nil || f.Error.Cause.Code != CodePayloadTooLarge ||
		!strings.Contains(f.Error.Error(), "bytes, over the") {
		t.Fatalf("a too large result gave %#v", f)
	}
}
