package chaos

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/weftio/weft/integration/internal/chain"
)

// progress counts the task executions logged so far, reading only what
// each log gained since the last call.
type progress struct {
	offsets map[string]int64
	lines   int
}

func (p *progress) update(paths []string) int {
	if p.offsets == nil {
		p.offsets = map[string]int64{}
	}
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			continue // not created yet
		}
		if _, err := f.Seek(p.offsets[path], io.SeekStart); err == nil {
			b, _ := io.ReadAll(f)
			// Count whole lines only; a partial one is read again next time.
			if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
				p.lines += bytes.Count(b[:i+1], []byte{'\n'})
				p.offsets[path] += int64(i + 1)
			}
		}
		f.Close()
	}
	return p.lines
}

// fault is one fault of a schedule and what happened when it was injected.
type fault struct {
	kind  string
	at    int           // inject once this many task executions were logged
	pause time.Duration // worker-kill: how long the worker stays dead

	injected  time.Time
	back      time.Time // the service (or a new worker) answers again
	recovered time.Time // the first task execution logged, or workflow ended, after back
	reexec    int       // executions repeated after this fault, before the next
}

// tally is what the task logs of a combination say.
type tally struct {
	executions      int
	tasks           int // distinct task ids
	tasksReexecuted int // task ids executed more than once
	extra           int // executions beyond each task's first
	beforeFaults    int // of extra, before any fault
	// duplicated lists the (workflow, step) pairs executed under more than
	// one task id: the step's effect recorded twice.
	duplicated []string
	// steps maps each workflow to the steps executed for it.
	steps map[string]map[int]bool
}

// count reads the task logs and attributes each repeated execution to the
// last fault injected before it.
func count(paths []string, faults []*fault) (tally, error) {
	var all []chain.Execution
	for _, path := range paths {
		f, err := os.Open(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return tally{}, err
		}
		execs, err := chain.ParseLog(f)
		f.Close()
		if err != nil {
			return tally{}, fmt.Errorf("%s: %w", path, err)
		}
		all = append(all, execs...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].At.Before(all[j].At) })
	t := tally{executions: len(all), steps: map[string]map[int]bool{}}
	runs := map[string]int{}
	owner := map[string]map[int]string{} // workflow → step → first task id
	dup := map[string]bool{}
	for _, e := range all {
		runs[e.TaskID]++
		if runs[e.TaskID] == 2 {
			t.tasksReexecuted++
		}
		if runs[e.TaskID] > 1 {
			t.extra++
			if i := lastBefore(faults, e.At); i >= 0 {
				faults[i].reexec++
			} else {
				t.beforeFaults++
			}
		}
		if owner[e.WorkflowID] == nil {
			owner[e.WorkflowID] = map[int]string{}
			t.steps[e.WorkflowID] = map[int]bool{}
		}
		t.steps[e.WorkflowID][e.Step] = true
		switch first, ok := owner[e.WorkflowID][e.Step]; {
		case !ok:
			owner[e.WorkflowID][e.Step] = e.TaskID
		case first != e.TaskID:
			key := fmt.Sprintf("%s step %d (tasks %s and %s)", e.WorkflowID, e.Step, first, e.TaskID)
			if !dup[key] {
				dup[key] = true
				t.duplicated = append(t.duplicated, key)
			}
		}
	}
	t.tasks = len(runs)
	return t, nil
}

// lastBefore returns the index of the last fault injected at or before at,
// or -1.
func lastBefore(faults []*fault, at time.Time) int {
	last := -1
	for i, f := range faults {
		if !f.injected.IsZero() && !f.injected.After(at) {
			last = i
		}
	}
	return last
}

// result is one combination's line of the report.
type result struct {
	combo      string
	workflows  int
	right      int
	wrong      []string // workflows that ended otherwise than with the right result
	wrongIDs   map[string]bool
	lost       []string // workflows that never ended
	tally      tally
	deadLetter deadLetters
	exits      []string // workers that exited by themselves
	faults     []*fault
	elapsed    time.Duration
}

// failed reports whether the combination must fail: a workflow lost or
// ended wrong, an effect recorded twice, a worker that exited by itself, or
// a fault of the schedule that never happened (a run that outran its
// schedule proved nothing about that fault).
func (r *result) failed() bool {
	return len(r.lost) > 0 || len(r.wrong) > 0 || len(r.tally.duplicated) > 0 || len(r.exits) > 0 || r.uninjected() > 0
}

// uninjected counts the faults of the schedule not carried out.
func (r *result) uninjected() int {
	n := 0
	for _, f := range r.faults {
		if f.injected.IsZero() || f.back.IsZero() {
			n++
		}
	}
	return n
}

// format writes the report of every combination.
func format(seed int64, o options, results []*result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos report: seed %d, %s form, %d workflows of %d steps per combination, %d workers\nrerun: %s\n",
		seed, o.mode, o.workflows, o.steps, o.workers, rerun(o, ""))
	fmt.Fprintf(&b, "%-18s %9s %6s %5s %10s %10s %9s %8s %6s %8s\n",
		"combination", "completed", "wrong", "lost", "duplicated", "executions", "re-exec'd", "extra", "dlq", "time")
	for _, r := range results {
		fmt.Fprintf(&b, "%-18s %9d %6d %5d %10d %10d %9d %8d %6d %7.0fs\n", r.combo, r.right, len(r.wrong), len(r.lost),
			len(r.tally.duplicated), r.tally.executions, r.tally.tasksReexecuted, r.tally.extra, r.deadLetter.count, r.elapsed.Seconds())
	}
	for _, r := range results {
		fmt.Fprintf(&b, "%s: %d repeated executions before any fault", r.combo, r.tally.beforeFaults)
		if len(r.faults) == 0 {
			b.WriteString(" (no faults injected)")
		}
		b.WriteString("\n")
		for i, f := range r.faults {
			switch {
			case f.injected.IsZero():
				fmt.Fprintf(&b, "  fault %d %-15s at %5d executions: not injected\n", i+1, f.kind, f.at)
				continue
			case f.back.IsZero():
				fmt.Fprintf(&b, "  fault %d %-15s at %5d executions: did not come back\n", i+1, f.kind, f.at)
				continue
			}
			rec := "nothing ran or ended after it"
			if !f.recovered.IsZero() {
				rec = fmt.Sprintf("progress %5.1fs after it", f.recovered.Sub(f.injected).Seconds())
			}
			fmt.Fprintf(&b, "  fault %d %-15s at %5d executions: back in %5.1fs, %s; %d repeated executions after it\n",
				i+1, f.kind, f.at, f.back.Sub(f.injected).Seconds(), rec, f.reexec)
		}
		for _, w := range first(r.lost, 5) {
			fmt.Fprintf(&b, "  lost: %s\n", w)
		}
		for _, w := range first(r.wrong, 5) {
			fmt.Fprintf(&b, "  wrong: %s\n", w)
		}
		for _, d := range first(r.tally.duplicated, 5) {
			fmt.Fprintf(&b, "  duplicated effect: %s\n", d)
		}
		for _, d := range r.deadLetter.examples {
			fmt.Fprintf(&b, "  dead letter: %s\n", d)
		}
		for _, e := range r.exits {
			fmt.Fprintf(&b, "  worker exited by itself: %s\n", e)
		}
	}
	return b.String()
}

func first(s []string, n int) []string {
	s = slices.Clone(s)
	if len(s) > n {
		s = append(s[:n], fmt.Sprintf("... and %d more", len(s)-n))
	}
	return s
}
