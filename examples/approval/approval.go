// Package approval waits for a human decision (a signal) or a deadline (a
// timer), whichever comes first, with Or.
package approval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
)

// Request asks for an expense approval.
type Request struct {
	Employee string        `json:"employee"`
	Amount   int           `json:"amount"`
	Deadline time.Duration `json:"deadline"`
}

// Decision is the approver's answer, sent as a signal.
type Decision struct {
	Approved bool   `json:"approved"`
	By       string `json:"by"`
}

// Outcome is the workflow's result.
type Outcome struct {
	Status string `json:"status"` // approved, rejected or expired
	By     string `json:"by,omitempty"`
}

// Definitions.
var (
	Notify    = weft.NewTask[Request, bool]("Mailer", "notifyApprover")
	Decisions = weft.NewChannel[Decision]("ExpenseApproval", "decisions")
	Approve   = weft.NewWorkflow[Request, Outcome]("ExpenseApproval", "approve")
)

// Workflow notifies the approver, then waits for a decision or the deadline.
func Workflow(ctx weft.Context, r Request) (Outcome, error) {
	decision := weft.Receive(ctx, Decisions)
	if _, err := weft.Call(ctx, Notify, r); err != nil {
		return Outcome{}, err
	}
	deadline := weft.Timer(ctx, r.Deadline)
	winner, err := weft.Or(decision, deadline).Await()
	if err != nil {
		return Outcome{}, err
	}
	if winner == 1 {
		return Outcome{Status: "expired"}, nil
	}
	d, err := decision.Await()
	if err != nil {
		return Outcome{}, err
	}
	if d.Approved {
		return Outcome{Status: "approved", By: d.By}, nil
	}
	return Outcome{Status: "rejected", By: d.By}, nil
}

// Register adds the workflow and the mailer to reg.
func Register(reg *weft.Registry, out io.Writer) error {
	return errors.Join(
		weft.RegisterTask(reg, Notify, func(_ weft.TaskContext, r Request) (bool, error) {
			fmt.Fprintf(out, "  [mailer] asked the approver about %s's expense of %d\n", r.Employee, r.Amount)
			return true, nil
		}),
		weft.RegisterWorkflow(reg, Approve, Workflow),
	)
}

// Demo runs one approval decided by a signal and one that expires.
func Demo(ctx context.Context, c *client.Client, out io.Writer) error {
	fmt.Fprintln(out, "== approval: a signal or a timer, whichever comes first (Or)")
	h, err := client.Dispatch(ctx, c, Approve, Request{Employee: "carol", Amount: 420, Deadline: time.Hour})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "approval 1 (%s): waiting up to 1h; the manager approves now\n", h.WorkflowID)
	// The dispatch and the signal travel on the same keyed topic, so the
	// signal reaches the instance after it started: either the reception is
	// open, or the first workflow task is running and the signal waits in
	// the instance's buffer until the reception it records is open.
	if err := client.Signal(ctx, c, Decisions, h.WorkflowID, Decision{Approved: true, By: "dave"}); err != nil {
		return err
	}
	res, err := h.Await(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "approval 1 result: %s by %s\n", res.Status, res.By)

	h2, err := client.Dispatch(ctx, c, Approve, Request{Employee: "erin", Amount: 9000, Deadline: 300 * time.Millisecond})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "approval 2 (%s): nobody answers within 300ms\n", h2.WorkflowID)
	res, err = h2.Await(ctx)
	if err != nil {
		return err
	}
	if res.Status != "expired" {
		return fmt.Errorf("approval 2: status %q, want expired", res.Status)
	}
	fmt.Fprintf(out, "approval 2 result: %s\n", res.Status)
	return nil
}
