package core

import (
	"bytes"
	"encoding/json"
	"slices"
)

// mayChange reports whether a command's record can still change: it is
// not final yet, or it is a reception that can take more signals.
func mayChange(c *Command) bool {
	if c.Kind == KindReceive {
		limit := c.Limit
		if limit == 0 {
			limit = 1 // as the state engine opens it
		}
		return limit < 0 || len(c.Statuses) < limit
	}
	return !c.Latest().State.Terminal()
}

func (c *Command) clone() *Command {
	cc := *c
	cc.Statuses = slices.Clone(c.Statuses)
	return &cc
}

// Retreat steps back over the await that just suspended (Await returned
// ErrSuspend), so that the code, kept where it stopped, can await it
// again once Resume has brought its outcome.
func (r *Replay) Retreat() { r.pos-- }

// Resume carries a replay that suspended at its last await over to t, the
// next workflow task of the same method run, without replaying the code
// from the start: it takes from t the outcome of that await and the new
// statuses of the commands still open, and returns true. t may hold only
// the part of the history in the state (its pages not merged): what Resume
// needs is always there, or it returns false.
//
// It returns false, and the code must then be replayed from the start,
// when t's history is not the one this replay produced last (the state
// engine recorded another result of that workflow task, say with other
// inline values) or the await is not decided in it.
func (r *Replay) Resume(t *ExecuteWorkflowTask) bool {
	run := t.Method
	if run == nil || run.ID != r.run.ID || r.lastStep == nil || t.Index <= r.task.Index || run.LastTaskID != r.task.TaskID {
		// Not the history that went on from this replay's last task (a
		// result of another task was recorded: of another replica, or of a
		// task dispatched by an engine that lost its write).
		return false
	}
	// The await is the last position recorded, and now decided.
	var st *Step
	if run.Current != nil {
		if run.Current.Position != r.pos+1 {
			return false
		}
		st = run.Current
	} else if k := len(run.Steps) - 1; k >= 0 && run.Steps[k].Position == r.pos+1 {
		st = run.Steps[k]
	}
	if st == nil || !st.Decided() || st.Hash != r.lastStep.Hash {
		return false
	}
	byPos := make(map[int]*Command, len(run.Commands))
	byID := make(map[string]*Command, len(run.Commands))
	for _, c := range run.Commands {
		if c.Position > r.pos {
			return false // recorded past the await: another history
		}
		byPos[c.Position] = c
		byID[c.ID] = c
	}
	for _, mine := range r.lastCmds {
		rec := byPos[mine.Position]
		if rec == nil || rec.ID != mine.ID || !mine.SameAs(rec, CheckStrict) {
			return false
		}
		if (mine.Kind == KindInline || mine.Kind == KindSend || mine.Kind == KindByTag) && !sameStatuses(mine.Statuses, rec.Statuses) {
			return false // an inline recorded with another value
		}
	}
	updated := map[string]*Command{}
	for id, mine := range r.open {
		rec := byID[id]
		if rec == nil {
			return false // final and moved to a page: its last statuses are not here
		}
		if len(rec.Statuses) < len(mine.Statuses) || !sameStatuses(mine.Statuses, rec.Statuses[:len(mine.Statuses)]) {
			return false // what this replay saw is not what was recorded
		}
		if len(rec.Statuses) != len(mine.Statuses) || rec.RetrySeq != mine.RetrySeq {
			updated[id] = rec
		}
	}
	// Every check passed: take the new records and the decided step. A
	// record is overwritten in place: the code's deferreds point to it.
	for id, rec := range updated {
		*r.open[id] = *rec.clone()
	}
	for id, c := range r.open {
		if !mayChange(c) {
			delete(r.open, id)
		}
	}
	r.steps[r.pos+1] = st.copy()
	r.run.ArchivedThrough = run.ArchivedThrough // for StepCommands
	r.task = t
	r.newCmds, r.newStep, r.lastCmds, r.lastStep = nil, nil, nil, nil
	return true
}

// sameStatuses reports whether two status histories are the same, as
// recorded (every field, errors whole).
func sameStatuses(a, b []Status) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 {
		return true
	}
	x, errx := json.Marshal(a)
	y, erry := json.Marshal(b)
	return errx == nil && erry == nil && bytes.Equal(x, y)
}
