package core

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// prefixMatcher is a test Matcher: an expression "key=value" passes signals
// whose top-level key holds the JSON string value. It counts its calls.
type prefixMatcher struct{ calls int }

func (p *prefixMatcher) match(expr string, data json.RawMessage) bool {
	p.calls++
	k, v, ok := strings.Cut(expr, "=")
	if !ok {
		return false
	}
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return false
	}
	s, _ := m[k].(string)
	return s == v
}

// openReceptions completes the first workflow task of a running instance
// with one receive command per filter, in order, all on channel "ch", and a
// step waiting for all of them.
func openReceptions(t *testing.T, filters ...*SignalFilter) *WorkflowState {
	t.Helper()
	s := runningInstance(t)
	wt := &WorkflowTaskCompleted{WorkflowID: "w-1", Workflow: "W", TaskID: s.Running.ID, MethodRunID: "w-1"}
	node := StepNode{Op: OpAnd}
	for i, f := range filters {
		id := "recv-" + itoa(i)
		wt.Commands = append(wt.Commands, &Command{ID: id, Position: i, Kind: KindReceive, Name: "ch", Channel: "ch", Filter: f})
		node.Children = append(node.Children, Leaf(id, 0))
	}
	wt.Step = &Step{Position: len(filters), Node: node, Hash: node.Hash(), IndexAtStart: 1}
	tr, err := Apply(s, Input{ID: "in-wt1", Instant: sampleT0.Add(time.Second), Msg: wt}, sampleT0.Add(time.Second))
	if err != nil || len(tr.State.Channels) != len(filters) {
		t.Fatalf("opening receptions: %v, channels %+v", err, tr.State.Channels)
	}
	return tr.State
}

// signal applies a signal on channel "ch" and returns the id of the
// reception that took it ("" when discarded).
func signal(t *testing.T, s *WorkflowState, o ApplyOptions, id, data string) string {
	t.Helper()
	before := map[string]int{}
	for _, c := range s.Methods[0].Commands {
		before[c.ID] = len(c.Statuses)
	}
	in := Input{ID: "in-" + id, Instant: sampleT0.Add(2 * time.Second), Msg: &SendSignal{WorkflowID: "w-1", Workflow: "W", Channel: "ch",
		SignalID: id, Data: json.RawMessage(data)}}
	if _, err := ApplyWith(s, in, sampleT0.Add(2*time.Second), o); err != nil {
		t.Fatal(err)
	}
	took := ""
	for _, c := range s.Methods[0].Commands {
		if n := len(c.Statuses); n != before[c.ID] {
			if took != "" || n != before[c.ID]+1 {
				t.Fatalf("signal %s changed several receptions", id)
			}
			took = c.ID
			if st := c.Statuses[n-1]; st.SignalID != id || string(st.Value) != data {
				t.Fatalf("reception %s recorded %+v for signal %s", c.ID, st, id)
			}
		}
	}
	return took
}

// TestStoredOldStyleFilterStillMatches decodes a state recorded before
// JSONPath filters existed (dot path + equality, no "expr") and checks its
// reception still filters as before, with or without a JSONPath matcher.
func TestStoredOldStyleFilterStillMatches(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"no matcher", "with matcher"} {
		t.Run(name, func(t *testing.T) {
			var o ApplyOptions
			if name == "with matcher" {
				o.Match = func(string, json.RawMessage) bool {
					t.Error("the matcher was called for an old-style filter")
					return true
				}
			}
			s := openReceptions(t, &SignalFilter{Path: "by.role", Value: json.RawMessage(`"admin"`)}, &SignalFilter{Path: "", Value: json.RawMessage(`null`)})
			raw, err := EncodeState(s)
			if err != nil {
				t.Fatal(err)
			}
			// The path+value filter is stored exactly as before Expr existed; the
			// whole-value one now omits its empty path.
			for _, want := range []string{`"filter":{"path":"by.role","value":"admin"}`, `"filter":{"value":null}`} {
				if !strings.Contains(string(raw), want) {
					t.Fatalf("stored state lacks %s:\n%s", want, raw)
				}
			}
			// A state written by an older build: the same JSON, with the
			// whole-value filter's empty path spelled out.
			old := strings.ReplaceAll(string(raw), `"filter":{"value":null}`, `"filter":{"path":"","value":null}`)
			if s, err = DecodeState([]byte(old)); err != nil {
				t.Fatal(err)
			}
			if f := s.Channels[1].Filter; f.Path != "" || string(f.Value) != "null" || f.Expr != "" {
				t.Fatalf("old whole-value filter decoded as %+v", f)
			}
			for _, c := range []struct{ id, data, want string }{
				{"s1", `{"by":{"role":"user"}}`, ""},
				{"s2", `{"by":"admin"}`, ""},
				{"s3", `not json`, ""},
				{"s4", `{"by":{"role":"admin","name":"ann"}}`, "recv-0"},
				{"s5", `{"by":{"role":"admin"}}`, ""}, // recv-0 is closed (limit 1), recv-1 wants null
				{"s6", `null`, "recv-1"},
			} {
				if got := signal(t, s, o, c.id, c.data); got != c.want {
					t.Errorf("signal %s %s went to %q, want %q", c.id, c.data, got, c.want)
				}
			}
		})
	}
}

// TestJSONPathFilterNeedsAMatcher: without a matcher (plain Apply) a
// reception filtered by an expression receives nothing, even a signal the
// expression would accept; it is never treated as unfiltered.
func TestJSONPathFilterNeedsAMatcher(t *testing.T) {
	t.Parallel()
	s := openReceptions(t, &SignalFilter{Expr: "kind=big"}, nil)
	if got := signal(t, s, ApplyOptions{}, "s1", `{"kind":"big"}`); got != "recv-1" {
		t.Fatalf("without a matcher the signal went to %q, want the unfiltered recv-1", got)
	}
	s = openReceptions(t, &SignalFilter{Expr: "kind=big"})
	if got := signal(t, s, ApplyOptions{}, "s1", `{"kind":"big"}`); got != "" {
		t.Fatalf("without a matcher the signal went to %q, want it discarded", got)
	}
	if len(s.Channels) != 1 || s.Channels[0].Count != 0 {
		t.Fatalf("channels %+v", s.Channels)
	}
	// The same state with a matcher: the reception takes it.
	var pm prefixMatcher
	if got := signal(t, s, ApplyOptions{Match: pm.match}, "s2", `{"kind":"big"}`); got != "recv-0" || pm.calls != 1 {
		t.Fatalf("with a matcher the signal went to %q after %d calls", got, pm.calls)
	}
}

// TestJSONPathFiltersFirstFit: signals go to the first open reception, in
// registration order, whose filters accept them; others are discarded and
// duplicate signal ids ignored.
func TestJSONPathFiltersFirstFit(t *testing.T) {
	t.Parallel()
	var pm prefixMatcher
	o := ApplyOptions{Match: pm.match}
	s := openReceptions(t,
		&SignalFilter{Expr: "kind=big"},
		&SignalFilter{Expr: "cur=EUR"},
		&SignalFilter{Expr: "cur=EUR", Path: "kind", Value: json.RawMessage(`"small"`)}, // both parts
		&SignalFilter{}, // neither part: passes nothing, as before
	)
	for _, c := range []struct{ id, data, want string }{
		{"s1", `{"kind":"tiny","cur":"USD"}`, ""},
		{"s2", `{"kind":"big","cur":"EUR"}`, "recv-0"}, // fits recv-0 and recv-1: the first wins
		{"s2", `{"kind":"big","cur":"EUR"}`, ""},       // duplicate id
		{"s3", `{"kind":"big","cur":"USD"}`, ""},       // recv-0 is closed
		{"s4", `{"kind":"small","cur":"EUR"}`, "recv-1"},
		{"s5", `{"kind":"other","cur":"EUR"}`, ""}, // recv-2 wants kind small too
		{"s6", `{"kind":"small","cur":"EUR"}`, "recv-2"},
		{"s7", `{}`, ""},
	} {
		if got := signal(t, s, o, c.id, c.data); got != c.want {
			t.Errorf("signal %s %s went to %q, want %q", c.id, c.data, got, c.want)
		}
	}
	if len(s.Channels) != 1 || s.Channels[0].CommandID != "recv-3" {
		t.Errorf("open channels %+v, want only recv-3", s.Channels)
	}
}

func TestSignalFilterMatch(t *testing.T) {
	t.Parallel()
	yes := func(string, json.RawMessage) bool { return true }
	no := func(string, json.RawMessage) bool { return false }
	data := json.RawMessage(`{"a":{"b":[1,2]},"n":1.0}`)
	for _, c := range []struct {
		name string
		f    *SignalFilter
		m    Matcher
		want bool
	}{
		{"nil filter", nil, nil, true},
		{"empty filter", &SignalFilter{}, yes, false},
		{"path without value", &SignalFilter{Path: "a"}, yes, false},
		{"equal array", &SignalFilter{Path: "a.b", Value: json.RawMessage(`[1, 2]`)}, nil, true},
		{"equal number", &SignalFilter{Path: "n", Value: json.RawMessage(`1`)}, nil, true},
		{"not equal", &SignalFilter{Path: "a.b", Value: json.RawMessage(`[2,1]`)}, nil, false},
		{"missing key", &SignalFilter{Path: "a.c", Value: json.RawMessage(`null`)}, nil, false},
		{"expr, no matcher", &SignalFilter{Expr: "x"}, nil, false},
		{"expr passes", &SignalFilter{Expr: "x"}, yes, true},
		{"expr fails", &SignalFilter{Expr: "x"}, no, false},
		{"both pass", &SignalFilter{Path: "n", Value: json.RawMessage(`1`), Expr: "x"}, yes, true},
		{"value fails", &SignalFilter{Path: "n", Value: json.RawMessage(`2`), Expr: "x"}, yes, false},
		{"expr fails with value", &SignalFilter{Path: "n", Value: json.RawMessage(`1`), Expr: "x"}, no, false},
	} {
		if got := c.f.Match(data, c.m); got != c.want {
			t.Errorf("%s: Match = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestApplyIsApplyWithoutOptions: the compatibility wrapper gives the same
// transition as ApplyWith with zero options.
func TestApplyIsApplyWithoutOptions(t *testing.T) {
	t.Parallel()
	a, b := openReceptions(t, &SignalFilter{Expr: "kind=big"}), openReceptions(t, &SignalFilter{Expr: "kind=big"})
	in := Input{ID: "in-s", Instant: sampleT0.Add(time.Minute), Msg: &SendSignal{WorkflowID: "w-1", Workflow: "W", Channel: "ch", SignalID: "s", Data: json.RawMessage(`{"kind":"big"}`)}}
	ta, errA := Apply(a, in, sampleT0.Add(time.Minute))
	tb, errB := ApplyWith(b, in, sampleT0.Add(time.Minute), ApplyOptions{})
	ea, _ := EncodeState(ta.State)
	eb, _ := EncodeState(tb.State)
	if errA != nil || errB != nil || string(ea) != string(eb) || ta.Changed != tb.Changed || len(ta.Outputs) != len(tb.Outputs) {
		t.Fatalf("Apply and ApplyWith differ: %v %v\n%s\n%s", errA, errB, ea, eb)
	}
}
