package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftio/weft/internal/testenv"
)

var (
	peersRounds    = flag.Int("bench.peers-rounds", 3, "rounds of BenchmarkPeers per PostgreSQL; each runs DBOS and every weft setup once, in turn")
	peersWorkflows = flag.Int("bench.peers-workflows", 1000, "workflows of BenchmarkPeers' measured batch, per setup and round")
	peersInflight  = flag.Int("bench.peers-inflight", 100, "workflows BenchmarkPeers keeps in flight at once")
	peersSingle    = flag.Int("bench.peers-single", 11, "lone workflows per setup and round; the single-workflow latency is their median")
	peersSetups    = flag.String("bench.peers-setups", "memory+memory,memory+memory+local,pgqueue+postgres,pgqueue+postgres+local,pulsar+postgres,pulsar+redis,pulsar+redis+local",
		"comma-separated weft setups (transport+storage) BenchmarkPeers runs beside DBOS")
)

// peerPostgres is a PostgreSQL server the comparison runs on.
type peerPostgres struct {
	name, env string // pg=<name>; the variable holding its URL
	url       string
	settings  string // its durability settings, as it reports them
}

// BenchmarkPeers runs the same workload on weft and on DBOS Transact Go
// (bench/peers/dbos, built once into a temporary directory and run as a
// subprocess): -bench.peers-workflows workflows of ten sequential trivial
// steps, -bench.peers-inflight at once, after a warm-up, then
// -bench.peers-single lone workflows. Each weft setup is an embedded
// runtime (every role in this process, as DBOS runs in its caller's) on a
// transport+storage pair of -bench.peers-setups, in a fresh namespace.
// The rounds alternate: DBOS, then each weft setup, -bench.peers-rounds
// times, on the test PostgreSQL (pg=fast: fsync off) and on the durable
// one (pg=durable: WEFT_TEST_POSTGRES_DURABLE_URL, fsync and
// full_page_writes on) when it is set. Each pass ends with a table of
// every run's figures and each weft figure's ratio to DBOS's in the same
// round, and the medians over the rounds. Run it with -benchtime=1x
// (make bench-peers).
func BenchmarkPeers(b *testing.B) {
	setups, w := peerSetups(b), peerWorkloadFlags()
	bin := newPeerBinary(b)
	for _, pg := range []*peerPostgres{{name: "fast", env: testenv.PostgresURL}, {name: "durable", env: testenv.PostgresDurableURL}} {
		b.Run("pg="+pg.name, func(b *testing.B) {
			defer skipLine(b, "pg="+pg.name, pg.env)
			pg.resolve(b)
			tab := &peerTable{title: fmt.Sprintf("pg=%s (%s; %s)", pg.name, pg.env, pg.settings)}
			for round := 1; round <= max(*peersRounds, 1); round++ {
				b.Run(fmt.Sprintf("round=%d", round), func(b *testing.B) {
					b.Run("dbos", func(b *testing.B) {
						path := bin.path(b)
						for range b.N {
							f := runPeerDBOS(b, w, path, pg.url)
							f.report(b)
							tab.add(round, "dbos", f)
						}
					})
					for _, s := range setups {
						ok := b.Run(s.name(), func(b *testing.B) {
							defer func() {
								if b.Skipped() {
									tab.note(round, s.name(), "skipped")
								}
							}()
							defer skipLine(b, s.name(), s.vars()...)
							for range b.N {
								f := runPeerWeft(b, w, s, pg.url)
								f.report(b)
								tab.add(round, s.name(), f)
							}
						})
						if !ok {
							tab.note(round, s.name(), "failed") // unless it has figures
						}
					}
				})
			}
			// A parent benchmark's log is never printed: to stdout, as
			// the result lines go.
			fmt.Fprintf(os.Stdout, "\n%s\n", tab)
		})
	}
}

// peerSetup is a weft transport+storage pair.
// peerSetup is a transport and a storage; local: the task is registered
// with weft.Local (it runs in the state engine's process).
type peerSetup struct {
	transport, storage string
	local              bool
}

func (s peerSetup) name() string {
	if s.local {
		return s.transport + "+" + s.storage + "+local"
	}
	return s.transport + "+" + s.storage
}

// vars are the variables naming the services s needs.
func (s peerSetup) vars() []string {
	need := map[string][]string{
		"postgres": {testenv.PostgresURL},
		"pgqueue":  {testenv.PostgresURL},
		"redis":    {testenv.RedisURL},
		"mysql":    {testenv.MySQLURL},
		"pulsar":   {testenv.PulsarURL, testenv.PulsarAdminURL},
		"sqs":      {testenv.SQSEndpoint},
	}
	return append(need[s.storage], need[s.transport]...)
}

// skipLine, deferred by a benchmark, prints a line saying that it was
// skipped and which of vars are unset (a benchmark's SKIP line shows only
// with -test.v).
func skipLine(b testing.TB, what string, vars ...string) {
	if !b.Skipped() {
		return
	}
	var unset []string
	for _, v := range vars {
		if os.Getenv(v) == "" {
			unset = append(unset, v)
		}
	}
	why := "a service it needs is missing"
	if len(unset) > 0 {
		why = strings.Join(unset, ", ") + " not set"
	}
	fmt.Fprintf(os.Stdout, "BenchmarkPeers: %s skipped: %s\n", what, why)
}

func peerSetups(b *testing.B) []peerSetup {
	var out []peerSetup
	for f := range strings.SplitSeq(*peersSetups, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		tr, st, ok := strings.Cut(f, "+")
		if !ok {
			b.Fatalf("-bench.peers-setups: %q is not transport+storage[+local]", f)
		}
		st, local := strings.CutSuffix(st, "+local")
		out = append(out, peerSetup{transport: tr, storage: st, local: local})
	}
	return out
}

// resolve reads the server's URL from the environment, skipping b (or
// failing it when integration tests are required) when it is unset, and
// asks the server for its durability settings.
func (pg *peerPostgres) resolve(b testing.TB) {
	if pg.env == testenv.PostgresURL {
		pg.url = testenv.URL(b, pg.env)
	} else if pg.url = os.Getenv(pg.env); pg.url == "" {
		if testenv.Required() {
			b.Fatalf("%s is not set and TEST_REQUIRE_INTEGRATION=1: start it with `scripts/services.sh up postgres-durable` and export its URL", pg.env)
		}
		b.Skipf("%s is not set: no comparison on a durable PostgreSQL (scripts/services.sh up postgres-durable, or make bench-peers)", pg.env)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, pg.url)
	if err != nil {
		b.Fatalf("%s: %v", pg.env, err)
	}
	defer c.Close(ctx)
	var parts []string
	for _, s := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
		var v string
		if err := c.QueryRow(ctx, "SHOW "+s).Scan(&v); err != nil {
			b.Fatalf("%s: SHOW %s: %v", pg.env, s, err)
		}
		parts = append(parts, s+"="+v)
	}
	pg.settings = strings.Join(parts, " ")
}

// peerWorkload is the size of the workload, the same on weft and DBOS.
type peerWorkload struct {
	workflows, inflight int // the measured batch
	single              int // lone workflows after it
}

func peerWorkloadFlags() peerWorkload {
	return peerWorkload{workflows: max(*peersWorkflows, 1), inflight: max(*peersInflight, 1), single: max(*peersSingle, 0)}
}

// warmup is how many workflows run before the measured batch, as
// BenchmarkEmbeddedSequential10 warms up.
func (w peerWorkload) warmup() int { return min(max(w.inflight, w.workflows/3), w.workflows) }
