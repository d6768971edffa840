// Package bench holds the benchmark harness of the embedded runtime.
//
// It contains only tests: BenchmarkEmbeddedSequential10 drives many
// workflow instances at once through the embedded runtime (in-memory
// transport and storage, every role in-process), each instance calling ten
// trivial tasks one after another, and reports task steps per second and
// the p50/p99 latency of one step (from the start of a task to the start of
// the next task of the same instance). TestHarnessCounts checks that the
// harness counts what it claims to count.
//
// Run it with
//
//	make bench
//
// or, for profiles,
//
//	go test -run=NONE -bench=. -benchtime=1x -count=1 -cpuprofile=cpu.out -memprofile=mem.out ./bench
//	go tool pprof -top bench.test cpu.out
//
// The number of workflows per iteration can be changed with
// `-args -bench.workflows=N`. Nothing here ever fails on speed.
package bench
