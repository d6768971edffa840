package bench

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/testenv"
)

// runPeerWeft runs the peer workload once on an embedded runtime over
// setup s (PostgreSQL at pgURL where s uses it), in a fresh namespace
// that it drops at the end, and returns its figures.
func runPeerWeft(b testing.TB, w peerWorkload, s peerSetup, pgURL string) peerFigures {
	total, inflight := w.workflows, w.inflight
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	ns := "peers_" + testenv.Suffix()
	o, closeBackends, err := openBackends(ctx, b, s.storage, s.transport, ns,
		map[string]string{"WEFT_POSTGRES_URL": pgURL, "WEFT_PGQUEUE_URL": pgURL})
	if err != nil {
		b.Fatalf("%s: %v", s.name(), err)
	}
	var schemas []string
	if s.storage == "postgres" {
		schemas = append(schemas, ns)
	}
	if s.transport == "pgqueue" {
		schemas = append(schemas, ns+"_q")
	}
	defer dropPeerSchemas(b, pgURL, schemas)
	defer func() {
		if err := closeBackends(); err != nil {
			b.Errorf("%s: close: %v", s.name(), err)
		}
	}()
	var taskOpts []weft.TaskOption
	if s.local {
		taskOpts = append(taskOpts, weft.Local())
	}
	h, err := newHarnessWith(ctx, o, taskOpts...)
	if err != nil {
		b.Fatalf("%s: %v", s.name(), err)
	}
	defer func() {
		if err := h.stop(); err != nil {
			b.Errorf("%s: stop: %v", s.name(), err)
		}
	}()
	warm := w.warmup()
	if r := h.run(ctx, warm, inflight); r.failed > 0 || r.wrong > 0 {
		b.Fatalf("%s: warm-up: %d workflows failed, %d returned a wrong value: %v", s.name(), r.failed, r.wrong, r.firstErr)
	}
	cpu0, cpuOK := processCPU()
	r := h.run(ctx, total, inflight)
	cpu1, ok := processCPU()
	if r.failed > 0 || r.wrong > 0 || r.missing > 0 {
		b.Fatalf("%s: %d workflows failed, %d returned a wrong value, %d steps never ran; first error: %v",
			s.name(), r.failed, r.wrong, r.missing, r.firstErr)
	}
	singles := make([]time.Duration, 0, w.single)
	for range w.single {
		one := h.run(ctx, 1, 1)
		if one.failed > 0 || one.wrong > 0 {
			b.Fatalf("%s: a lone workflow failed: %v", s.name(), one.firstErr)
		}
		singles = append(singles, one.wall)
	}
	if h.warns.n.Load() > 0 {
		b.Logf("%s: the runtime logged %v", s.name(), h.warns)
	}
	var cpu time.Duration
	if cpuOK && ok {
		cpu = cpu1 - cpu0
	}
	return newPeerFigures(s.name(), total, inflight, warm, r.wall, cpu, r.intervals, r.workflows, singles)
}

// dropPeerSchemas drops the schemas a weft run created on the server at
// url, so rounds leave nothing behind.
func dropPeerSchemas(b testing.TB, url string, schemas []string) {
	if len(schemas) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Errorf("drop schemas %v: %v", schemas, err)
		return
	}
	defer c.Close(ctx)
	for _, s := range schemas {
		if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{s}.Sanitize()+" CASCADE"); err != nil {
			b.Errorf("drop schema %s: %v", s, err)
		}
	}
}

// sorted returns a sorted copy of ds.
func sorted(ds []time.Duration) []time.Duration {
	out := slices.Clone(ds)
	slices.Sort(out)
	return out
}
