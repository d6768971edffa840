package main

import (
	"runtime/debug"
	"time"
)

const module = "github.com/dbos-inc/dbos-transact-golang"

// figures is the JSON line the command prints; bench.BenchmarkPeers reads
// the same fields.
type figures struct {
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

func newFigures(o options, m batchResult, singles []time.Duration) figures {
	steps := o.workflows * o.steps
	return figures{
		System:        "dbos",
		Version:       version(),
		Workflows:     o.workflows,
		Steps:         o.steps,
		Inflight:      o.inflight,
		Warmup:        o.warmup,
		WallMS:        ms(m.wall),
		StepsPerS:     float64(steps) / m.wall.Seconds(),
		StepP50MS:     ms(percentile(m.steps, 50)),
		StepP99MS:     ms(percentile(m.steps, 99)),
		WorkflowP50MS: ms(percentile(m.workflows, 50)),
		WorkflowP99MS: ms(percentile(m.workflows, 99)),
		SingleMS:      ms(percentile(singles, 50)),
		SingleRuns:    len(singles),
		CPUMicrosStep: float64(m.cpu) / float64(time.Microsecond) / float64(steps),
	}
}

// version is the DBOS module's version this binary was built with.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == module {
				return d.Version
			}
		}
	}
	return "unknown"
}

// percentile is the p-th percentile (0 < p <= 100) of sorted values by the
// nearest-rank method, as weft's bench package computes it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
