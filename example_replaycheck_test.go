package weft_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/embedded"
)

// Before deploying new workflow code, replay the histories of running
// instances (exported with weft describe) against it.
func ExampleRegistry_CheckReplay() {
	reserve := weft.NewTask[string, bool]("Stock", "reserve")
	charge := weft.NewTask[string, bool]("Payments", "charge")
	paid := weft.NewChannel[string]("Order", "paid")
	order := weft.NewWorkflow[string, string]("Order", "place")
	tasks := func(reg *weft.Registry) {
		weft.MustRegister(weft.RegisterTask(reg, reserve, func(weft.TaskContext, string) (bool, error) { return true, nil }))
		weft.MustRegister(weft.RegisterTask(reg, charge, func(weft.TaskContext, string) (bool, error) { return true, nil }))
	}
	flow := func(first weft.TaskRef[string, bool]) func(weft.Context, string) (string, error) {
		return func(ctx weft.Context, id string) (string, error) {
			if _, err := weft.Call(ctx, first, id); err != nil {
				return "", err
			}
			return weft.Receive(ctx, paid).Await()
		}
	}

	// Production runs the current code; an instance waits for its payment.
	prod := weft.NewRegistry()
	tasks(prod)
	weft.MustRegister(weft.RegisterWorkflow(prod, order, flow(reserve)))
	ctx := context.Background()
	rt, err := embedded.Start(ctx, prod, embedded.Options{})
	if err != nil {
		panic(err)
	}
	defer rt.Stop()
	if _, err := client.Dispatch(ctx, rt.Client(), order, "order-1", client.WithID("order-1")); err != nil {
		panic(err)
	}
	var exported json.RawMessage // what `weft describe order-1` prints
	for {
		exported, err = rt.Client().Describe(ctx, "order-1")
		var st core.WorkflowState
		if err == nil && json.Unmarshal(exported, &st) == nil && len(st.Methods) == 1 && st.Methods[0].Current != nil &&
			st.Methods[0].Current.Position == 3 { // waiting for the payment
			break
		}
		time.Sleep(time.Millisecond)
	}

	// The next deploy charges before reserving: running instances break.
	next := weft.NewRegistry()
	tasks(next)
	weft.MustRegister(weft.RegisterWorkflow(next, order, flow(charge)))
	rep := next.CheckReplayJSON("order-1.json", exported)
	fmt.Println(rep.Summary())
	for _, p := range rep.Problems {
		fmt.Printf("%s at position %d (breaks: %v)\n  history:  %s\n  code now: %s\n", p.Kind, p.Position, p.Breaks, p.Recorded, p.Now)
	}
	// Output:
	// 1 state, 1 method run replayed: 0 of 4 recorded history positions
	// command-changed at position 0 (breaks: true)
	//   history:  task Stock.reserve input "order-1" (sha256 4b082425)
	//   code now: task Payments.charge input "order-1" (sha256 4b082425)
}
