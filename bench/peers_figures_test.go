package bench

import (
	"testing"
	"time"
)

// peerFigures are one run's figures, as bench/peers/dbos prints them (the
// same JSON fields) and as runPeerWeft measures them on weft:
//
//   - steps/s over the measured batch's wall time;
//   - step p50/p99: from a step's start to the next step's start in the
//     same workflow (the task's or DBOS step's function is what starts);
//   - workflow p50/p99: from the call that starts a workflow to the
//     return of the one that awaits its result;
//   - single: the median of lone workflows run one at a time, warm;
//   - CPU per step of the benchmark's own process (weft's roles, or
//     DBOS's library), servers excluded.
type peerFigures struct {
	System        string  `json:"system"`
	Version       string  `json:"version"`
	Workflows     int     `json:"workflows"`
	Steps         int     `json:"steps"`
	Inflight      int     `json:"inflight"`
	Warmup        int     `json:"warmup"`
	WallMS        float64 `json:"wall_ms"`
	StepsPerS     float64 `json:"steps_per_s"`
	StepP50MS     float64 `json:"step_p50_ms"`
	StepP99MS     float64 `json:"step_p99_ms"`
	WorkflowP50MS float64 `json:"workflow_p50_ms"`
	WorkflowP99MS float64 `json:"workflow_p99_ms"`
	SingleMS      float64 `json:"single_ms"`
	SingleRuns    int     `json:"single_runs"`
	CPUMicrosStep float64 `json:"cpu_us_per_step"`
}

func newPeerFigures(system string, total, inflight, warm int, wall, cpu time.Duration, steps, workflows, singles []time.Duration) peerFigures {
	n := total * stepsPerWorkflow
	steps, workflows, singles = sorted(steps), sorted(workflows), sorted(singles)
	return peerFigures{
		System:        system,
		Workflows:     total,
		Steps:         stepsPerWorkflow,
		Inflight:      inflight,
		Warmup:        warm,
		WallMS:        ms(wall),
		StepsPerS:     float64(n) / wall.Seconds(),
		StepP50MS:     ms(percentile(steps, 50)),
		StepP99MS:     ms(percentile(steps, 99)),
		WorkflowP50MS: ms(percentile(workflows, 50)),
		WorkflowP99MS: ms(percentile(workflows, 99)),
		SingleMS:      ms(percentile(singles, 50)),
		SingleRuns:    len(singles),
		CPUMicrosStep: float64(cpu) / float64(time.Microsecond) / float64(n),
	}
}

// report gives the figures to the benchmark framework.
// ns/op, which would time the whole run with its set-up, is left out.
func (f peerFigures) report(b *testing.B) {
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(f.StepsPerS, "steps/s")
	b.ReportMetric(f.StepP50MS, "step-p50-ms")
	b.ReportMetric(f.StepP99MS, "step-p99-ms")
	b.ReportMetric(f.WorkflowP50MS, "wf-p50-ms")
	b.ReportMetric(f.WorkflowP99MS, "wf-p99-ms")
	b.ReportMetric(f.SingleMS, "single-ms")
	if f.CPUMicrosStep > 0 {
		b.ReportMetric(f.CPUMicrosStep, "cpu-us/step")
	}
}

// peerColumns are the figures of the table, in order; for steps/s a
// ratio above 1 is weft ahead, for the others one below 1.
var peerColumns = []struct {
	name   string
	format string
	get    func(peerFigures) float64
}{
	{"steps/s", "%.0f", func(f peerFigures) float64 { return f.StepsPerS }},
	{"step p50 ms", "%.2f", func(f peerFigures) float64 { return f.StepP50MS }},
	{"step p99 ms", "%.2f", func(f peerFigures) float64 { return f.StepP99MS }},
	{"wf p50 ms", "%.1f", func(f peerFigures) float64 { return f.WorkflowP50MS }},
	{"wf p99 ms", "%.1f", func(f peerFigures) float64 { return f.WorkflowP99MS }},
	{"single ms", "%.2f", func(f peerFigures) float64 { return f.SingleMS }},
	{"cpu µs/step", "%.0f", func(f peerFigures) float64 { return f.CPUMicrosStep }},
}
