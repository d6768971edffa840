package functions

import (
	"context"
	"time"

	"github.com/weftio/weft/core"
)

// Outboxes carried in a state are kept at most carryFor and maxCarried.
const (
	carryFor   = time.Hour
	maxCarried = 8
)

// outboxes decides what a handling of input publishes again of the stored
// state's outboxes, into res.Outputs, and returns those the new state
// carries. The state's own outbox is published again only when it is not
// known to be out and the input is the one that wrote it, come again: its
// handling may have stopped after the write. Not known to be out and
// found by another input (after a restart, typically), it is carried: an
// input whose handling did not finish is delivered again, and its outbox
// goes out then; carried, an outbox nobody comes back for is forgotten
// after carryFor. So a restart publishes nothing twice, and an outbox
// that may not have gone out is never lost.
func (e *StateEngine) outboxes(ctx context.Context, state *core.WorkflowState, sent bool, inputID string, now time.Time, res *Result) (carried []core.OutboxBatch, resent bool, err error) {
	if state == nil {
		return nil, false, nil
	}
	if len(state.Outbox) > 0 && !sent {
		expand := func(t *core.ExecuteWorkflowTask) (*core.ExecuteWorkflowTask, error) {
			return e.history.expand(ctx, t, nil)
		}
		if e.cfg.HistoryByReference {
			expand = nil // sent as it is
		}
		outbox, err := state.OutboxEnvelopes(expand)
		if err != nil {
			if IsUnavailable(err) {
				return nil, false, err
			}
			return nil, false, Permanent("stored outbox cannot be rebuilt", err)
		}
		if state.OutboxWriter() == inputID {
			res.Outputs = append(res.Outputs, outbox...)
			resent = true
		} else {
			carried = append(carried, core.OutboxBatch{InputID: state.OutboxWriter(), Written: state.UpdatedAt, Envelopes: outbox})
		}
	}
	for _, b := range state.Carried {
		switch {
		case b.InputID == inputID:
			res.Outputs = append(res.Outputs, b.Envelopes...)
		case now.Sub(b.Written) < carryFor && len(carried) < maxCarried:
			carried = append(carried, b)
		default:
			e.cfg.Logger.Debug("carried outbox forgotten: its input never came back", "workflow", state.WorkflowName, "id", state.WorkflowID, "input", b.InputID)
		}
	}
	return carried, resent, nil
}
