package chaos

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The suite's verdict rests on count: these tests pin what it calls a
// duplicated effect and a re-executed task, and run with every go test.

func writeLog(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tasks.log")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCountTellsReexecutionsFromDuplicatedEffects(t *testing.T) {
	t.Parallel()
	base := time.Unix(1000, 0)
	at := func(s int) string {
		return " " + strconv.FormatInt(base.Add(time.Duration(s)*time.Second).UnixNano(), 10) + "\n"
	}
	a := writeLog(t,
		"t1 w1 0"+at(1),
		"t2 w1 1"+at(2),
		"t2 w1 1"+at(5), // the same task again after the fault: a re-execution
		"t3 w2 0"+at(3),
	)
	b := writeLog(t,
		"t4 w2 0"+at(6), // w2's step 0 under another task id: recorded twice
		"t5 w2 1"+at(7),
		"t5 w2 1 12", // cut short by a kill: ignored
	)
	f := &fault{kind: "worker-kill", injected: base.Add(4 * time.Second)}
	got, err := count([]string{a, b, filepath.Join(t.TempDir(), "absent.log")}, []*fault{f})
	if err != nil {
		t.Fatal(err)
	}
	if got.executions != 6 || got.tasks != 5 || got.tasksReexecuted != 1 || got.extra != 1 || got.beforeFaults != 0 {
		t.Errorf("count = %d executions, %d tasks, %d re-executed, %d extra, %d before faults; want 6, 5, 1, 1, 0",
			got.executions, got.tasks, got.tasksReexecuted, got.extra, got.beforeFaults)
	}
	if f.reexec != 1 {
		t.Errorf("re-executions after the fault = %d, want 1", f.reexec)
	}
	if want := []string{"w2 step 0 (tasks t3 and t4)"}; !reflect.DeepEqual(got.duplicated, want) {
		t.Errorf("duplicated = %q, want %q", got.duplicated, want)
	}
	if want := map[int]bool{0: true, 1: true}; !reflect.DeepEqual(got.steps["w2"], want) {
		t.Errorf("steps of w2 = %v, want %v", got.steps["w2"], want)
	}
}

func TestCountRefusesAGarbledLine(t *testing.T) {
	t.Parallel()
	path := writeLog(t, "t1 w1 zero 5\n")
	if _, err := count([]string{path}, nil); err == nil {
		t.Fatal("count accepted a line whose step is not a number")
	}
}

func TestAReportFailsOnWhatIsLostOrDuplicated(t *testing.T) {
	t.Parallel()
	for name, r := range map[string]*result{
		"lost":       {lost: []string{"w1"}},
		"wrong":      {wrong: []string{"w1: ended failed"}},
		"duplicated": {tally: tally{duplicated: []string{"w1 step 0"}}},
		"exited":     {exits: []string{"worker 1"}},
		"uninjected": {faults: []*fault{{kind: "redis-kill"}}},
	} {
		if !r.failed() {
			t.Errorf("%s: a result with something %s passes", name, name)
		}
	}
	ok := &result{faults: []*fault{{kind: "redis-kill", injected: time.Unix(1, 0), back: time.Unix(2, 0)}}}
	if ok.failed() {
		t.Error("a clean result fails")
	}
}

func TestTheScheduleFollowsTheSeed(t *testing.T) {
	t.Parallel()
	o, err := readOptions(mapEnv{"WEFT_CHAOS": "full", "WEFT_CHAOS_SEED": "42"}.get)
	if err != nil {
		t.Fatal(err)
	}
	draw := func(combo string) []fault {
		var out []fault
		for _, f := range schedule(rand.New(rand.NewPCG(uint64(comboSeed(o.seed, combo)), 0)), o, combo) {
			out = append(out, *f)
		}
		return out
	}
	for _, combo := range allCombos {
		first, again := draw(combo), draw(combo)
		if !reflect.DeepEqual(first, again) {
			t.Errorf("%s: the same seed drew %v, then %v", combo, first, again)
		}
		kinds := map[string]int{}
		last := 0
		for _, f := range first {
			kinds[f.kind]++
			if f.at < last || f.at < o.workflows*o.steps/20 || f.at >= o.workflows*o.steps*4/5 {
				t.Errorf("%s: %s at %d executions: out of order or outside 5%%..80%% of %d", combo, f.kind, f.at, o.workflows*o.steps)
			}
			last = f.at
		}
		if kinds["worker-kill"] != o.workerKills {
			t.Errorf("%s: %d worker kills, want %d", combo, kinds["worker-kill"], o.workerKills)
		}
		for _, sf := range defaultFaults {
			if want := b2i(applies(sf, combo)); kinds[sf] != want {
				t.Errorf("%s: %s drawn %d times, want %d", combo, sf, kinds[sf], want)
			}
		}
	}
	if reflect.DeepEqual(draw("pulsar+redis"), draw("pgqueue+redis")) {
		t.Error("two combinations drew the same schedule")
	}
}

type mapEnv map[string]string

func (m mapEnv) get(k string) string { return m[k] }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestTheReserveOutlastsTheFaults(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ workflows, faults, chunk, reserve int }{
		{100, 8, 1, 9}, {1000, 9, 10, 100}, {1000, 0, 10, 0}, {10, 30, 1, 5}, {1, 1, 1, 0},
	} {
		chunk, reserve := reserveOf(c.workflows, c.faults)
		if chunk != c.chunk || reserve != c.reserve {
			t.Errorf("reserveOf(%d, %d) = %d, %d; want %d, %d", c.workflows, c.faults, chunk, reserve, c.chunk, c.reserve)
		}
	}
}
