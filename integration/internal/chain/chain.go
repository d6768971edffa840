// Package chain is the workflow the integration tests run across process
// crashes: a chain of sequential tasks whose executions are logged to a
// file, so a test can tell how often each task ran.
package chain

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/weftio/weft"
)

// Input asks for Steps sequential tasks.
type Input struct {
	Steps int `json:"steps"`
	// Pause is how long each task takes, so a crash lands mid-workflow.
	Pause time.Duration `json:"pause"`
}

// Output lists every task's result in order, as the workflow saw them.
type Output struct {
	Values []int `json:"values"`
	Sum    int   `json:"sum"`
}

// Definitions.
var (
	Step = weft.NewTask[int, int]("ChainService", "step")
	Run  = weft.NewWorkflow[Input, Output]("Chain", "run")
)

// Expected is the output of a run with n steps.
func Expected(n int) Output {
	var out Output
	for i := range n {
		out.Values = append(out.Values, i*i)
		out.Sum += i * i
	}
	return out
}

// Workflow runs the steps one after the other.
func Workflow(ctx weft.Context, in Input) (Output, error) {
	var out Output
	for i := range in.Steps {
		v, err := weft.Call(ctx, Step, i)
		if err != nil {
			return out, err
		}
		out.Values = append(out.Values, v)
		out.Sum += v
	}
	return out, nil
}

// Register adds the workflow and its service to reg. Each task execution
// appends "<task id>\n" to logPath ("" logs nothing) before answering and
// sleeps pause first.
func Register(reg *weft.Registry, logPath string, pause time.Duration) error {
	var mu sync.Mutex
	step := func(ctx weft.TaskContext, i int) (int, error) {
		if pause > 0 {
			select {
			case <-time.After(pause):
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		if logPath != "" {
			mu.Lock()
			defer mu.Unlock()
			f, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return 0, fmt.Errorf("task log: %w", err)
			}
			_, werr := fmt.Fprintln(f, ctx.Info().TaskID)
			if err := f.Close(); werr == nil {
				werr = err
			}
			if werr != nil {
				return 0, fmt.Errorf("task log: %w", werr)
			}
		}
		return i * i, nil
	}
	if err := weft.RegisterTask(reg, Step, step); err != nil {
		return err
	}
	return weft.RegisterWorkflow(reg, Run, Workflow)
}
