package bench

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/testenv"
)

var pgqStatements = flag.Bool("bench.pgq-statements", false,
	"BenchmarkPgqueueWire also lists the statements run per step, by text")

var pgqWorkflows = flag.Int("bench.pgq-workflows", 300,
	"workflows run by BenchmarkPgqueueWire after its warm-up (each runs "+fmt.Sprint(stepsPerWorkflow)+" task steps)")

// BenchmarkPgqueueWire runs workflows of ten sequential trivial tasks with
// every role in one process on pgqueue + postgres, both through a proxy
// that reads the PostgreSQL protocol, and reports per task step, after a
// warm-up:
//
//   - stmts: statements executed (extended-protocol Executes and simple
//     Queries), read or write;
//   - round-trips: waits of a client for the server (ReadyForQuery
//     messages);
//   - xacts: transactions ended, read-only ones included (ReadyForQuery
//     after which the session is idle);
//   - xids: transaction ids the server assigned (write transactions and
//     subtransactions, of the whole server: other sessions on a shared
//     server add to it);
//   - pg-cpu-ms: CPU time of the server's processes on this machine (0
//     when it runs elsewhere; other sessions add to it too);
//   - steps/s.
func BenchmarkPgqueueWire(b *testing.B) {
	const inflight = 50
	env := testenv.Settings(b, "postgres", "pgqueue", "benchwire_"+testenv.Suffix())
	target, err := url.Parse(env["WEFT_POSTGRES_URL"])
	if err != nil {
		b.Fatal(err)
	}
	if target.Query().Get("sslmode") != "disable" {
		b.Skip("the counting proxy reads the plain protocol: the test server's URL needs sslmode=disable")
	}
	wire, err := startPgWire(target.Host)
	if err != nil {
		b.Fatal(err)
	}
	defer wire.close()
	proxied := *target
	proxied.Host = wire.addr()
	env["WEFT_POSTGRES_URL"], env["WEFT_PGQUEUE_URL"] = proxied.String(), proxied.String()
	cfg, err := config.Load(config.Source{Lookup: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, target.String())
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	defer func() {
		for _, s := range []string{env["WEFT_POSTGRES_SCHEMA"], env["WEFT_PGQUEUE_SCHEMA"]} {
			if _, err := admin.Exec(context.WithoutCancel(ctx), `DROP SCHEMA IF EXISTS "`+s+`" CASCADE`); err != nil {
				b.Logf("drop schema %s: %v", s, err)
			}
		}
	}()
	stores, err := bootstrap.OpenStorage(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer stores.Close()
	trans, err := bootstrap.OpenTransport(ctx, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer trans.Close()
	h, err := newHarnessWith(ctx, embedded.Options{Store: stores.KeyValue, Tags: stores.KeySet, Transport: trans})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := h.stop(); err != nil {
			b.Error(err)
		}
	}()
	total := max(*pgqWorkflows, 1)
	if w := h.run(ctx, min(inflight*2, total), inflight); w.failed > 0 {
		b.Fatalf("warm-up: %d workflows failed: %v", w.failed, w.firstErr)
	}
	server := func() (xids, commits int64) {
		err := admin.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
			(SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())`).Scan(&xids, &commits)
		if err != nil {
			b.Fatal(err)
		}
		return xids, commits
	}
	xid0, commit0 := server()
	cpu0 := postgresCPU()
	w0, byText0 := wire.counts(), wire.statementCounts()
	m := h.measure(ctx, b, total, inflight)
	w, byText := wire.counts().minus(w0), wire.statementCounts()
	cpu := postgresCPU() - cpu0
	xid1, commit1 := server()
	steps := float64(m.steps)
	b.ReportMetric(float64(w.statements)/steps, "stmts/step")
	b.ReportMetric(float64(w.roundTrips)/steps, "round-trips/step")
	b.ReportMetric(float64(w.transactions)/steps, "xacts/step")
	b.ReportMetric(float64(xid1-xid0)/steps, "xids/step")
	b.ReportMetric(ms(cpu)/steps, "pg-cpu-ms/step")
	b.ReportMetric(ms(m.cpu)/steps, "cpu-ms/step")
	b.Logf("pgqueue + postgres: %.0f steps/s, per step: %.2f statements, %.2f round trips, %.2f transactions (database: %.2f commits), %.2f xids, %.2f notifications, %.3f ms server CPU, %.3f ms this process's CPU (%d steps)",
		m.rate, float64(w.statements)/steps, float64(w.roundTrips)/steps, float64(w.transactions)/steps,
		float64(commit1-commit0)/steps, float64(xid1-xid0)/steps, float64(w.notifications)/steps, ms(cpu)/steps, ms(m.cpu)/steps, m.steps)
	if *pgqStatements {
		texts := slices.SortedFunc(maps.Keys(byText), func(x, y string) int {
			return cmp.Compare(byText[y]-byText0[y], byText[x]-byText0[x])
		})
		for _, text := range texts {
			if n := byText[text] - byText0[text]; n > 0 {
				// To stderr: the log of a benchmark is cut at a few lines.
				fmt.Fprintf(os.Stderr, "%6.2f/step  %.200s\n", float64(n)/steps, text)
			}
		}
	}
	if h.warns.n.Load() > 0 {
		b.Logf("the runtime logged %v", h.warns)
	}
}

// postgresCPU sums the user and system CPU time of this machine's
// processes named postgres (zero if there are none, or /proc is missing).
func postgresCPU() time.Duration {
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open || !strings.HasPrefix(s[open+1:end], "postgres") {
			continue
		}
		// After the name: state is field 3; utime and stime are 14 and 15.
		f := strings.Fields(s[end+1:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}
