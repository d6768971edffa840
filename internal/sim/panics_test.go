package sim_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

// A panic in user code run around the workflow (the properties' own JSON
// methods, when they are saved after a workflow task suspends, or restored
// when another method run starts) fails the workflow task with the panic
// and its stack; it never kills the process.

// explosive panics when encoded (Boom set) or decoded (a "boom" field).
type explosive struct {
	Boom  bool `json:"boom"`
	Count int  `json:"count"`
}

func (e *explosive) MarshalJSON() ([]byte, error) {
	if e.Boom {
		panic("marshal exploded")
	}
	type plain explosive
	return json.Marshal((*plain)(e))
}

func (e *explosive) UnmarshalJSON(b []byte) error {
	if strings.Contains(string(b), `"boom":true`) {
		panic("unmarshal exploded")
	}
	type plain explosive
	return json.Unmarshal(b, (*plain)(e))
}

var (
	boomWf    = weft.NewWorkflow[bool, int]("Boom", "run")
	boomPoke  = weft.NewWorkflow[int, int]("Boom", "poke")
	boomGo    = weft.NewChannel[int]("Boom", "go")
	boomStep  = weft.NewTask[int, int]("BoomTask", "step")
	boomPanic = weft.NewWorkflow[int, int]("BoomLoud", "run")
)

func boomRegistry() *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, boomStep, func(_ weft.TaskContext, n int) (int, error) { return n, nil }))
	weft.MustRegister(weft.RegisterMethod(reg, boomWf, func(p *explosive, ctx weft.Context, explode bool) (int, error) {
		p.Count++
		p.Boom = explode
		// Suspends: the properties are saved after the goroutine stopped.
		v, err := weft.Receive(ctx, boomGo).Await()
		return v + p.Count, err
	}))
	weft.MustRegister(weft.RegisterMethod(reg, boomPoke, func(p *explosive, _ weft.Context, n int) (int, error) { return p.Count + n, nil }))
	return reg
}

func failureOf(t *testing.T, s *sim.Sim, client string) *core.MethodOutcome {
	t.Helper()
	outs := clientOutcomes(s, client)
	if len(outs) != 1 {
		t.Fatalf("%s got %d answers, want 1; dead letters %+v", client, len(outs), s.DeadLetters)
	}
	return outs[0]
}

func TestPanicInPropertiesJSONFailsTheWorkflowTask(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v/saving", fast), func(t *testing.T) {
			s := sim.New(t, boomRegistry(), sim.Options{FastPath: fast})
			dispatch(s, "Boom", "run", "b1", true)
			s.Run()
			o := failureOf(t, s, "c1")
			if o.Kind != core.MethodFailed || !strings.Contains(o.Error.Error(), "marshal exploded") || !strings.Contains(o.Error.Error(), "goroutine") {
				t.Fatalf("answer %s %v, want a failure with the panic and its stack", o.Kind, o.Error)
			}
			if st := s.State("b1"); st == nil || st.Method("b1") == nil || st.Method("b1").Failure == nil {
				t.Fatalf("the state must stay, with the method failed: %+v", st)
			}
		})
		t.Run(fmt.Sprintf("fast=%v/restoring", fast), func(t *testing.T) {
			s := sim.New(t, boomRegistry(), sim.Options{FastPath: fast})
			dispatch(s, "Boom", "run", "b2", false)
			s.Run()
			// Properties whose stored form makes UnmarshalJSON panic.
			st := s.State("b2")
			if st == nil || st.Props == "" {
				t.Fatalf("setup: no properties stored: %+v", st)
			}
			s.Send(core.Topic(core.PrefixWorkflowCmd, "Boom"), "b2", &core.DispatchMethod{WorkflowID: "b2", Workflow: "Boom", MethodRunID: "poke-1",
				Method: "poke", Input: []byte("1"), Requester: &core.Requester{Client: "c2"}, ClientWaiting: true})
			corruptProps(t, s, "b2")
			s.Run()
			o := failureOf(t, s, "c2")
			if o.Kind != core.MethodFailed || !strings.Contains(o.Error.Error(), "unmarshal exploded") || !strings.Contains(o.Error.Error(), "goroutine") {
				t.Fatalf("answer %s %v, want a failure with the panic and its stack", o.Kind, o.Error)
			}
		})
	}
}

// corruptProps rewrites the stored properties of id so that decoding them
// panics (as a changed UnmarshalJSON could on old data).
func corruptProps(t *testing.T, s *sim.Sim, id string) {
	t.Helper()
	st := s.State(id)
	st.PropValues[st.Props] = json.RawMessage(`{"boom":true,"count":1}`)
	b, err := core.EncodeState(st)
	if err != nil {
		t.Fatal(err)
	}
	_, v, err := s.Store.Get(t.Context(), core.StateKey(id))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.Put(t.Context(), core.StateKey(id), b, v, 0); err != nil {
		t.Fatal(err)
	}
}
