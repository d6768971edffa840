package core

import (
	"slices"
	"testing"
	"time"
)

// TestRedispatchKeepsOrReleasesItsTags: the tags of a second dispatch with
// an existing id were recorded by the tag engine; a live instance adopts
// them (released when it ends), an ended one releases them at once.
func TestRedispatchKeepsOrReleasesItsTags(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := func(tags ...string) *DispatchWorkflow {
		return &DispatchWorkflow{WorkflowID: "x", Workflow: "W", Method: "run", Tags: tags}
	}
	tr, err := Apply(nil, Input{ID: "in-1", Instant: t0, Msg: d("a")}, t0)
	if err != nil {
		t.Fatal(err)
	}
	tr, err = Apply(tr.State, Input{ID: "in-2", Instant: t0, Msg: d("b")}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tr.State.Tags, []string{"a", "b"}) {
		t.Errorf("live instance tags %v, want [a b]", tr.State.Tags)
	}
	ended := tr.State
	ended.Result = &Result{State: StateCompleted, EndedAt: t0}
	tr, err = Apply(ended, Input{ID: "in-3", Instant: t0, Msg: d("c")}, t0)
	if err != nil {
		t.Fatal(err)
	}
	var removed []string
	for _, o := range tr.Outputs {
		if m, ok := o.Msg.(*RemoveTagFromWorkflow); ok && m.WorkflowID == "x" && o.Key == m.Tag {
			removed = append(removed, m.Tag)
		}
	}
	if !slices.Equal(removed, []string{"c"}) {
		t.Errorf("ended instance released %v, want [c]", removed)
	}
}
