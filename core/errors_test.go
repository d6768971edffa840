package core

import "testing"

// TestErrorTextNamesWhatWasWrong: the text of an error names the ids it
// carries, whether or not the task or workflow name is known too.
func TestErrorTextNamesWhatWasWrong(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{&Error{Code: CodeWorkflowUnknown, WorkflowID: "w-1", Message: "no such workflow instance"},
			"workflow_unknown (workflow w-1): no such workflow instance"},
		{&Error{Code: CodeWorkflowUnknown, Workflow: "Trip", WorkflowID: "w-1"}, "workflow_unknown Trip (workflow w-1)"},
		{&Error{Code: CodeWorkflowFailed, Workflow: "Trip", Method: "book", WorkflowID: "w-1", MethodRunID: "w-1"}, "workflow_failed Trip.book (workflow w-1)"},
		{&Error{Code: CodeWorkflowUnknown, Workflow: "Trip", WorkflowID: "w-1", MethodRunID: "run-2"},
			"workflow_unknown Trip (workflow w-1, method run run-2)"},
		{&Error{Code: CodeTaskFailed, Service: "Pay", Method: "charge", TaskID: "t-1"}, "task_failed Pay.charge (task t-1)"},
		{&Error{Code: CodeTaskUnknown, TaskID: "t-1"}, "task_unknown (task t-1)"},
		{&Error{Code: CodeBadInput, Message: "nope"}, "bad_input: nope"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", *tc.err, got, tc.want)
		}
	}
}
