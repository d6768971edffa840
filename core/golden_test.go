package core

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite the expectations of the golden histories in testdata/golden")

// A golden history is an ordered list of input messages applied one by one
// through Apply, starting from no state, with the expected result of each
// step. Inputs are literal messages; expectations are recorded with
// -update and reviewed by hand.
type goldenFile struct {
	Description string       `json:"description"`
	Steps       []goldenStep `json:"steps"`
}

type goldenStep struct {
	Note string `json:"note,omitempty"`
	// Now is the state engine's wall clock; the input's instant if absent.
	Now    *time.Time    `json:"now,omitempty"`
	Input  goldenInput   `json:"input"`
	Expect *goldenExpect `json:"expect,omitempty"`
}

type goldenInput struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Instant time.Time       `json:"instant"`
	Data    json.RawMessage `json:"data"`
}

type goldenExpect struct {
	Error   string         `json:"error,omitempty"`
	Changed bool           `json:"changed"`
	Outputs []goldenOutput `json:"outputs"`
	// State is the whole encoded state after the step (null: no state).
	State json.RawMessage `json:"state"`
}

type goldenOutput struct {
	ID        string          `json:"id"`
	Topic     string          `json:"topic"`
	Key       string          `json:"key,omitempty"`
	Subject   string          `json:"subject,omitempty"`
	Type      string          `json:"type"`
	DeliverAt string          `json:"deliverat,omitempty"`
	Data      json.RawMessage `json:"data"`
}

// goldenResult is what a step produced, decoded for semantic checks.
type goldenResult struct {
	expect goldenExpect
	msgs   []Message
	state  *WorkflowState
}

const goldenSource = "weft-golden"

func TestGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d golden histories, want at least 4", len(files))
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var f goldenFile
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&f); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			results := replayGolden(t, f)
			if check := goldenChecks[name]; check != nil {
				check(t, f, results)
			}
			if *updateGolden {
				for i := range f.Steps {
					e := results[i].expect
					f.Steps[i].Expect = &e
				}
				b, err := json.MarshalIndent(f, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			for i, st := range f.Steps {
				if st.Expect == nil {
					t.Fatalf("step %d (%s) has no expectation: run go test ./core -run Golden -update", i, st.Note)
				}
				want, got := indentJSON(t, st.Expect), indentJSON(t, results[i].expect)
				if want != got {
					t.Fatalf("step %d (%s, input %s %s) differs from %s:\n%s", i, st.Note, st.Input.Type, st.Input.ID, path, lineDiff(want, got))
				}
			}
		})
	}
}

// goldenMatch stands in for the state engine's JSONPath evaluator
// (internal/jsonfilter), which core may not import. It understands the one
// form the histories use, $[?@.dotted.path OP literal] with OP one of ==,
// !=, <, <=, >, >= and a JSON literal, with RFC 9535 semantics for it: an
// absent member compares unequal to everything and orders nothing, and
// only numbers and strings order. Anything else matches nothing.
// internal/jsonfilter's tests replay the same histories with the real
// library and check they record the same states.
func goldenMatch(expr string, data json.RawMessage) bool {
	body, ok := strings.CutPrefix(expr, "$[?@.")
	if body, ok = strings.CutSuffix(body, "]"); !ok {
		return false
	}
	f := strings.Fields(body)
	if len(f) != 3 {
		return false
	}
	var got, want any
	if json.Unmarshal(data, &got) != nil || json.Unmarshal([]byte(f[2]), &want) != nil {
		return false
	}
	for _, k := range strings.Split(f[0], ".") {
		obj, ok := got.(map[string]any)
		if !ok {
			return f[1] == "!=" // absent: only != holds
		}
		if got, ok = obj[k]; !ok {
			return f[1] == "!="
		}
	}
	eq := reflect.DeepEqual(got, want)
	var less bool
	switch g := got.(type) {
	case float64:
		w, ok := want.(float64)
		if !ok {
			return f[1] == "!="
		}
		less = g < w
	case string:
		w, ok := want.(string)
		if !ok {
			return f[1] == "!="
		}
		less = g < w
	default:
		if f[1] != "==" && f[1] != "!=" {
			return false
		}
	}
	switch f[1] {
	case "==":
		return eq
	case "!=":
		return !eq
	case "<":
		return less
	case "<=":
		return less || eq
	case ">":
		return !less && !eq
	case ">=":
		return !less
	}
	return false
}

// replayGolden applies the inputs in order. Like the state engine, it
// stores the state encoded between steps and loads it again.
func replayGolden(t *testing.T, f goldenFile) []goldenResult {
	t.Helper()
	var stored []byte // the encoded state, nil when there is none
	var prevID string
	tasks := map[int64]string{} // workflow-task index → id, as dispatched
	results := make([]goldenResult, len(f.Steps))
	for i, st := range f.Steps {
		in := st.Input
		var data bytes.Buffer
		if err := json.Compact(&data, in.Data); err != nil {
			t.Fatalf("step %d: input data: %v", i, err)
		}
		now := in.Instant
		if st.Now != nil {
			now = *st.Now
		}
		input := resolveTasks(t, i, data.Bytes(), tasks)
		apply := func() (goldenResult, []byte) {
			msg, err := DecodeMessage(Envelope{ID: in.ID, Type: in.Type, Data: input})
			if err != nil {
				t.Fatalf("step %d: input does not decode: %v", i, err)
			}
			var s *WorkflowState
			if stored != nil {
				if s, err = DecodeState(stored); err != nil {
					t.Fatalf("step %d: stored state: %v", i, err)
				}
			}
			tr, err := ApplyWith(s, Input{ID: in.ID, Instant: in.Instant, Msg: msg}, now, ApplyOptions{Match: goldenMatch})
			return recordStep(t, i, in, now, tr, err)
		}
		res, next := apply()
		// Apply is a pure function of (state, input, now).
		if again, next2 := apply(); !reflect.DeepEqual(again.expect, res.expect) || !bytes.Equal(next, next2) {
			t.Fatalf("step %d: applying the same input to the same state twice gave different results", i)
		}
		if in.ID == prevID {
			if res.expect.Changed || len(res.expect.Outputs) > 0 || !bytes.Equal(next, stored) {
				t.Errorf("step %d: redelivery of %s changed something: changed=%v, %d outputs", i, in.ID, res.expect.Changed, len(res.expect.Outputs))
			}
		}
		if !res.expect.Changed && res.expect.Error == "" && stored != nil && !bytes.Equal(next, stored) {
			t.Errorf("step %d: the state changed but Changed is false", i)
		}
		results[i] = res
		if res.expect.Changed {
			stored = next
			if r := res.state.Running; r != nil {
				tasks[r.Index] = r.ID
			}
		}
		prevID = in.ID
	}
	return results
}

// A history names the workflow tasks it answers as "$task-<index>" in
// its inputs' data: the id of the workflow task of that index dispatched so
// far, without depending on how task ids are derived.
var goldenTaskRef = regexp.MustCompile(`"\$task-([0-9]+)"`)

func resolveTasks(t *testing.T, i int, data []byte, tasks map[int64]string) []byte {
	t.Helper()
	return goldenTaskRef.ReplaceAllFunc(data, func(ref []byte) []byte {
		n, _ := strconv.ParseInt(string(goldenTaskRef.FindSubmatch(ref)[1]), 10, 64)
		id, ok := tasks[n]
		if !ok {
			t.Fatalf("step %d: the input names workflow task %d, which was never dispatched", i, n)
		}
		b, _ := json.Marshal(id)
		return b
	})
}

// recordStep turns a transition into its expectation, checking on the way
// that every output is a valid envelope and the state survives storage.
func recordStep(t *testing.T, i int, in goldenInput, now time.Time, tr Transition, applyErr error) (goldenResult, []byte) {
	t.Helper()
	res := goldenResult{expect: goldenExpect{Changed: tr.Changed, Outputs: []goldenOutput{}}}
	if applyErr != nil {
		res.expect.Error = applyErr.Error()
	}
	var envs []Envelope
	for _, o := range tr.Outputs {
		env, err := BuildEnvelope(o, in.ID, in.Instant, goldenSource, now)
		if err != nil {
			t.Fatalf("step %d: output %s: %v", i, o.Msg.MessageType(), err)
		}
		envs = append(envs, env)
		wire, err := EncodeEnvelope(env)
		if err != nil {
			t.Fatalf("step %d: output %s does not encode: %v", i, env.Type, err)
		}
		back, err := DecodeEnvelope(wire)
		if err != nil {
			t.Fatalf("step %d: output %s does not decode: %v", i, env.Type, err)
		}
		m, err := DecodeMessage(back)
		if err != nil {
			t.Fatalf("step %d: output %s data does not decode: %v", i, env.Type, err)
		}
		res.msgs = append(res.msgs, m)
		res.expect.Outputs = append(res.expect.Outputs, goldenOutput{
			ID: env.ID, Topic: env.Topic, Key: env.PartitionKey, Subject: env.Subject, Type: env.Type, DeliverAt: env.DeliverAt, Data: env.Data,
		})
	}
	if tr.State == nil {
		return res, nil
	}
	checkOutboxRoundTrip(t, i, tr.State, envs)
	b, err := EncodeState(tr.State)
	if err != nil {
		t.Fatalf("step %d: state does not encode: %v", i, err)
	}
	s, err := DecodeState(b)
	if err != nil {
		t.Fatalf("step %d: state does not decode: %v", i, err)
	}
	if b2, _ := EncodeState(s); !bytes.Equal(b, b2) {
		t.Fatalf("step %d: state changes through storage:\n%s\n%s", i, b, b2)
	}
	res.state = s
	res.expect.State = b
	return res, b
}

// checkOutboxRoundTrip: the outputs kept in a stored outbox, compacted,
// come back byte for byte (same ids, same data) from the stored state.
func checkOutboxRoundTrip(t *testing.T, i int, s *WorkflowState, envs []Envelope) {
	t.Helper()
	c := *s
	c.Outbox = s.CompactOutbox(envs)
	b, err := EncodeState(&c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeState(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := back.OutboxEnvelopes(nil)
	if err != nil {
		t.Fatalf("step %d: outbox: %v", i, err)
	}
	for k := range envs {
		want, _ := EncodeEnvelope(envs[k])
		have, _ := EncodeEnvelope(got[k])
		if !bytes.Equal(want, have) {
			t.Fatalf("step %d: outbox envelope %d does not come back as published:\n%s\n%s", i, k, want, have)
		}
	}
}

func indentJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, []byte(canonicalJSON(t, b)), "", "  "); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// lineDiff shows where two texts first differ, with some context.
func lineDiff(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(i-6, 0)
	var s strings.Builder
	s.WriteString("first difference at line " + itoa(i+1) + " (- want, + got):\n")
	for k := from; k < i; k++ {
		s.WriteString("  " + a[k] + "\n")
	}
	for k := i; k < min(i+8, len(a)); k++ {
		s.WriteString("- " + a[k] + "\n")
	}
	for k := i; k < min(i+8, len(b)); k++ {
		s.WriteString("+ " + b[k] + "\n")
	}
	return s.String()
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// Semantic checks of each history, on what Apply produced (so they hold
// whatever -update recorded).

type goldenCheck func(t *testing.T, f goldenFile, r []goldenResult)

var goldenChecks = map[string]goldenCheck{
	"a_task_then_return":         checkTaskThenReturn,
	"b_signal_buffered_or_timer": checkSignalBuffered,
	"c_task_failure_retry_tasks": checkRetryTasks,
	"d_duplicate_delivery":       checkDuplicates,
	"e_customid_attach":          checkCustomIDAttach,
	"h_channel_jsonpath_filter":  checkChannelJSONPathFilter,
}

func checkChannelJSONPathFilter(t *testing.T, f goldenFile, r []goldenResult) {
	if len(r) != 9 {
		t.Fatalf("%d steps", len(r))
	}
	// received lists, per reception in opening order, the signal ids taken.
	received := func(step int) []string {
		var out []string
		for _, c := range r[step].state.Methods[0].Commands {
			var ids []string
			for _, st := range c.Statuses {
				ids = append(ids, st.SignalID)
			}
			out = append(out, strings.Join(ids, "+"))
		}
		return out
	}
	want := func(step int, ids ...string) {
		t.Helper()
		if got := received(step); strings.Join(got, ",") != strings.Join(ids, ",") {
			t.Errorf("step %d (%s): receptions took %q, want %q", step, f.Steps[step].Note, got, ids)
		}
	}
	if ch := r[1].state.Channels; len(ch) != 3 || ch[0].Filter.Expr != "$[?@.amount > 100]" || ch[1].Filter.Expr != `$[?@.currency == "EUR"]` ||
		ch[2].Filter.Expr != "" || ch[2].Filter.Path != "kind" {
		t.Fatalf("step 1: channels %+v", ch)
	}
	want(2, "", "", "")                             // discarded
	want(3, "sig-big-eur", "", "")                  // first fit
	want(4, "sig-big-eur", "sig-eur", "")           // the second filter
	want(5, "sig-big-eur", "sig-eur", "")           // duplicate id
	want(6, "sig-big-eur", "sig-eur", "")           // discarded
	want(7, "sig-big-eur", "sig-eur", "sig-refund") // the old-style filter
	for step := 2; step <= 6; step++ {
		wantTypes(t, step, r[step])
	}
	if v := string(r[5].state.Methods[0].Commands[1].Statuses[0].Value); v != `{"amount":20,"currency":"EUR","kind":"charge"}` {
		t.Errorf("step 5: the duplicate replaced the value: %s", v)
	}
	wantTypes(t, 7, r[7], typeExecuteWT)
	wantOutcome(t, 8, r[8], "c1", MethodCompleted, "")
	if s := r[8].state; s.Result == nil || s.Result.State != StateCompleted {
		t.Errorf("step 8: %+v", s.Result)
	}
}

func checkCustomIDAttach(t *testing.T, f goldenFile, r []goldenResult) {
	if len(r) != 6 {
		t.Fatalf("%d steps", len(r))
	}
	if run := r[3].state.Method("ship-1"); run == nil || len(run.Attached) != 2 {
		t.Fatalf("after two attaches and a duplicate, the run has %+v attached, want 2", run)
	}
	wantTypes(t, 4, r[4], "weft.engine.ChildCompleted", "weft.client.MethodCompleted", "weft.engine.ChildCompleted",
		"weft.tag.RemoveTagFromWorkflow", "weft.tag.RemoveTagFromWorkflow")
	answered := map[string]string{}
	for i, m := range r[4].msgs {
		switch m := m.(type) {
		case *CommandResult:
			answered[m.WorkflowID] = m.CommandID
		case *MethodOutcome:
			answered["client"] = m.MethodRunID
		case *RemoveTagFromWorkflow:
			if m.WorkflowID != "ship-1" || r[4].expect.Outputs[i].Key != m.Tag {
				t.Errorf("tag removal %+v keyed %q", m, r[4].expect.Outputs[i].Key)
			}
		}
	}
	want := map[string]string{"shop-1": "ship-1", "shop-2": "ship-2", "client": "ship-3"}
	for k, v := range want {
		if answered[k] != v {
			t.Errorf("step 4: %s answered under %q, want %q", k, answered[k], v)
		}
	}
	if res := msgOf[*CommandResult](t, r[5], 5); res.WorkflowID != "shop-3" || res.CommandID != "ship-4" || res.Kind != ChildCompleted {
		t.Errorf("step 5: late attach answered %+v", res)
	}
}

// outputsOf returns the step's outputs of a message type.
func outputsOf(r goldenResult, typ string) []goldenOutput {
	var out []goldenOutput
	for _, o := range r.expect.Outputs {
		if o.Type == typ {
			out = append(out, o)
		}
	}
	return out
}

func msgOf[M Message](t *testing.T, r goldenResult, step int) M {
	t.Helper()
	for _, m := range r.msgs {
		if m, ok := m.(M); ok {
			return m
		}
	}
	var zero M
	t.Fatalf("step %d: no %T output among %d", step, zero, len(r.msgs))
	return zero
}

// wantTypes checks the step's outputs other than lifecycle events (those
// are checked by the recorded history itself).
func wantTypes(t *testing.T, step int, r goldenResult, types ...string) {
	t.Helper()
	var got []string
	for _, o := range r.expect.Outputs {
		if !strings.HasPrefix(o.Type, "weft.event.") {
			got = append(got, o.Type)
		}
	}
	if strings.Join(got, ",") != strings.Join(types, ",") {
		t.Errorf("step %d: outputs %v, want %v", step, got, types)
	}
}

func wantOutcome(t *testing.T, step int, r goldenResult, client string, kind OutcomeKind, value string) {
	t.Helper()
	for i, o := range r.expect.Outputs {
		if o.Topic != "response:"+client {
			continue
		}
		m := r.msgs[i].(*MethodOutcome)
		if m.Kind != kind || (value != "" && string(m.Value) != value) {
			t.Errorf("step %d: client %s got %s %s, want %s %s", step, client, m.Kind, m.Value, kind, value)
		}
		return
	}
	t.Errorf("step %d: client %s got no answer", step, client)
}

const (
	typeExecuteWT   = "weft.executor.ExecuteWorkflowTask"
	typeExecuteTask = "weft.executor.ExecuteTask"
)

func checkTaskThenReturn(t *testing.T, f goldenFile, r []goldenResult) {
	if len(r) != 5 {
		t.Fatalf("%d steps", len(r))
	}
	wantTypes(t, 0, r[0], typeExecuteWT)
	wt := msgOf[*ExecuteWorkflowTask](t, r[0], 0)
	if wt.Index != 1 || wt.Method.Name != "run" || r[0].state.Running == nil || r[0].state.Running.ID != wt.TaskID {
		t.Errorf("step 0: workflow task %+v, running %+v", wt, r[0].state.Running)
	}
	wantTypes(t, 1, r[1], typeExecuteTask)
	if et := msgOf[*ExecuteTask](t, r[1], 1); et.Service != "Billing" || et.Requester.WorkflowID != "order-42" {
		t.Errorf("step 1: task %+v", et)
	}
	wantTypes(t, 2, r[2], typeExecuteWT)
	if wt := msgOf[*ExecuteWorkflowTask](t, r[2], 2); wt.Index != 2 || len(wt.Method.Steps) != 1 || !wt.Method.Steps[0].Decided() {
		t.Errorf("step 2: second workflow task does not carry the decided step")
	}
	wantTypes(t, 3, r[3], "weft.client.MethodCompleted", "weft.tag.RemoveTagFromWorkflow") // the customId is free again
	wantOutcome(t, 3, r[3], "c1", MethodCompleted, `{"receipt":"r-1"}`)
	s := r[3].state
	if s.Result == nil || s.Result.State != StateCompleted || len(s.Methods) > 0 || s.Running != nil || len(s.PropValues) > 0 {
		t.Errorf("step 3: state is not a result record: %+v", s)
	}
	if res := s.EndedMethod("order-42"); res == nil || string(res.Value) != `{"receipt":"r-1"}` {
		t.Errorf("step 3: ended %+v", s.Ended)
	}
	wantOutcome(t, 4, r[4], "c2", MethodCompleted, `{"receipt":"r-1"}`)
}

func checkSignalBuffered(t *testing.T, f goldenFile, r []goldenResult) {
	if len(r) != 7 {
		t.Fatalf("%d steps", len(r))
	}
	wantTypes(t, 1, r[1])
	if b := r[1].state.Buffer; len(b) != 1 || b[0].Type != "weft.cmd.SendSignal" {
		t.Errorf("step 1: buffer %+v", b)
	}
	// The timer is started from the trigger instant, then the buffered
	// signal decides the Or and the next workflow task goes out.
	wantTypes(t, 2, r[2], "weft.engine.TimerCompleted", typeExecuteWT)
	if o := outputsOf(r[2], "weft.engine.TimerCompleted"); len(o) != 1 || o[0].DeliverAt != "2026-01-01T01:00:00Z" || o[0].Topic != "workflow-delay:Approval" {
		t.Errorf("step 2: timer %+v", o)
	}
	s := r[2].state
	if len(s.Buffer) != 0 || len(s.Channels) != 0 {
		t.Errorf("step 2: buffer %+v, channels %+v", s.Buffer, s.Channels)
	}
	st := s.Methods[0].Steps
	if len(st) != 1 || st[0].Outcome.State != StateCompleted || st[0].Outcome.Winner != 0 || string(st[0].Outcome.Value) != `{"by":"alice"}` {
		t.Errorf("step 2: the Or was not won by the signal: %+v", st)
	}
	wantTypes(t, 3, r[3], typeExecuteTask)
	// The late timer is recorded but triggers nothing.
	wantTypes(t, 4, r[4])
	if !r[4].expect.Changed || r[4].state.Running != nil {
		t.Errorf("step 4: changed=%v running=%+v", r[4].expect.Changed, r[4].state.Running)
	}
	wantTypes(t, 5, r[5], typeExecuteWT)
	wantOutcome(t, 6, r[6], "c1", MethodCompleted, `{"approval":{"by":"alice"},"notified":true}`)
	if r[6].state.Result == nil {
		t.Errorf("step 6: instance did not end")
	}
}

func checkRetryTasks(t *testing.T, f goldenFile, r []goldenResult) {
	if len(r) != 9 {
		t.Fatalf("%d steps", len(r))
	}
	// The failure reaches the workflow, which lets it escape.
	wantTypes(t, 2, r[2], typeExecuteWT)
	if cur := r[2].state.Methods[0].Current; cur == nil || cur.Outcome == nil || cur.Outcome.State != StateCurrentlyFailed {
		t.Errorf("step 2: current step %+v", cur)
	}
	wantOutcome(t, 3, r[3], "c1", MethodFailed, "")
	if m := r[3].state.Methods; len(m) != 1 || m[0].Failure == nil || r[3].state.Result != nil {
		t.Errorf("step 3: the failed method run must be kept: %+v", r[3].state)
	}
	wantTypes(t, 4, r[4], typeExecuteTask)
	if et := msgOf[*ExecuteTask](t, r[4], 4); et.RetrySeq != 1 {
		t.Errorf("step 4: retry sequence %d", et.RetrySeq)
	}
	if r[4].state.Methods[0].Failure != nil {
		t.Errorf("step 4: the retried method is still marked failed")
	}
	wantTypes(t, 5, r[5]) // the re-wait registers for the new outcome
	// The stale failure changes no command.
	wantTypes(t, 6, r[6])
	if a, b := r[5].state.Methods[0].Commands, r[6].state.Methods[0].Commands; !reflect.DeepEqual(a, b) {
		t.Errorf("step 6: a stale result changed the commands")
	}
	wantTypes(t, 7, r[7], typeExecuteWT)
	wantOutcome(t, 8, r[8], "c1", MethodCompleted, `{"receipt":"r-2"}`)
	if s := r[8].state; s.Result == nil || s.Result.State != StateCompleted {
		t.Errorf("step 8: %+v", s.Result)
	}
}

func checkDuplicates(t *testing.T, f goldenFile, r []goldenResult) {
	dups := 0
	for i := 1; i < len(f.Steps); i++ {
		if f.Steps[i].Input.ID == f.Steps[i-1].Input.ID {
			dups++ // checked by replayGolden
		}
	}
	if dups < 4 {
		t.Errorf("%d redeliveries, want at least 4", dups)
	}
	last := r[len(r)-1].state
	if last.Result == nil || last.Result.State != StateCompleted {
		t.Errorf("the instance did not complete: %+v", last)
	}
	answers := 0
	for _, res := range r {
		answers += len(outputsOf(res, "weft.client.MethodCompleted"))
	}
	if answers != 1 {
		t.Errorf("the client got %d answers, want 1", answers)
	}
}
