package cli

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/examples"
	"github.com/weftio/weft/examples/approval"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage/memory"
)

var update = flag.Bool("update", false, "rewrite testdata/replay* from the examples")

// approvalStates runs the approval example on a sim (deterministic ids and
// times) and returns, as weft describe prints them: an instance waiting for
// its decision, and an approved (ended) one.
func approvalStates(t *testing.T) (waiting, ended *core.WorkflowState) {
	t.Helper()
	reg := weft.NewRegistry()
	if err := examples.Register(reg, io.Discard); err != nil {
		t.Fatal(err)
	}
	s := sim.New(t, reg, sim.Options{})
	topic := core.Topic(core.PrefixWorkflowCmd, "ExpenseApproval")
	for _, id := range []string{"approval-waiting", "approval-approved"} {
		in, _ := json.Marshal(approval.Request{Employee: "carol", Amount: 420, Deadline: time.Hour})
		s.Send(topic, id, &core.DispatchWorkflow{WorkflowID: id, Workflow: "ExpenseApproval", Method: "approve", Input: in,
			Requester: &core.Requester{Client: "cli-test"}, ClientWaiting: true})
	}
	s.Run()
	d, _ := json.Marshal(approval.Decision{Approved: true, By: "dave"})
	s.Send(topic, "approval-approved", &core.SendSignal{WorkflowID: "approval-approved", Workflow: "ExpenseApproval", Channel: "decisions",
		SignalID: "decision-1", Data: d})
	s.Run()
	waiting, ended = s.State("approval-waiting"), s.State("approval-approved")
	if waiting == nil || waiting.Result != nil || ended == nil || ended.Result == nil {
		t.Fatalf("states: waiting %+v, ended %+v", waiting, ended)
	}
	return waiting, ended
}

func writeState(t *testing.T, path string, st *core.WorkflowState) {
	t.Helper()
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReplayTestdata rewrites the state files with -update: testdata/replay
// holds states the examples replay cleanly, testdata/replay-changed states
// whose history the examples' code no longer matches (a history recorded
// by code that called another task, an instance pinned to a version no
// longer registered).
func TestReplayTestdata(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the state files")
	}
	waiting, ended := approvalStates(t)
	writeState(t, "testdata/replay/approval-waiting.json", waiting)
	writeState(t, "testdata/replay/approval-approved.json", ended)

	renamed := *waiting
	renamed.WorkflowID = "approval-renamed-task"
	for _, m := range renamed.Methods {
		m.ID = renamed.WorkflowID
		for _, c := range m.Commands {
			if c.Kind == core.KindTask {
				c.Name, c.Method = "Mailer.notifyManager", "notifyManager"
			}
		}
	}
	writeState(t, "testdata/replay-changed/approval-renamed-task.json", &renamed)
	waiting, _ = approvalStates(t)
	old := *waiting
	old.WorkflowID, old.Pinned, old.Version = "approval-old-version", true, 7
	writeState(t, "testdata/replay-changed/approval-old-version.json", &old)
}

func TestReplayFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	code, out, errOut := cli(ctx, "replay", "testdata/replay")
	if code != 0 || errOut != "" {
		t.Fatalf("replay of a directory: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"weft replay: 2 states, 1 method run replayed: 5 of 5 recorded history positions",
		"1 result record skipped", "OK: the code replays every recorded history"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = cli(ctx, "replay", "-v", "-file", "testdata/replay/approval-waiting.json")
	if code != 0 || !strings.Contains(out, "ok   ExpenseApproval approval-waiting (approve, code version 0, mode simple): 5/5 positions, waits at its current step [testdata/replay/approval-waiting.json]") {
		t.Fatalf("replay -v of a file: exit %d\n%s", code, out)
	}

	code, out, errOut = cli(ctx, "replay", "-file", "testdata/replay/approval-waiting.json", "-file", "testdata/replay-changed")
	if code != 1 || errOut != "" {
		t.Fatalf("replay of changed histories: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"3 states, 2 method runs replayed: 6 of 10 recorded history positions",
		"command-changed: testdata/replay-changed/approval-renamed-task.json, workflow ExpenseApproval, id approval-renamed-task, method approve, code version 0, position 1",
		"history:  task Mailer.notifyManager input {",
		"code now: task Mailer.notifyApprover input {",
		"unknown-version: testdata/replay-changed/approval-old-version.json, workflow ExpenseApproval, id approval-old-version",
		"pinned to code version 7, which is no longer registered (registered: [0])",
		"FAIL: 2 problems, 2 of them break running instances",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestReplayErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	empty := t.TempDir()
	cases := map[string][]string{
		"replay needs states to check":               {"replay"},
		"replay -all is not available":               {"replay", "-all"},
		"no such file or directory":                  {"replay", "-file", "testdata/nope.json"},
		"holds no .json file":                        {"replay", "-file", empty},
		"replay -tag \"nocolon\": want WORKFLOW:TAG": {"replay", "-tag", "nocolon"},
	}
	for want, args := range cases {
		code, out, errOut := cli(ctx, args...)
		if code != 1 || out != "" || !strings.Contains(errOut, want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 and %q", args, code, out, errOut, want)
		}
	}
	code, _, errOut := cli(ctx, "replay", "-h")
	if code != 0 || !strings.Contains(errOut, "usage: weft replay") {
		t.Errorf("replay -h: exit %d, stderr %q", code, errOut)
	}
	code, out, _ := cli(ctx, "help")
	if code != 0 || !strings.Contains(out, "  replay ") {
		t.Errorf("usage does not list replay:\n%s", out)
	}
}

// TestReplayFromStorage reads states by id and by tag from a store (the
// configured one in production; a memory store here).
func TestReplayFromStorage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	waiting, ended := approvalStates(t)
	changed := *waiting
	changed.WorkflowID = "changed"
	changed.Methods = []*core.MethodRun{func() *core.MethodRun { m := *waiting.Methods[0]; m.ID = "changed"; return &m }()}
	changed.Methods[0].Commands = append([]*core.Command(nil), changed.Methods[0].Commands...)
	task := *changed.Methods[0].Commands[1]
	task.Name = "Mailer.other"
	changed.Methods[0].Commands[1] = &task

	mem := memory.New()
	for _, st := range []*core.WorkflowState{waiting, ended, &changed} {
		b, err := core.EncodeState(st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mem.Put(ctx, core.StateKey(st.WorkflowID), b, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"approval-waiting", "approval-approved", "gone"} {
		if err := mem.Add(ctx, core.TagKey("ExpenseApproval", "team:finance"), []byte(id)); err != nil {
			t.Fatal(err)
		}
	}
	closed := 0
	open := func(context.Context) (*bootstrap.Stores, error) {
		return &bootstrap.Stores{KeyValue: mem, KeySet: mem, Close: func() error { closed++; return nil }}, nil
	}
	replay := func(args ...string) (string, error) {
		var out strings.Builder
		err := runReplay(ctx, examplesProgram, args, &out, io.Discard, open)
		return out.String(), err
	}

	out, err := replay("-tag", "ExpenseApproval:team:finance")
	if err != nil || !strings.Contains(out, "2 states, 1 method run replayed: 5 of 5") || !strings.Contains(out, "1 result record skipped") {
		t.Fatalf("by tag: %v\n%s", err, out)
	}
	out, err = replay("-id", "changed", "-id", "approval-waiting", "-v")
	if err != errReplayProblems || !strings.Contains(out, "command-changed: storage:workflow.state.changed") ||
		!strings.Contains(out, "history:  task Mailer.other") || !strings.Contains(out, "ok   ExpenseApproval approval-waiting") {
		t.Fatalf("by id: %v\n%s", err, out)
	}
	if _, err := replay("-id", "gone"); err == nil || !strings.Contains(err.Error(), "no stored state for instance gone") {
		t.Fatalf("missing id: %v", err)
	}
	if closed != 3 {
		t.Fatalf("storage closed %d times, want 3", closed)
	}
}
