package sim_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

var (
	ghostTask = weft.NewTask[int, int]("Ghost", "boo")
	caller    = weft.NewWorkflow[int, int]("Caller", "run")
	backoff   = weft.NewTask[int, int]("Backoff", "fail")
	retrier   = weft.NewWorkflow[int, int]("Retrier", "run")
)

func TestBadInputGoesToDeadLetters(t *testing.T) {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, caller, func(ctx weft.Context, n int) (int, error) {
		return weft.Call(ctx, ghostTask, n) // no executor has this service
	}))
	s := sim.New(t, reg, sim.Options{FastPath: true})

	env := func(typ, topic, data string) []byte {
		return []byte(`{"id":"m","source":"t","specversion":"1.0","type":"` + typ + `","wefttopic":"` + topic + `","data":` + data + `}`)
	}
	cases := map[string][]byte{
		"not JSON":         []byte("\x00\xffgarbage"),
		"not an event":     []byte(`{"hello":"world"}`),
		"oversized":        append([]byte(`{"id":"`), make([]byte, core.MaxEnvelopeSize)...),
		"unknown type":     env("weft.cmd.Nope", "workflow-cmd:Caller", `{}`),
		"malformed data":   env("weft.cmd.DispatchWorkflow", "workflow-cmd:Caller", `"{\"v\":1"`),
		"wrong field type": env("weft.cmd.DispatchWorkflow", "workflow-cmd:Caller", `{"v":1,"workflowId":42}`),
		"unknown schema version": env("weft.cmd.DispatchWorkflow", "workflow-cmd:Caller",
			`{"v":9,"workflowId":"a","workflow":"Caller","method":"run"}`),
		"missing workflow id": env("weft.cmd.DispatchWorkflow", "workflow-cmd:Caller", `{"v":1,"workflow":"Caller","method":"run"}`),
		"wrong topic":         env("weft.cmd.DispatchWorkflow", "workflow-cmd:Other", `{"v":1,"workflowId":"a","workflow":"Caller","method":"run"}`),
		"task without id":     env("weft.executor.ExecuteTask", "task-executor:Calc", `{"v":1,"service":"Calc","method":"add1"}`),
	}
	for name, body := range cases {
		topic := "workflow-cmd:Caller"
		if strings.HasPrefix(name, "task") {
			topic = "task-executor:Calc"
		}
		before := len(s.DeadLetters)
		s.HandleRaw(topic, body)
		if len(s.DeadLetters) != before+1 {
			t.Fatalf("%s: not dead-lettered", name)
		}
		if r := s.DeadLetters[before].Reason; r == "" {
			t.Fatalf("%s: dead letter without a reason", name)
		} else {
			t.Logf("%s: %.200s", name, r)
		}
	}

	// A workflow with no code anywhere, and a task of an unregistered service:
	// both dead-letter with the reason and the callers are told.
	in, _ := json.Marshal(1)
	s.Send(core.Topic(core.PrefixWorkflowCmd, "Caller"), "c1", &core.DispatchWorkflow{WorkflowID: "c1", Workflow: "Caller", Method: "run", Input: in,
		Requester: &core.Requester{Client: "c"}, ClientWaiting: true})
	s.Send(core.Topic(core.PrefixWorkflowCmd, "Phantom"), "p1", &core.DispatchWorkflow{WorkflowID: "p1", Workflow: "Phantom", Method: "run",
		Requester: &core.Requester{Client: "c"}, ClientWaiting: true})
	s.RunAll()
	for _, id := range []string{"c1", "p1"} {
		outs := s.Outcomes(id)
		if len(outs) != 1 || outs[0].Kind != core.MethodFailed || !errors.Is(outs[0].Error, weft.ErrNotRegistered) {
			t.Fatalf("%s: outcomes %+v, want a failure caused by a missing registration", id, outs)
		}
		t.Logf("%s: %v", id, outs[0].Error)
	}
	reasons := ""
	for _, d := range s.DeadLetters {
		reasons += d.Reason + "\n"
	}
	for _, want := range []string{"Ghost.boo", "Phantom"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("no dead letter names %s:\n%s", want, reasons)
		}
	}
}

// TestRetryDelaysFollowTheFormula fails a task until its policy gives up and
// checks, on the fake clock, that every retry ran exactly when the formula
// says: min(max, min × coeff^i) × (1 + rf × (2r − 1)).
func TestRetryDelaysFollowTheFormula(t *testing.T) {
	policy := weft.RetryPolicy{Minimum: time.Second, Maximum: 10 * time.Second, Coefficient: 2, RandomFactor: 0.5, MaxRetries: 6}
	var s *sim.Sim
	var attempts []time.Time
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, backoff, func(ctx weft.TaskContext, n int) (int, error) {
		attempts = append(attempts, s.Now)
		return 0, errors.New("still failing")
	}, weft.WithRetry(policy)))
	weft.MustRegister(weft.RegisterWorkflow(reg, retrier, func(ctx weft.Context, n int) (int, error) {
		return weft.Call(ctx, backoff, n)
	}))
	draws := []float64{0.5, 0, 0.999, 0.25, 0.75, 0.5}
	next := 0
	s = sim.New(t, reg, sim.Options{FastPath: true, Rand: func() float64 {
		r := draws[next%len(draws)]
		next++
		return r
	}})
	dispatch(s, "Retrier", "run", "r1", 0)
	s.RunAll()
	if len(attempts) != policy.MaxRetries+1 {
		t.Fatalf("attempts = %d, want %d", len(attempts), policy.MaxRetries+1)
	}
	for i := 1; i < len(attempts); i++ {
		want, ok := policy.Delay(i-1, "*errors.errorString", draws[i-1])
		base := min(float64(policy.Maximum), float64(policy.Minimum)*math.Pow(2, float64(i-1)))
		formula := time.Duration(base * (1 + 0.5*(2*draws[i-1]-1)))
		if !ok || want != formula {
			t.Fatalf("policy delay %d = %v (%v), formula %v", i-1, want, ok, formula)
		}
		if got := attempts[i].Sub(attempts[i-1]); got != want.Truncate(time.Millisecond) && got != want {
			t.Errorf("retry %d ran %v after the previous attempt, want %v", i, got, want)
		}
	}
	outs := s.Outcomes("r1")
	if len(outs) != 1 || !errors.Is(outs[0].Error, weft.ErrTaskFailed) {
		t.Fatalf("outcome = %+v", outs)
	}
	// The failure keeps the chain of every attempt.
	f := outs[0].Error.Cause.Failure
	n := 0
	for ; f != nil; f = f.Previous {
		n++
	}
	if n != policy.MaxRetries+1 {
		t.Errorf("failure chain has %d attempts, want %d", n, policy.MaxRetries+1)
	}
}
