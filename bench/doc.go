// Package bench holds the benchmark harness of the embedded runtime.
//
// It contains only tests. BenchmarkEmbeddedSequential10 drives many workflow
// instances at once through the embedded runtime (in-memory transport and
// storage, every role in-process), each instance calling ten trivial tasks
// one after another, over the matrix instances={100,1000} in flight x
// fastpath={on,off}. Every iteration runs the same fixed number of
// workflows, so -benchtime=1x is meaningful. It reports
//
//   - steps/s: task steps per second of wall time;
//   - p50-ms, p99-ms: the latency of one step, from the start of a task to
//     the start of the next task of the same instance;
//   - cpu-us/step: process CPU time per step, which varies much less than
//     steps/s when other work shares the machine (compare this one across
//     changes).
//
// and logs the same as one readable line per sub-benchmark, plus any
// warning the runtime logged (retries, dead letters), which a healthy run
// never has. Nothing here ever fails on speed; TestHarnessCounts only
// checks that the harness counts what it claims to count.
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
// The number of workflows per iteration (default 3000) can be changed with
// `-args -bench.workflows=N`; select sub-benchmarks with patterns such as
// -bench='Sequential10/.*/fastpath=on'.
package bench
