// Package chaos runs chains of tasks on worker processes while it breaks
// things: it SIGKILLs workers at random points, restarts PostgreSQL (clean
// fast stop, and kill -9), restarts Redis (clean, and kill -9) and restarts
// the Pulsar broker on its data, then checks that every workflow completed
// with the right result, that no step's effect was recorded twice, and
// counts the tasks executed more than once and the dead letters.
//
// The suite starts services of its own (scripts/services.sh and
// scripts/pulsar.sh with their own state directory and ports, on durable
// settings), because it restarts them: the shared test services other
// packages use are never touched. It runs only when WEFT_CHAOS is set
// (`make chaos` for the full form, `make chaos-short` for the one CI runs);
// see chaos_test.go for the knobs. Every run is seeded: WEFT_CHAOS_SEED
// replays a schedule, the faults landing at the same points of progress.
package chaos
