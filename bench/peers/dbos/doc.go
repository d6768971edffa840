// Command dbos runs weft's peer workload on DBOS Transact Go, for the side
// by side comparison of bench.BenchmarkPeers (make bench-peers). It is a
// module of its own so that weft's module never depends on DBOS.
//
// The workload is the one weft's benchmarks run: -workflows workflows
// (default 1,000), each running -steps sequential trivial steps (default
// 10; each a DBOS step returning its input + 1), -inflight of them at once
// (default 100: that many drivers each run one workflow after another),
// after a warm-up of -warmup workflows. Then -single workflows run one at a
// time, alone. It prints one JSON line on stdout:
//
//   - steps_per_s: steps of the measured batch per second of its wall time;
//   - step_p50_ms, step_p99_ms: from the start of a step's function to the
//     start of the next step's function of the same workflow (so the
//     checkpoint of the first and the dispatch of the second);
//   - workflow_p50_ms, workflow_p99_ms: from the RunWorkflow call to
//     GetResult's return, per workflow of the batch;
//   - single_ms: the median of the -single lone workflows, measured the
//     same way;
//   - cpu_us_per_step: this process's CPU time per step of the batch (the
//     database server's is not included).
//
// The PostgreSQL server comes from PEERS_POSTGRES_URL (or -url); DBOS's
// system database is -database on that server (default weft_peers_dbos,
// created when missing) and its tables go in a fresh schema that is
// dropped at the end (-keep keeps it), so nothing meets weft's tables.
package main
