package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/integration/internal/chain"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/testenv"
)

// taskPause is how long each task takes, so kills land mid-task too.
const taskPause = 10 * time.Millisecond

// TestChaos runs o.workflows chains of o.steps tasks on every combination
// while the schedule of faults drawn from the seed is injected, and fails
// on any workflow lost or ended wrong, any step whose effect was recorded
// twice (executed under two task ids), and any worker that exited by
// itself. Re-executed tasks and dead letters are counted and reported.
func TestChaos(t *testing.T) {
	if getenv("WEFT_CHAOS") == "" {
		t.Skip("the chaos suite runs only when WEFT_CHAOS is set: make chaos, or make chaos-short")
	}
	o, err := readOptions(getenv)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chaos: seed %d; rerun this schedule with: %s", o.seed, rerun(o, ""))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chaos: FAILED with seed %d; rerun it with: %s", o.seed, rerun(o, ""))
		}
	})
	svc, err := newServices(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	upCtx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	pulsar := slices.ContainsFunc(o.combos, func(c string) bool { return strings.HasPrefix(c, "pulsar+") })
	if !o.keep {
		t.Cleanup(func() {
			dctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			if err := svc.down(dctx); err != nil {
				t.Errorf("stop the chaos services: %v", err)
			}
		})
	}
	if err := svc.up(upCtx, pulsar); err != nil {
		t.Fatalf("start the chaos services (state in %s): %v", o.dir, err)
	}
	bin, err := buildWorker(upCtx, t.TempDir(), o.race)
	if err != nil {
		t.Fatal(err)
	}

	var results []*result
	for _, combo := range o.combos {
		r := &result{combo: combo, workflows: o.workflows}
		results = append(results, r)
		t.Run(combo, func(t *testing.T) {
			runCombo(t, o, svc, bin, combo, comboSeed(o.seed, combo), r)
			if r.failed() {
				t.Errorf("%s: %d lost, %d ended wrong, %d duplicated effects, %d workers exited by themselves, %d faults not carried out (see the report); rerun this combination alone with: %s",
					combo, len(r.lost), len(r.wrong), len(r.tally.duplicated), len(r.exits), r.uninjected(), rerun(o, combo))
			}
		})
	}
	report := format(o.seed, o, results)
	t.Log("\n" + report)
	if o.report != "" {
		if err := os.WriteFile(o.report, []byte(report), 0o644); err != nil {
			t.Errorf("write the report: %v", err)
		}
	}
}

// rerun is the command that replays o's schedule, of one combination when
// combo is not "". The options that shape a schedule are repeated when they
// are not the form's defaults.
func rerun(o options, combo string) string {
	target := map[string]string{"full": "chaos", "short": "chaos-short"}[o.mode]
	var b strings.Builder
	fmt.Fprintf(&b, "WEFT_CHAOS_SEED=%d", o.seed)
	if combo != "" {
		fmt.Fprintf(&b, " WEFT_CHAOS_COMBINATIONS=%s", combo)
	}
	for _, k := range []string{"WEFT_CHAOS_COMBINATIONS", "WEFT_CHAOS_WORKFLOWS", "WEFT_CHAOS_STEPS", "WEFT_CHAOS_WORKERS",
		"WEFT_CHAOS_WORKER_KILLS", "WEFT_CHAOS_FAULTS", "WEFT_CHAOS_CONCURRENCY"} {
		if v := getenv(k); v != "" && !(combo != "" && k == "WEFT_CHAOS_COMBINATIONS") {
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
	}
	fmt.Fprintf(&b, " make %s", target)
	return b.String()
}

// comboSeed is the seed of one combination's schedule: the same whichever
// other combinations run, so one can be replayed alone.
func comboSeed(seed int64, combo string) int64 {
	h := fnv.New64a()
	h.Write([]byte(combo))
	return seed ^ int64(h.Sum64()>>1)
}

// schedule draws the faults of one combination: every service fault that
// applies to it once, and the worker kills, in a random order at random
// points between 5 % and 80 % of the task executions a run needs.
func schedule(rng *rand.Rand, o options, combo string) []*fault {
	var kinds []string
	for _, f := range o.faults {
		if applies(f, combo) {
			kinds = append(kinds, f)
		}
	}
	for range o.workerKills {
		kinds = append(kinds, "worker-kill")
	}
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	total := o.workflows * o.steps
	ats := make([]int, len(kinds))
	for i := range ats {
		ats[i] = total/20 + rng.IntN(max(1, total*3/4))
	}
	sort.Ints(ats)
	faults := make([]*fault, len(kinds))
	for i, k := range kinds {
		faults[i] = &fault{kind: k, at: ats[i]}
		if k == "worker-kill" {
			faults[i].pause = time.Duration(rng.IntN(3000)) * time.Millisecond
		}
	}
	return faults
}

func runCombo(t *testing.T, o options, svc *services, bin, combo string, seed int64, r *result) {
	start := time.Now()
	defer func() { r.elapsed = time.Since(start) }()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	r.faults = schedule(rng, o, combo)
	r.wrongIDs = map[string]bool{}
	ns := "chaos_" + testenv.Suffix()
	env := svc.settings(combo, ns, o.concurrency)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	cfg, err := config.Load(config.Source{Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatalf("configuration: %v", err)
	}
	octx, ocancel := context.WithTimeout(ctx, 2*time.Minute)
	defer ocancel()
	stores, err := bootstrap.OpenStorage(octx, cfg)
	if err != nil {
		t.Fatalf("open %s storage: %v", cfg.Storage, err)
	}
	defer stores.Close()
	tr, err := bootstrap.OpenTransport(octx, cfg, nil)
	if err != nil {
		t.Fatalf("open %s transport: %v", cfg.Transport, err)
	}
	defer tr.Close()
	reg := weft.NewRegistry()
	if err := chain.Register(reg, "", 0); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(octx, client.Config{Name: "chaos-" + ns, Transport: tr, Store: stores.KeyValue, Registry: reg})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer c.Close()
	dlq, err := watchDeadLetters(octx, tr, chain.Run.Workflow(), chain.Step.Service(), c.Name())
	if err != nil {
		t.Fatalf("dead letters: %v", err)
	}
	defer func() { r.deadLetter = dlq.stop() }()

	// The task and worker logs stay when the combination fails.
	logs, err := os.MkdirTemp("", "weft-chaos-"+strings.ReplaceAll(combo, "+", "-")+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s: task and worker logs kept in %s", combo, logs)
			return
		}
		_ = os.RemoveAll(logs)
	})
	p := &pool{bin: bin, dir: logs, env: env, step: taskPause}
	defer func() {
		if err := p.stopAll(); err != nil {
			t.Errorf("stop the workers: %v", err)
		}
	}()
	for range o.workers {
		if _, err := p.start(octx); err != nil {
			t.Fatal(err)
		}
	}

	// A reserve of workflows is held back while faults remain, and let out
	// a chunk at a time whenever nothing runs: on a fast pair the
	// workflows would otherwise all end while a killed worker is down, and
	// the faults still to come would hit an idle system or never happen.
	ids := make([]string, o.workflows)
	for i := range ids {
		ids[i] = fmt.Sprintf("chaos-%05d", i)
	}
	chunk, reserve := reserveOf(o.workflows, len(r.faults))
	pending := map[string]bool{} // dispatched and not ended
	dispatched := 0
	dispatch := func(n int) {
		batch := ids[dispatched:min(len(ids), dispatched+n)]
		if err := dispatchAll(ctx, c, batch, o); err != nil {
			t.Fatal(err)
		}
		for _, id := range batch {
			pending[id] = true
		}
		dispatched += len(batch)
	}
	dispatch(o.workflows - reserve)

	var prog progress
	lastLines, lastDone := -1, -1
	lastChange := time.Now()
	nextPoll := time.Now()
	next := 0
	var current *fault
	linesAtBack, doneAtBack := 0, 0
	for {
		lines := prog.update(p.taskLogs())
		now := time.Now()
		if current != nil && current.recovered.IsZero() && (lines > linesAtBack || dispatched-len(pending) > doneAtBack) {
			current.recovered = now
		}
		if !now.Before(nextPoll) {
			pollResults(ctx, c, pending, o.steps, r)
			nextPoll = time.Now().Add(2 * time.Second)
		}
		done := dispatched - len(pending)
		if lines != lastLines || done != lastDone {
			lastLines, lastDone, lastChange = lines, done, now
		}
		faultsLeft := next < len(r.faults) || (current != nil && current.recovered.IsZero())
		switch {
		case dispatched < len(ids) && !faultsLeft:
			dispatch(len(ids) - dispatched)
		case dispatched < len(ids) && len(pending) == 0:
			dispatch(chunk)
		}
		if len(pending) == 0 {
			break
		}
		if now.Sub(lastChange) > o.stall {
			t.Errorf("%s: no task executed and no workflow ended for %v; %d workflows still running (seed %d)", combo, o.stall, len(pending), seed)
			break
		}
		for _, w := range p.unexpectedExits()[len(r.exits):] {
			r.exits = append(r.exits, fmt.Sprintf("worker %d: %v\n%s", w.n, w.err, tail(w.errLog)))
			if _, err := p.start(ctx); err != nil {
				t.Errorf("restart worker: %v", err)
			}
		}
		if next < len(r.faults) && (current == nil || !current.recovered.IsZero()) && lines >= r.faults[next].at {
			current = r.faults[next]
			next++
			if err := inject(ctx, svc, p, current, rng); err != nil {
				t.Errorf("%s: fault %s: %v", combo, current.kind, err)
				break
			}
			linesAtBack, doneAtBack = prog.update(p.taskLogs()), dispatched-len(pending)
			t.Logf("%s: %s at %d executions: back after %.1fs", combo, current.kind, current.at, current.back.Sub(current.injected).Seconds())
			continue
		}
		time.Sleep(100 * time.Millisecond)
	}
	for id := range pending {
		r.lost = append(r.lost, id)
	}
	sort.Strings(r.lost)
	r.tally, err = count(p.taskLogs(), r.faults)
	if err != nil {
		t.Errorf("task logs: %v", err)
	}
	// Every step of a workflow that completed right ran at least once.
	if dispatched < len(ids) {
		t.Errorf("%s: %d workflows never dispatched (the run stopped early)", combo, len(ids)-dispatched)
	}
	for _, id := range ids[:dispatched] {
		if pending[id] || r.wrongIDs[id] {
			continue
		}
		if n := len(r.tally.steps[id]); n != o.steps {
			r.wrong = append(r.wrong, fmt.Sprintf("%s: completed with %d of its %d steps executed", id, n, o.steps))
		}
	}
}

// reserveOf returns how many workflows are held back while faults remain
// (about a tenth, at most half) and how many are let out at a time: one
// chunk per fault and one more, so each fault finds work after it came back.
func reserveOf(workflows, faults int) (chunk, reserve int) {
	chunk = max(1, workflows/100)
	reserve = min(workflows/2, chunk*(faults+1))
	if faults == 0 {
		reserve = 0
	}
	return chunk, reserve
}

// dispatchAll dispatches every workflow, retrying one whose dispatch fails
// (ids are given, so a retry attaches to an instance already started).
func dispatchAll(ctx context.Context, c *client.Client, ids []string, o options) error {
	for _, id := range ids {
		deadline := time.Now().Add(o.stall)
		for {
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := client.Dispatch(dctx, c, chain.Run, chain.Input{Steps: o.steps}, client.WithID(id))
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("dispatch %s: %w", id, err)
			}
			time.Sleep(time.Second)
		}
	}
	return nil
}

// pollRound bounds the results one round reads: the oldest pending
// workflows, which are the likeliest to have ended.
const pollRound = 500

// pollResults reads the result of the oldest pending workflows, moving
// those that ended to r. A round stops at the first error other than "not
// ended" (a service coming back): the next round reads again.
func pollResults(ctx context.Context, c *client.Client, pending map[string]bool, steps int, r *result) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	want := chain.Expected(steps)
	ids := sortedKeys(pending)
	for _, id := range ids[:min(len(ids), pollRound)] {
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := c.ReadResult(rctx, id)
		rcancel()
		if errors.Is(err, client.ErrNotEnded) {
			continue
		}
		if err != nil {
			return
		}
		delete(pending, id)
		r.wrongIDs[id] = true // until it proves right
		var out chain.Output
		switch {
		case res.State != core.StateCompleted:
			r.wrong = append(r.wrong, fmt.Sprintf("%s: ended %s: %v", id, res.State, res.Error))
		case json.Unmarshal(res.Value, &out) != nil:
			r.wrong = append(r.wrong, fmt.Sprintf("%s: result %s does not decode", id, res.Value))
		case !reflect.DeepEqual(out, want):
			// A step result seen twice, or out of order.
			r.wrong = append(r.wrong, fmt.Sprintf("%s: returned %v, want %v", id, out, want))
		default:
			r.right++
			delete(r.wrongIDs, id)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// inject carries out f and records when it began and when what it broke
// answered again.
func inject(ctx context.Context, svc *services, p *pool, f *fault, rng *rand.Rand) error {
	f.injected = time.Now()
	if f.kind == "worker-kill" {
		live := p.liveWorkers()
		if len(live) == 0 {
			return errors.New("no live worker to kill")
		}
		live[rng.IntN(len(live))].kill()
		time.Sleep(f.pause)
		if _, err := p.start(ctx); err != nil {
			return err
		}
		f.back = time.Now()
		return nil
	}
	ictx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := svc.inject(ictx, f.kind); err != nil {
		return err
	}
	f.back = time.Now()
	return nil
}
