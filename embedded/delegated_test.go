package embedded_test

import (
	"errors"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
)

var (
	review     = weft.NewTask[string, string]("Reviews", "review")
	reviewFlow = weft.NewWorkflow[string, string]("Publish", "run")
)

// TestDelegatedTaskCompletedByAnOutsideSystem runs a workflow whose task
// hands the work to an "outside system" (a goroutine here) that completes
// it through the client, sometimes before the attempt has even returned
// (so before the delegation is recorded), and sometimes fails it.
func TestDelegatedTaskCompletedByAnOutsideSystem(t *testing.T) {
	type job struct{ taskID, text string }
	jobs := make(chan job, 10)
	reg := weft.NewRegistry()
	var c *client.Client
	weft.MustRegister(weft.RegisterTask(reg, review, func(ctx weft.TaskContext, text string) (string, error) {
		if text == "early" {
			// The outside system answers before this attempt returns.
			if err := client.CompleteTask(ctx, c, review, ctx.Info().TaskID, "approved early"); err != nil {
				return "", err
			}
			time.Sleep(20 * time.Millisecond)
		} else {
			jobs <- job{ctx.Info().TaskID, text}
		}
		return "ignored: the outside system answers", nil
	}, weft.Delegated()))
	weft.MustRegister(weft.RegisterWorkflow(reg, reviewFlow, func(ctx weft.Context, text string) (string, error) {
		return weft.Call(ctx, review, text)
	}))
	c, ctx := start(t, reg, embedded.Options{})
	go func() {
		for j := range jobs {
			time.Sleep(10 * time.Millisecond)
			if j.text == "bad" {
				_ = c.FailDelegatedTask(ctx, "Reviews", j.taskID, "rejected by the reviewer")
				continue
			}
			_ = client.CompleteTask(ctx, c, review, j.taskID, "approved: "+j.text)
			// A second completion is ignored.
			_ = client.CompleteTask(ctx, c, review, j.taskID, "approved twice")
		}
	}()
	t.Cleanup(func() { close(jobs) })

	if got, err := client.Run(ctx, c, reviewFlow, "post"); err != nil || got != "approved: post" {
		t.Errorf("completed later: %q, %v", got, err)
	}
	if got, err := client.Run(ctx, c, reviewFlow, "early"); err != nil || got != "approved early" {
		t.Errorf("completed before the delegation was recorded: %q, %v", got, err)
	}
	_, err := client.Run(ctx, c, reviewFlow, "bad")
	var we *weft.Error
	if !errors.Is(err, weft.ErrWorkflowFailed) || !errors.As(err, &we) {
		t.Fatalf("failed delegated task: %v, want the workflow to fail", err)
	}
	if !errors.Is(err, weft.ErrTaskFailed) {
		t.Errorf("failure %v does not carry the task failure", err)
	}
}
