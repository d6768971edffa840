package weft_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
)

type regProps struct{ N int }
type otherProps struct{ S string }

func okTask(_ weft.TaskContext, n int) (int, error) { return n, nil }
func okWorkflow(_ weft.Context, n int) (int, error) { return n, nil }

// TestRegistrationErrorsNameTheProblem registers invalid implementations
// and checks each error names what is wrong (and the task or workflow).
func TestRegistrationErrorsNameTheProblem(t *testing.T) {
	t.Parallel()
	task := weft.NewTask[int, int]("Billing", "charge")
	wf := weft.NewWorkflow[int, int]("Order", "place")
	cases := []struct {
		name string
		reg  func(r *weft.Registry) error
		want []string
	}{
		{"task without service", func(r *weft.Registry) error {
			return weft.RegisterTask(r, weft.NewTask[int, int]("", "charge"), okTask)
		}, []string{"service and method names are required"}},
		{"task without method", func(r *weft.Registry) error {
			return weft.RegisterTask(r, weft.NewTask[int, int]("Billing", ""), okTask)
		}, []string{"service and method names are required"}},
		{"nil task function", func(r *weft.Registry) error {
			return weft.RegisterTask[int, int](r, task, nil)
		}, []string{"Billing.charge", "nil function"}},
		{"duplicate task", func(r *weft.Registry) error {
			weft.MustRegister(weft.RegisterTask(r, task, okTask))
			return weft.RegisterTask(r, task, okTask)
		}, []string{"Billing.charge", "already registered"}},
		{"negative MaxRetries", func(r *weft.Registry) error {
			return weft.RegisterTask(r, task, okTask, weft.WithRetry(weft.RetryPolicy{MaxRetries: -1}))
		}, []string{"Billing.charge", "MaxRetries"}},
		{"zero Minimum", func(r *weft.Registry) error {
			p := weft.DefaultRetryPolicy()
			p.Minimum = 0
			return weft.RegisterTask(r, task, okTask, weft.WithRetry(p))
		}, []string{"Billing.charge", "Minimum"}},
		{"Maximum below Minimum", func(r *weft.Registry) error {
			p := weft.DefaultRetryPolicy()
			p.Maximum = time.Millisecond
			return weft.RegisterTask(r, task, okTask, weft.WithRetry(p))
		}, []string{"Billing.charge", "Maximum"}},
		{"NaN coefficient", func(r *weft.Registry) error {
			p := weft.DefaultRetryPolicy()
			p.Coefficient = math.NaN()
			return weft.RegisterTask(r, task, okTask, weft.WithRetry(p))
		}, []string{"Billing.charge", "Coefficient"}},
		{"RandomFactor of 1", func(r *weft.Registry) error {
			p := weft.DefaultRetryPolicy()
			p.RandomFactor = 1
			return weft.RegisterTask(r, task, okTask, weft.WithRetry(p))
		}, []string{"Billing.charge", "RandomFactor"}},
		{"workflow without name", func(r *weft.Registry) error {
			return weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("", "place"), okWorkflow)
		}, []string{"workflow and method names are required"}},
		{"workflow without method", func(r *weft.Registry) error {
			return weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Order", ""), okWorkflow)
		}, []string{"workflow and method names are required"}},
		{"method without workflow name", func(r *weft.Registry) error {
			return weft.RegisterMethod(r, weft.NewWorkflow[int, int]("", "place"), func(*regProps, weft.Context, int) (int, error) { return 0, nil })
		}, []string{"workflow and method names are required"}},
		{"nil workflow function", func(r *weft.Registry) error {
			return weft.RegisterWorkflow[int, int](r, wf, nil)
		}, []string{"Order.place", "nil function"}},
		{"nil method function", func(r *weft.Registry) error {
			return weft.RegisterMethod[regProps, int, int](r, wf, nil)
		}, []string{"Order.place", "nil function"}},
		{"duplicate workflow method", func(r *weft.Registry) error {
			weft.MustRegister(weft.RegisterWorkflow(r, wf, okWorkflow))
			return weft.RegisterWorkflow(r, wf, okWorkflow)
		}, []string{"Order.place", "version 0", "already registered"}},
		{"duplicate workflow method of a version", func(r *weft.Registry) error {
			weft.MustRegister(weft.RegisterWorkflow(r, wf, okWorkflow, weft.WithVersion(4)))
			return weft.RegisterWorkflow(r, wf, okWorkflow, weft.WithVersion(4))
		}, []string{"Order.place", "version 4", "already registered"}},
		{"two properties types in one version", func(r *weft.Registry) error {
			weft.MustRegister(weft.RegisterMethod(r, weft.NewWorkflow[int, int]("Order", "a"), func(*regProps, weft.Context, int) (int, error) { return 0, nil }))
			return weft.RegisterMethod(r, weft.NewWorkflow[int, int]("Order", "b"), func(*otherProps, weft.Context, int) (int, error) { return 0, nil })
		}, []string{"Order.b", "version 0", "properties type", "otherProps", "regProps"}},
		{"properties and no properties in one version", func(r *weft.Registry) error {
			weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Order", "a"), okWorkflow))
			return weft.RegisterMethod(r, weft.NewWorkflow[int, int]("Order", "b"), func(*regProps, weft.Context, int) (int, error) { return 0, nil })
		}, []string{"Order.b", "properties type", "regProps"}},
		{"bad check mode", func(r *weft.Registry) error {
			return weft.RegisterWorkflow(r, wf, okWorkflow, weft.WithCheckMode("loose"))
		}, []string{"Order.place", "check mode loose", "none, simple, strict"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.reg(weft.NewRegistry())
			if err == nil {
				t.Fatal("registration succeeded, want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestValidRegistrations: what the validation must not reject.
func TestValidRegistrations(t *testing.T) {
	t.Parallel()
	r := weft.NewRegistry()
	wf := weft.NewWorkflow[int, int]("Order", "place")
	weft.MustRegister(weft.RegisterTask(r, weft.NewTask[int, int]("Billing", "charge"), okTask, weft.WithRetry(weft.DefaultRetryPolicy())))
	// Same method name on another service, and a zero policy (no retry).
	weft.MustRegister(weft.RegisterTask(r, weft.NewTask[int, int]("Shipping", "charge"), okTask, weft.WithRetry(weft.RetryPolicy{})))
	// The same method in several versions, properties types per version.
	weft.MustRegister(weft.RegisterWorkflow(r, wf, okWorkflow, weft.WithVersion(1)))
	weft.MustRegister(weft.RegisterMethod(r, wf, func(*regProps, weft.Context, int) (int, error) { return 0, nil }, weft.WithVersion(2)))
	weft.MustRegister(weft.RegisterMethod(r, weft.NewWorkflow[int, int]("Order", "cancel"), func(*regProps, weft.Context, int) (int, error) { return 0, nil }, weft.WithVersion(2)))
	for _, m := range []core.CheckMode{"", core.CheckNone, core.CheckSimple, core.CheckStrict} {
		weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Mode"+string(m), "run"), okWorkflow, weft.WithCheckMode(m)))
	}
	if got := strings.Join(r.Services(), ","); got != "Billing,Shipping" {
		t.Errorf("Services() = %s", got)
	}
	if got := strings.Join(r.Workflows(), ","); got != "Mode,Modenone,Modesimple,Modestrict,Order" {
		t.Errorf("Workflows() = %s", got)
	}
	if !r.HasWorkflow("Order") || r.HasWorkflow("Billing") {
		t.Error("HasWorkflow is wrong")
	}
}

func TestMustRegisterPanicsWithTheError(t *testing.T) {
	t.Parallel()
	want := errors.New("boom")
	defer func() {
		if p := recover(); p != want {
			t.Fatalf("recovered %v, want the registration error", p)
		}
	}()
	weft.MustRegister(nil) // no panic
	weft.MustRegister(want)
	t.Fatal("MustRegister did not panic")
}

// TestCheckWorkflowInput validates dispatches against the latest version.
func TestCheckWorkflowInput(t *testing.T) {
	t.Parallel()
	type in struct {
		Amount int `json:"amount"`
	}
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[int, int]("Pay", "run"), okWorkflow, weft.WithVersion(1)))
	weft.MustRegister(weft.RegisterWorkflow(r, weft.NewWorkflow[in, int]("Pay", "run"), func(weft.Context, in) (int, error) { return 0, nil }, weft.WithVersion(2)))
	cases := []struct {
		workflow, method, input string
		want                    error
	}{
		{"Pay", "run", `{"amount":3}`, nil},
		{"Pay", "run", ``, nil}, // no input decodes as the zero value
		{"Pay", "run", `3`, weft.ErrBadInput},
		{"Pay", "run", `{"amount":3,"extra":1}`, weft.ErrBadInput},
		{"Pay", "run", `{`, weft.ErrBadInput},
		{"Pay", "refund", `{}`, weft.ErrWorkflowUnknown},
		{"Nope", "run", `{}`, weft.ErrWorkflowUnknown},
	}
	for _, c := range cases {
		err := r.CheckWorkflowInput(c.workflow, c.method, json.RawMessage(c.input))
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("CheckWorkflowInput(%s, %s, %s) = %v, want %v", c.workflow, c.method, c.input, err, c.want)
		}
	}
}
