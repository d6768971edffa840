//go:build !unix

package main

import "time"

// processCPU is not measured here: cpu_us_per_step is 0.
func processCPU() time.Duration { return 0 }
