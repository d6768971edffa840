package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// goldenSeed is one step of a golden history: the state stored before it
// and its input, with the workflow tasks it names resolved.
type goldenSeed struct {
	state   []byte // nil before the first state
	typ     string
	data    []byte
	instant time.Time
	now     time.Time
}

// goldenSeeds reads the steps of every golden history, taking the states
// from the recorded expectations.
func goldenSeeds(tb testing.TB) []goldenSeed {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("golden histories: %v (%d files)", err, len(files))
	}
	var seeds []goldenSeed
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		var f goldenFile
		if err := json.Unmarshal(raw, &f); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		var stored []byte
		tasks := map[int64]string{}
		for i, st := range f.Steps {
			var data bytes.Buffer
			if err := json.Compact(&data, st.Input.Data); err != nil {
				tb.Fatalf("%s step %d: %v", path, i, err)
			}
			in := goldenTaskRef.ReplaceAllFunc(data.Bytes(), func(ref []byte) []byte {
				n, _ := strconv.ParseInt(string(goldenTaskRef.FindSubmatch(ref)[1]), 10, 64)
				b, _ := json.Marshal(tasks[n])
				return b
			})
			now := st.Input.Instant
			if st.Now != nil {
				now = *st.Now
			}
			seeds = append(seeds, goldenSeed{state: stored, typ: st.Input.Type, data: in, instant: st.Input.Instant, now: now})
			if e := st.Expect; e != nil && e.Changed && string(e.State) != "null" && len(e.State) > 0 {
				var c bytes.Buffer
				if err := json.Compact(&c, e.State); err != nil {
					tb.Fatal(err)
				}
				stored = c.Bytes()
				var s WorkflowState
				if err := json.Unmarshal(stored, &s); err == nil && s.Running != nil {
					tasks[s.Running.Index] = s.Running.ID
				}
			}
		}
	}
	return seeds
}

// liveStates are the distinct states of the golden histories that have a
// method run still going, the instances messages are applied to.
func liveStates(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	seen := map[string]bool{}
	for _, s := range goldenSeeds(tb) {
		if s.state == nil || seen[string(s.state)] {
			continue
		}
		seen[string(s.state)] = true
		st, err := DecodeState(s.state)
		if err != nil {
			tb.Fatalf("golden state does not decode: %v", err)
		}
		if st.Result == nil && len(st.Methods) > 0 {
			out = append(out, s.state)
		}
	}
	if len(out) < 4 {
		tb.Fatalf("only %d running states in the golden histories", len(out))
	}
	return out
}

func FuzzDecodeState(f *testing.F) {
	for _, s := range goldenSeeds(f) {
		if s.state != nil {
			f.Add(s.state)
		}
	}
	for _, seed := range []string{``, `{}`, `null`, `[]`, `{"v":1}`, `{"v":2,"workflowId":"w"}`, `{"v":1,"methods":[null]}`,
		`{"v":1,"methods":[{"commands":[null],"steps":[null],"current":{}}]}`, `{"v":1,"running":{},"buffer":[{}]}`,
		`{"v":1,"propValues":{"h":null},"outbox":[{"data":"x"}]}`, `{"v":1,"createdAt":"not a time"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeState(b)
		if err != nil {
			if s != nil {
				t.Fatalf("failed decode returned %+v", s)
			}
			if !strings.HasPrefix(err.Error(), "decode workflow state") {
				t.Fatalf("error %q does not say what failed", err)
			}
			return
		}
		if s.V != StateSchemaVersion {
			t.Fatalf("accepted schema version %d", s.V)
		}
		// What decodes is stored again after every message: it must encode
		// to something that decodes to the same state, encoded the same.
		e1, err := EncodeState(s)
		if err != nil {
			t.Fatalf("decoded state does not encode: %v", err)
		}
		s2, err := DecodeState(e1)
		if err != nil {
			t.Fatalf("encoded state %s does not decode: %v", e1, err)
		}
		e2, err := EncodeState(s2)
		if err != nil || !bytes.Equal(e1, e2) {
			t.Fatalf("encoding is not stable:\n%s\n%s (%v)", e1, e2, err)
		}
	})
}

// fuzzMatch is a filter evaluator for the fuzzer: it sees only what core
// hands it and answers from the query and data alone, as the real one does.
func fuzzMatch(expr string, data json.RawMessage) bool {
	return goldenMatch(expr, data) || (strings.Contains(expr, "any") && len(data) > 0)
}

// applyOnce decodes state and message afresh and applies one to the other.
func applyOnce(t *testing.T, state []byte, typ string, data []byte, id string, instant, now time.Time) (*WorkflowState, Transition, error, bool) {
	t.Helper()
	s, err := DecodeState(state)
	if err != nil {
		t.Fatalf("seed state does not decode: %v", err)
	}
	m, err := DecodeMessage(Envelope{ID: id, Type: typ, Data: data})
	if err != nil {
		return s, Transition{}, nil, false
	}
	tr, err := ApplyWith(s, Input{ID: id, Instant: instant, Msg: m}, now, ApplyOptions{Match: fuzzMatch})
	return s, tr, err, true
}

// FuzzApplyRunning applies a message from outside (any type, any data that
// decodes) to the state of a running instance. It must never panic; an
// error (the message can never be applied) leaves the state as it was; a
// transition that says nothing changed changed nothing; what changed is
// stored and read back unchanged; applying is a pure function.
func FuzzApplyRunning(f *testing.F) {
	states := liveStates(f)
	for _, s := range goldenSeeds(f) {
		for i, st := range states {
			if bytes.Equal(st, s.state) {
				f.Add(uint8(i), s.typ, s.data, s.instant.UnixMilli(), s.now.Sub(s.instant).Milliseconds())
			}
		}
	}
	for typ := range messageFactories {
		f.Add(uint8(0), typ, []byte(`{"v":1,"workflowId":"w","workflow":"W"}`), int64(0), int64(0))
	}
	f.Fuzz(func(t *testing.T, which uint8, typ string, data []byte, instantMilli, nowAfter int64) {
		state := states[int(which)%len(states)]
		instant := time.UnixMilli(instantMilli).UTC()
		now := instant.Add(time.Duration(nowAfter%(1<<40)) * time.Millisecond)
		s, tr, err, ok := applyOnce(t, state, typ, data, "fuzz-in", instant, now)
		if !ok {
			return
		}
		after, encErr := EncodeState(s)
		if encErr != nil {
			t.Fatalf("the state no longer encodes after %s: %v", typ, encErr)
		}
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *DecodeError", err, err)
			}
			if !bytes.Equal(after, state) {
				t.Fatalf("%s was refused (%v) but the state changed:\n%s\n%s", typ, err, state, after)
			}
			if tr.Changed || len(tr.Outputs) > 0 {
				t.Fatalf("%s was refused (%v) with a transition %+v", typ, err, tr)
			}
			return
		}
		if !tr.Changed && tr.State == s && !bytes.Equal(after, state) {
			t.Fatalf("%s changed the state but Changed is false:\n%s\n%s", typ, state, after)
		}
		for _, o := range tr.Outputs {
			if _, err := BuildEnvelope(o, "fuzz-in", instant, "fuzz", now); err != nil {
				t.Fatalf("output %s does not build: %v", o.Msg.MessageType(), err)
			}
		}
		if tr.State != nil {
			b, err := EncodeState(tr.State)
			if err != nil {
				t.Fatalf("new state does not encode: %v", err)
			}
			back, err := DecodeState(b)
			if err != nil {
				t.Fatalf("new state does not decode: %v\n%s", err, b)
			}
			if b2, err := EncodeState(back); err != nil || !bytes.Equal(b, b2) {
				t.Fatalf("new state changes through storage:\n%s\n%s", b, b2)
			}
		}
		s2, tr2, err2, _ := applyOnce(t, state, typ, data, "fuzz-in", instant, now)
		after2, _ := EncodeState(s2)
		if (err2 == nil) != (err == nil) || tr2.Changed != tr.Changed || len(tr2.Outputs) != len(tr.Outputs) || !bytes.Equal(after, after2) {
			t.Fatalf("applying %s twice to the same state gave different results", typ)
		}
		for i := range tr.Outputs {
			e1, err1 := BuildEnvelope(tr.Outputs[i], "fuzz-in", instant, "fuzz", now)
			e2, err2 := BuildEnvelope(tr2.Outputs[i], "fuzz-in", instant, "fuzz", now)
			if err1 != nil || err2 != nil || !reflect.DeepEqual(e1, e2) {
				t.Fatalf("output %d differs between two applications:\n%+v\n%+v", i, e1, e2)
			}
		}
	})
}
