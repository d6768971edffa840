package weft

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/weftio/weft/core"
)

// ReplayProblemKind classifies a problem found by CheckReplay.
type ReplayProblemKind string

// Problem kinds. The first ones are divergences between the recorded
// history and what the code does now at a position; the last ones say why
// a state could not be replayed at all.
const (
	// ReplayCommandChanged: history has a command at the position, the
	// code now issues another one (another task, a timer instead of a
	// task, ...).
	ReplayCommandChanged ReplayProblemKind = "command-changed"
	// ReplayArgumentsChanged: the same command (kind and name) with other
	// arguments: input, timer duration, target, channel options. Only the
	// strict check mode stops on it.
	ReplayArgumentsChanged ReplayProblemKind = "arguments-changed"
	// ReplayCommandMissing: history has a command at the position, the
	// code now awaits there (a command was removed or moved later).
	ReplayCommandMissing ReplayProblemKind = "command-missing"
	// ReplayCommandAdded: the code issues a command (or an inline) where
	// history has an await, or where history decided an await at once.
	ReplayCommandAdded ReplayProblemKind = "command-added"
	// ReplayStepChanged: the code awaits something else than the recorded
	// step (awaits reordered, other deferreds, another And/Or shape).
	ReplayStepChanged ReplayProblemKind = "step-changed"
	// ReplayStepAdded: the code waits where history decided an await at
	// once.
	ReplayStepAdded ReplayProblemKind = "step-added"
	// ReplayHistoryLeft: the code returned, failed or waits before the end
	// of the recorded history (commands removed at the end).
	ReplayHistoryLeft ReplayProblemKind = "history-left"
	// ReplayCodeContinues: history says the method run returned, the code
	// now goes on after that point.
	ReplayCodeContinues ReplayProblemKind = "code-continues"
	// ReplayCodeFailed: the replay cannot run the recorded history: the
	// code panicked, did not finish in time, or recorded properties no
	// longer decode.
	ReplayCodeFailed ReplayProblemKind = "code-failed"
	// ReplayInputMismatch: the method run's recorded input no longer
	// decodes into the method's input type.
	ReplayInputMismatch ReplayProblemKind = "input-mismatch"
	// ReplayUnknownWorkflow: the registry has no such workflow.
	ReplayUnknownWorkflow ReplayProblemKind = "unknown-workflow"
	// ReplayUnknownVersion: the instance is pinned to a code version that
	// is no longer registered.
	ReplayUnknownVersion ReplayProblemKind = "unknown-version"
	// ReplayUnknownMethod: the code version has no such method.
	ReplayUnknownMethod ReplayProblemKind = "unknown-method"
	// ReplayUndecodableState: the stored state does not decode.
	ReplayUndecodableState ReplayProblemKind = "undecodable-state"
)

// ReplayProblem is one divergence between a recorded history and the
// registered code, or a reason a state cannot be replayed.
type ReplayProblem struct {
	Kind ReplayProblemKind
	// Source names where the state came from (a file, a storage key); ""
	// for a state given in memory.
	Source      string
	Workflow    string
	WorkflowID  string
	Method      string
	MethodRunID string
	// Version is the code version the instance runs: the one it is pinned
	// to, or the latest registered one before its first workflow task.
	Version int
	// Position is the history position of the divergence, -1 when the
	// problem is not tied to one.
	Position int
	// Recorded is what history recorded at Position, Now what the code
	// does there now: command kind and name, input and its hash, timer
	// duration, or the shape of an awaited step.
	Recorded, Now string
	// Mode is the check mode the workflow version is registered with.
	Mode core.CheckMode
	// Breaks reports whether production, with Mode, fails the method's
	// next workflow task on this (a workflow-changed error: the instance
	// waits for compatible code and a retry). False means production goes
	// on silently with a replay that no longer matches what the code means
	// (CheckReplay itself always compares strictly).
	Breaks      bool
	Explanation string
}

func (p ReplayProblem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", p.Kind, p.where())
	switch {
	case p.Kind == ReplayUndecodableState:
		b.WriteString("\n  verdict:  cannot be checked")
	case p.Mode == "":
		b.WriteString("\n  verdict:  BREAKS the instance: no registered code can run it")
	case p.Breaks:
		fmt.Fprintf(&b, "\n  verdict:  BREAKS the instance (check mode %s)", p.Mode)
	default:
		fmt.Fprintf(&b, "\n  verdict:  not caught by check mode %s: the instance goes on with a replay that no longer matches", p.Mode)
	}
	if p.Recorded != "" || p.Now != "" {
		fmt.Fprintf(&b, "\n  history:  %s\n  code now: %s", orDash(p.Recorded), orDash(p.Now))
	}
	fmt.Fprintf(&b, "\n  why:      %s", p.Explanation)
	return b.String()
}

func (p ReplayProblem) where() string {
	var parts []string
	if p.Source != "" {
		parts = append(parts, p.Source)
	}
	if p.Workflow != "" {
		parts = append(parts, "workflow "+p.Workflow)
	}
	if p.WorkflowID != "" {
		parts = append(parts, "id "+p.WorkflowID)
	}
	if p.Method != "" {
		parts = append(parts, "method "+p.Method)
	}
	if p.MethodRunID != "" && p.MethodRunID != p.WorkflowID {
		parts = append(parts, "run "+p.MethodRunID)
	}
	if p.Kind != ReplayUnknownWorkflow && p.Kind != ReplayUndecodableState {
		parts = append(parts, fmt.Sprintf("code version %d", p.Version))
	}
	if p.Position >= 0 {
		parts = append(parts, fmt.Sprintf("position %d", p.Position))
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ReplayRun is how the replay of one method run went.
type ReplayRun struct {
	Source      string
	Workflow    string
	WorkflowID  string
	Method      string
	MethodRunID string
	Version     int
	Mode        core.CheckMode
	// History is the number of positions the run's history records (the
	// last recorded position + 1; awaits decided at once leave no record
	// but use a position).
	History int
	// Replayed is the number of those positions the code went through
	// before the first divergence that stops a replay (History when none).
	Replayed int
	// Outcome says how the replay ended.
	Outcome  string
	Problems int
}

// ReplayReport is the result of a replay check.
type ReplayReport struct {
	// States counts the states read, Ended the result records among them
	// (ended instances keep no history, so there is nothing to replay).
	States, Ended int
	Runs          []ReplayRun
	Problems      []ReplayProblem
}

// OK reports whether no problem was found.
func (rep *ReplayReport) OK() bool { return len(rep.Problems) == 0 }

// Positions returns the history positions replayed and recorded, over all
// method runs.
func (rep *ReplayReport) Positions() (replayed, recorded int) {
	for _, r := range rep.Runs {
		replayed += r.Replayed
		recorded += r.History
	}
	return replayed, recorded
}

// Merge adds the states, runs and problems of o to rep.
func (rep *ReplayReport) Merge(o *ReplayReport) {
	rep.States += o.States
	rep.Ended += o.Ended
	rep.Runs = append(rep.Runs, o.Runs...)
	rep.Problems = append(rep.Problems, o.Problems...)
}

// Summary is the report's first line.
func (rep *ReplayReport) Summary() string {
	replayed, recorded := rep.Positions()
	s := fmt.Sprintf("%s, %s replayed: %d of %d recorded history positions",
		plural(rep.States, "state"), plural(len(rep.Runs), "method run"), replayed, recorded)
	if rep.Ended > 0 {
		s += fmt.Sprintf("; %s skipped (ended instances keep only their result, no history)", plural(rep.Ended, "result record"))
	}
	return s
}

// String is the human report: the summary, every problem, and a verdict.
func (rep *ReplayReport) String() string { return rep.format(false) }

// Verbose is String with one line per replayed method run.
func (rep *ReplayReport) Verbose() string { return rep.format(true) }

func (rep *ReplayReport) format(verbose bool) string {
	var b strings.Builder
	b.WriteString(rep.Summary())
	b.WriteByte('\n')
	if verbose {
		for _, r := range rep.Runs {
			mark := "ok  "
			if r.Problems > 0 {
				mark = "FAIL"
			}
			fmt.Fprintf(&b, "  %s %s %s", mark, r.Workflow, r.WorkflowID)
			if r.MethodRunID != r.WorkflowID {
				fmt.Fprintf(&b, " run %s", r.MethodRunID)
			}
			fmt.Fprintf(&b, " (%s, code version %d, mode %s): %d/%d positions, %s", r.Method, r.Version, r.Mode, r.Replayed, r.History, r.Outcome)
			if r.Source != "" {
				fmt.Fprintf(&b, " [%s]", r.Source)
			}
			b.WriteByte('\n')
		}
	}
	breaks := 0
	for i, p := range rep.Problems {
		if p.Breaks {
			breaks++
		}
		fmt.Fprintf(&b, "\nproblem %d of %d: %s\n", i+1, len(rep.Problems), p)
	}
	if rep.OK() {
		b.WriteString("OK: the code replays every recorded history\n")
	} else {
		fmt.Fprintf(&b, "\nFAIL: %s, %d of them break running instances with their configured check mode\n", plural(len(rep.Problems), "problem"), breaks)
	}
	return b.String()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// CheckReplay replays the recorded history of every method run of the
// given workflow states with the code registered here, and reports every
// place where the code no longer matches its history: run it before a
// deploy, against states exported from production (weft describe), to
// know whether running instances would break.
//
// Each live method run (and each run that returned or failed but is still
// kept in the state) is replayed with the code version the instance is
// pinned to, comparing every command and await strictly, whatever check
// mode the workflow is registered with; each problem also says whether
// that configured mode would stop the instance (ReplayProblem.Breaks) or
// let it go on silently. The replay stops at the end of the recorded
// history: nothing is dispatched, no inline side effect runs for a new
// position, and the states are not modified. Result records (ended
// instances) have no history; they are counted in ReplayReport.Ended.
// Unknown workflows, code versions no longer registered, unknown methods
// and inputs that no longer decode are problems too.
//
// In your own repository, keep a few exported states (weft describe ID >
// testdata/replay/ID.json) and check them in a test, so that go test fails
// on an incompatible change:
//
//	func TestReplayRecordedHistories(t *testing.T) {
//		reg := weft.NewRegistry()
//		myapp.Register(reg) // the code about to be deployed
//		rep, err := reg.CheckReplayFiles("testdata/replay")
//		if err != nil {
//			t.Fatal(err)
//		}
//		if !rep.OK() {
//			t.Fatal(rep)
//		}
//	}
//
// The weft CLI does the same against the examples: weft replay -file DIR.
func (r *Registry) CheckReplay(states ...*core.WorkflowState) *ReplayReport {
	rep := &ReplayReport{}
	for _, s := range states {
		if s == nil {
			rep.States++
			rep.Problems = append(rep.Problems, undecodable("", errors.New("nil state")))
			continue
		}
		// The replay works on a private copy: the caller's state is never
		// touched.
		var cp *core.WorkflowState
		b, err := json.Marshal(s)
		if err == nil {
			err = json.Unmarshal(b, &cp)
		}
		if err != nil {
			rep.States++
			rep.Problems = append(rep.Problems, undecodable("", fmt.Errorf("copy the state: %w", err)))
			continue
		}
		r.checkState("", cp, rep)
	}
	return rep
}

// CheckReplayJSON is CheckReplay on JSON: one state as weft describe prints
// it (or as stored), or a JSON array of them. source names the data in the
// report (a file name, a storage key). A state that does not decode is a
// problem of kind ReplayUndecodableState.
func (r *Registry) CheckReplayJSON(source string, data []byte) *ReplayReport {
	rep := &ReplayReport{}
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(data, &list); err != nil {
			rep.States++
			rep.Problems = append(rep.Problems, undecodable(source, err))
			return rep
		}
		if len(list) == 0 {
			// A check that silently checked nothing would pass.
			rep.Problems = append(rep.Problems, undecodable(source, errors.New("the JSON array holds no state")))
			return rep
		}
		for i, raw := range list {
			r.checkStateJSON(fmt.Sprintf("%s[%d]", source, i), raw, rep)
		}
		return rep
	}
	r.checkStateJSON(source, data, rep)
	return rep
}

func (r *Registry) checkStateJSON(source string, data []byte, rep *ReplayReport) {
	s, err := core.DecodeState(data)
	if err != nil {
		rep.States++
		rep.Problems = append(rep.Problems, undecodable(source, err))
		return
	}
	r.checkState(source, s, rep)
}

func undecodable(source string, err error) ReplayProblem {
	return ReplayProblem{Kind: ReplayUndecodableState, Source: source, Position: -1, Breaks: true,
		Explanation: fmt.Sprintf("the state does not decode: %v", err)}
}
