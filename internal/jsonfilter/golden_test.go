package jsonfilter_test

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/jsonfilter"
)

// TestGoldenHistoryWithTheRealEvaluator replays core's golden history of
// JSONPath-filtered receptions, recorded with a stand-in evaluator (core
// may not import the library), through core.ApplyWith with the real one,
// and checks every step leads to the recorded state and outputs.
func TestGoldenHistoryWithTheRealEvaluator(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../core/testdata/golden/h_channel_jsonpath_filter.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Steps []struct {
			Now   *time.Time `json:"now"`
			Input struct {
				ID      string          `json:"id"`
				Type    string          `json:"type"`
				Instant time.Time       `json:"instant"`
				Data    json.RawMessage `json:"data"`
			} `json:"input"`
			Expect struct {
				Changed bool `json:"changed"`
				Outputs []struct {
					Type string `json:"type"`
				} `json:"outputs"`
				State json.RawMessage `json:"state"`
			} `json:"expect"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	filtered := 0
	var s *core.WorkflowState
	// Inputs name workflow tasks as "$task-<index>" (see core's golden test).
	taskRef := regexp.MustCompile(`"\$task-([0-9]+)"`)
	tasks := map[int64]string{}
	for i, st := range f.Steps {
		var data bytes.Buffer
		if err := json.Compact(&data, st.Input.Data); err != nil {
			t.Fatal(err)
		}
		input := taskRef.ReplaceAllFunc(data.Bytes(), func(ref []byte) []byte {
			n, _ := strconv.ParseInt(string(taskRef.FindSubmatch(ref)[1]), 10, 64)
			id, _ := json.Marshal(tasks[n])
			return id
		})
		msg, err := core.DecodeMessage(core.Envelope{ID: st.Input.ID, Type: st.Input.Type, Data: input})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		now := st.Input.Instant
		if st.Now != nil {
			now = *st.Now
		}
		if s != nil {
			for _, ch := range s.Channels {
				if ch.Filter != nil && ch.Filter.Expr != "" {
					if err := jsonfilter.Validate(ch.Filter.Expr); err != nil {
						t.Fatalf("step %d: the history uses a filter the library rejects: %v", i, err)
					}
					filtered++
				}
			}
		}
		tr, err := core.ApplyWith(s, core.Input{ID: st.Input.ID, Instant: st.Input.Instant, Msg: msg}, now, core.ApplyOptions{Match: jsonfilter.Match})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if tr.Changed != st.Expect.Changed || len(tr.Outputs) != len(st.Expect.Outputs) {
			t.Fatalf("step %d: changed=%v with %d outputs, recorded %v with %d", i, tr.Changed, len(tr.Outputs), st.Expect.Changed, len(st.Expect.Outputs))
		}
		for k, o := range tr.Outputs {
			if o.Msg.MessageType() != st.Expect.Outputs[k].Type {
				t.Errorf("step %d: output %d is %s, recorded %s", i, k, o.Msg.MessageType(), st.Expect.Outputs[k].Type)
			}
		}
		got, err := core.EncodeState(tr.State)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := json.Compact(&want, st.Expect.State); err != nil {
			t.Fatal(err)
		}
		if !jsonSame(t, got, want.Bytes()) {
			t.Fatalf("step %d: state differs from the recorded one:\n got %s\nwant %s", i, got, want.Bytes())
		}
		if s, err = core.DecodeState(got); err != nil {
			t.Fatal(err)
		}
		if r := s.Running; r != nil {
			tasks[r.Index] = r.ID
		}
	}
	if filtered == 0 {
		t.Fatal("the history has no JSONPath-filtered reception")
	}
}

func jsonSame(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
