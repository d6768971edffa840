package weft_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/embedded"
)

// A workflow calls a task and a child workflow; the embedded runtime runs
// everything in-process.
func ExampleRegisterWorkflow() {
	greet := weft.NewTask[string, string]("Greeter", "greet")
	shout := weft.NewWorkflow[string, string]("Shouter", "run")
	hello := weft.NewWorkflow[string, string]("Hello", "run")

	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, greet, func(_ weft.TaskContext, name string) (string, error) {
		return "hello, " + name, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, shout, func(ctx weft.Context, s string) (string, error) {
		return strings.ToUpper(s) + "!", nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, hello, func(ctx weft.Context, name string) (string, error) {
		g, err := weft.Call(ctx, greet, name)
		if err != nil {
			return "", err
		}
		return weft.CallChild(ctx, shout, g)
	}))

	ctx := context.Background()
	rt, err := embedded.Start(ctx, reg, embedded.Options{})
	if err != nil {
		panic(err)
	}
	defer rt.Stop()
	out, err := client.Run(ctx, rt.Client(), hello, "ada")
	fmt.Println(out, err)
	// Output: HELLO, ADA! <nil>
}

// Several tasks run in parallel and And joins them.
func ExampleAwaitAll() {
	square := weft.NewTask[int, int]("Math", "square")
	sum := weft.NewWorkflow[int, int]("Sum", "squares")

	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, square, func(_ weft.TaskContext, n int) (int, error) { return n * n, nil }))
	weft.MustRegister(weft.RegisterWorkflow(reg, sum, func(ctx weft.Context, n int) (int, error) {
		var ds []*weft.Deferred[int]
		for i := 1; i <= n; i++ {
			ds = append(ds, weft.Dispatch(ctx, square, i))
		}
		squares, err := weft.AwaitAll(ds)
		total := 0
		for _, s := range squares {
			total += s
		}
		return total, err
	}))

	ctx := context.Background()
	rt, err := embedded.Start(ctx, reg, embedded.Options{})
	if err != nil {
		panic(err)
	}
	defer rt.Stop()
	total, err := client.Run(ctx, rt.Client(), sum, 10)
	fmt.Println(total, err)
	// Output: 385 <nil>
}

// Executor runtimes run one task attempt with RunTask. A NonRetryable
// error fails the task at once whatever its retry policy says.
func ExampleRegistry_RunTask() {
	parse := weft.NewTask[string, int]("Parser", "parse")
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, parse, func(_ weft.TaskContext, s string) (int, error) {
		var n int
		if _, err := fmt.Sscan(s, &n); err != nil {
			return 0, weft.NonRetryable(errors.New("not a number: " + s))
		}
		return n, nil
	}, weft.WithRetry(weft.DefaultRetryPolicy())))

	for _, in := range []string{`"42"`, `"forty-two"`, `42`} {
		o, _, err := reg.RunTask(context.Background(), &core.ExecuteTask{TaskID: "t", Service: "Parser", Method: "parse", Input: json.RawMessage(in)})
		switch {
		case err != nil:
			fmt.Println("error:", err)
		case o.Failure != nil:
			fmt.Printf("failed (retryable=%v, cause=%v): %s\n", o.Retryable, o.Cause != nil, strings.SplitN(o.Failure.Message, ":", 2)[0])
		default:
			fmt.Println("value:", string(o.Value))
		}
	}
	// Output:
	// value: 42
	// failed (retryable=false, cause=false): not a number
	// failed (retryable=false, cause=true): bad_input
}
