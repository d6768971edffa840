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
//
// BenchmarkLoad measures what faults cost in repeated work. It keeps
// -bench.load-workflows (default 10,000) workflows of ten tasks in flight
// at once on separate roles, as role binaries run them (a state engine
// without workflow code, an executor, a tag engine, each on its own
// worker), with a state cache (-bench.load-cache, default 64) far smaller
// than the instances in flight, on memory+memory and on every combination
// of pulsar or pgqueue with postgres or redis whose services are set. The
// memory transport runs without its deduplication by envelope id, which no
// real broker does by default. Each combination runs with no fault, with
// the state engine and the executor restarted gracefully halfway, and with
// them killed halfway, and reports workflows/s, task executions, steps
// executed more than once and their share. Without a fault, no task may
// run twice, which TestLoadNoReexecution checks on memory (with no state
// cache at all) in every `go test`, and on pulsar+postgres and
// pgqueue+postgres when their services are set:
//
//	make bench-load
//
// BenchmarkRoleBinaries (Linux only: it reads /proc) measures the four
// role binaries of functions/ per driver profile: pgqueue+postgres (the
// PostgreSQL-only deployment; with TEST_REQUIRE_INTEGRATION=1 its
// services are required), and pulsar+postgres and pulsar+redis when their
// service URLs are set. It builds each binary as `make functions` does
// (CGO_ENABLED=0, -trimpath, -ldflags='-s -w', the profile's tags) and
// starts each one -bench.binary-starts (default 5) times, every start a
// fresh process in a fresh namespace. Every start is of all four, in
// order, so that each finds a message waiting: a fanout workflow is
// dispatched with a customId tag before any role runs, the tag engine
// forwards it, the state engine makes its workflow task, the executor
// runs that, and the event listener posts the events the others emitted
// to an HTTP sink of the benchmark's. It reports per binary
//
//   - bytes: its size;
//   - ready-ms, ready-max-ms: median and max time from exec to its
//     "<role>: ready" line;
//   - answer-ms, answer-max-ms: median and max time from exec until its
//     answer to the waiting message reached the benchmark (on a probe
//     subscription of its own, or the sink), so including that last hop;
//   - rss-MB, rss-max-MB: median and max VmRSS, in 10^6 bytes, one second
//     after the ready line;
//
// and logs them as one line per binary beside the goals (under 25 MB,
// under 30 ms to ready, under 30 MB idle), which nothing asserts.
// TestRoleBinaryHarness checks the ready-line watcher, the RSS reader and
// the stopping of children on a real child process.
//
//	make bench-binaries
//
// BenchmarkPeers compares weft with DBOS Transact Go on one workload:
// -bench.peers-workflows (default 1,000) workflows of ten sequential
// trivial steps, -bench.peers-inflight (100) at once, after a warm-up, then
// -bench.peers-single (11) lone workflows. Weft runs as an embedded runtime
// (the harness above, fast path on) on each pair of -bench.peers-setups
// (memory+memory, pgqueue+postgres, pulsar+postgres, pulsar+redis), in a
// fresh namespace; DBOS runs in bench/peers/dbos, a module of its own
// built once into a temporary directory and run as a subprocess, which
// prints its figures as a JSON line. They alternate, DBOS then each weft
// setup, for -bench.peers-rounds (3) rounds, on the test PostgreSQL
// (pg=fast: fsync off) and on the durable one (pg=durable:
// WEFT_TEST_POSTGRES_DURABLE_URL, fsync and full_page_writes on; from
// `scripts/services.sh up postgres-durable`). Each pass prints a table:
// steps/s, step p50/p99 (a step's start to the next step's start), workflow
// p50/p99 (the starting call to the awaiting call's return), the median
// lone workflow, process CPU per step (servers excluded), each weft figure
// with its ratio to DBOS's in the same round, and the medians over the
// rounds. A setup whose service URLs are unset is skipped with a line
// naming them (failed with TEST_REQUIRE_INTEGRATION=1). TestPeersShort runs
// a small form (20 workflows, DBOS and memory) when the test PostgreSQL is
// set.
//
//	make bench-peers
package bench
