//go:build linux

package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/weftio/weft/internal/testenv"
)

var binaryStarts = flag.Int("bench.binary-starts", 5,
	"starts of each role binary per profile in BenchmarkRoleBinaries, each a fresh process in a fresh namespace")

// binaryProfile is a deployment's choice of drivers: the build tags of its
// role binaries and the services they run on.
type binaryProfile struct {
	transport, storage string
	// required: with TEST_REQUIRE_INTEGRATION=1, missing services fail
	// the benchmark instead of skipping it. Only the PostgreSQL-only
	// deployment is; the others run where their services happen to be set.
	required bool
}

var binaryProfiles = []binaryProfile{
	{transport: "pgqueue", storage: "postgres", required: true},
	{transport: "pulsar", storage: "postgres"},
	{transport: "pulsar", storage: "redis"},
}

func (p binaryProfile) name() string { return p.transport + "+" + p.storage }

// tags are what `make functions DRIVERS="<transport> <storage>"` builds with.
func (p binaryProfile) tags() []string {
	return []string{"weft_custom", "weft_" + p.transport, "weft_" + p.storage}
}

// serviceVars are the variables naming the profile's services.
func (p binaryProfile) serviceVars() []string {
	vars := map[string][]string{
		"pgqueue":  {testenv.PostgresURL},
		"postgres": {testenv.PostgresURL},
		"redis":    {testenv.RedisURL},
		"pulsar":   {testenv.PulsarURL, testenv.PulsarAdminURL},
	}
	return append(slices.Clone(vars[p.transport]), vars[p.storage]...)
}

// BenchmarkRoleBinaries builds each role binary as `make functions` does,
// per driver profile whose services are set, starts each one
// -bench.binary-starts times as a fresh process (see round for the order
// that leaves every role a message waiting) and reports per binary:
//
//   - bytes: the size of the binary;
//   - ready-ms, ready-max-ms: median and max time from exec to its
//     "<role>: ready" line;
//   - answer-ms, answer-max-ms: median and max time from exec until its
//     answer to the message that was waiting for it reached the harness;
//   - rss-MB, rss-max-MB: median and max VmRSS (10^6 bytes) one second
//     after the ready line, once it has answered.
//
// Nothing here fails on size or speed: the goals are logged beside the
// figures for comparison.
func BenchmarkRoleBinaries(b *testing.B) {
	for _, p := range binaryProfiles {
		b.Run(p.name(), func(b *testing.B) { benchRoleBinaries(b, p) })
	}
}

func benchRoleBinaries(b *testing.B, p binaryProfile) {
	// Before the builds: skip, or fail when required, without services.
	for _, v := range p.serviceVars() {
		if p.required {
			testenv.URL(b, v)
		} else if os.Getenv(v) == "" {
			b.Skipf("%s is not set: profile %s skipped", v, p.name())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	dir := b.TempDir()
	bins, sizes := map[string]string{}, map[string]int64{}
	for _, role := range roleBinaries {
		bin, size, err := buildRole(ctx, dir, role, p.tags())
		if err != nil {
			b.Fatal(err)
		}
		bins[role], sizes[role] = bin, size
	}
	samples, notes := map[string][]startSample{}, map[string][]string{}
	for i := range max(*binaryStarts, 1) {
		r, err := newRound(ctx, b, p)
		if err != nil {
			b.Fatalf("%s, start %d: prepare: %v", p.name(), i+1, err)
		}
		got, err := r.run(bins)
		if cerr := r.close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatalf("%s, start %d: %v", p.name(), i+1, err)
		}
		for role, s := range got {
			samples[role] = append(samples[role], s)
			if s.logged != "" {
				notes[role] = append(notes[role], fmt.Sprintf("start %d logged:\n%s", i+1, s.logged))
			}
		}
	}
	for _, role := range roleBinaries {
		f := summarize(sizes[role], samples[role])
		logged := false
		b.Run(role, func(b *testing.B) {
			f.report(b)
			// Logged by the leaf, whose log go test prints without -v;
			// once, though the framework may call it with a growing b.N.
			if !logged {
				logged = true
				b.Logf("%s %s: %s over %d starts (goals: under 25 MB, 30 ms to ready, 30 MB idle)", p.name(), role, f, len(samples[role]))
				for _, n := range notes[role] {
					b.Log(n)
				}
			}
		})
	}
}
