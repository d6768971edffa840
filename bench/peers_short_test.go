package bench

import (
	"strings"
	"testing"

	"github.com/weftio/weft/internal/testenv"
)

// TestPeersShort is BenchmarkPeers in miniature, on the test PostgreSQL
// (skipped without it, required with TEST_REQUIRE_INTEGRATION=1): it
// builds bench/peers/dbos, runs 20 workflows on DBOS and on the embedded
// runtime, and checks that both sides measured every figure. It says
// nothing about speed; make bench-peers does.
func TestPeersShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the DBOS command; not in -short")
	}
	t.Parallel()
	pg := &peerPostgres{name: "fast", env: testenv.PostgresURL}
	pg.resolve(t)
	w := peerWorkload{workflows: 20, inflight: 5, single: 3}
	d := runPeerDBOS(t, w, newPeerBinary(t).path(t), pg.url)
	e := runPeerWeft(t, w, peerSetup{transport: "memory", storage: "memory"}, pg.url)
	tab := &peerTable{title: "pg=" + pg.name + " (" + pg.settings + ")"}
	tab.add(1, "dbos", d)
	tab.add(1, "memory+memory", e)
	t.Log("\n" + tab.String())
	for _, f := range []peerFigures{d, e} {
		if f.Workflows != w.workflows || f.Steps != stepsPerWorkflow || f.SingleRuns != w.single {
			t.Errorf("%s ran %d workflows of %d steps and %d lone ones, want %d, %d, %d",
				f.System, f.Workflows, f.Steps, f.SingleRuns, w.workflows, stepsPerWorkflow, w.single)
		}
		for _, c := range peerColumns[:len(peerColumns)-1] { // CPU time is not measured everywhere
			if c.get(f) <= 0 {
				t.Errorf("%s measured no %s: %+v", f.System, c.name, f)
			}
		}
	}
	if d.System != "dbos" || !strings.HasPrefix(d.Version, "v") {
		t.Errorf("the DBOS command says it is %s %s", d.System, d.Version)
	}
}
