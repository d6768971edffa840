// Package chain is the workflow the integration tests run across process
// crashes: a chain of sequential tasks whose executions are logged to a
// file, so a test can tell how often each task ran.
package chain

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
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
// sleeps pause, then appends a line to logPath ("" logs nothing) before
// answering: "<task id> <workflow id> <step> <unix nanoseconds>" (see
// ParseLog). The line is written with one write(2) on a file opened for
// appending, so it survives a SIGKILL of the process once the task answered.
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
			info := ctx.Info()
			_, werr := fmt.Fprintf(f, "%s %s %d %d\n", info.TaskID, info.WorkflowID, i, time.Now().UnixNano())
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

// Execution is one line of a task log: one execution of a step.
type Execution struct {
	TaskID     string
	WorkflowID string
	Step       int
	At         time.Time
}

// ParseLog reads the executions of a task log. A last line cut short (a
// process killed in the middle of a write) is ignored; any other line that
// does not parse is an error.
func ParseLog(r io.Reader) ([]Execution, error) {
	var out []Execution
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			return out, nil // "" or a partial last line
		}
		if err != nil {
			return out, err
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			return out, fmt.Errorf("task log line %d: %q: want 4 fields", n, line)
		}
		step, err1 := strconv.Atoi(f[2])
		ns, err2 := strconv.ParseInt(f[3], 10, 64)
		if err1 != nil || err2 != nil {
			return out, fmt.Errorf("task log line %d: %q: bad step or time", n, line)
		}
		out = append(out, Execution{TaskID: f[0], WorkflowID: f[1], Step: step, At: time.Unix(0, ns)})
	}
}
