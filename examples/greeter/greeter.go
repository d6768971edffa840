// Package greeter is a program of one's own in its smallest form: one
// service with one task and one workflow calling it. cmd/greeter turns it
// into a binary that runs weft's roles with the WEFT_* configuration (as a
// worker, or as a Pulsar Function), and ../hello runs it in one process.
package greeter

import (
	"fmt"
	"strings"

	"github.com/weftio/weft"
)

// Definitions, shared by callers and implementers.
var (
	Greet    = weft.NewTask[string, string]("Greeter", "greet")
	Greeting = weft.NewWorkflow[string, string]("Greeting", "greet")
)

// Workflow greets name through the Greeter service, durably.
func Workflow(ctx weft.Context, name string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", weft.NonRetryable(fmt.Errorf("greeting: the name is empty"))
	}
	return weft.Dispatch(ctx, Greet, name).Await()
}

// Register adds the service and the workflow to reg.
func Register(reg *weft.Registry) error {
	if err := weft.RegisterTask(reg, Greet, func(_ weft.TaskContext, name string) (string, error) {
		return "Hello, " + name + "!", nil
	}); err != nil {
		return err
	}
	return weft.RegisterWorkflow(reg, Greeting, Workflow)
}
