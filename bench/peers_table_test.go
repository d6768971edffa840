package bench

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
)

// peerTable collects the runs of one pass of BenchmarkPeers.
type peerTable struct {
	title string
	mu    sync.Mutex
	rows  []peerRow
}

// peerRow is one setup's run in one round, or why there is none.
type peerRow struct {
	round int
	setup string
	f     *peerFigures
	note  string
}

func (t *peerTable) add(round int, setup string, f peerFigures) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rows = slices.DeleteFunc(t.rows, func(r peerRow) bool { return r.round == round && r.setup == setup })
	t.rows = append(t.rows, peerRow{round: round, setup: setup, f: &f})
}

// note records a setup that has no figures in round (skipped, failed),
// unless it has some.
func (t *peerTable) note(round int, setup, why string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.rows {
		if r.round == round && r.setup == setup {
			return
		}
	}
	t.rows = append(t.rows, peerRow{round: round, setup: setup, note: why})
}

// dbos returns DBOS's figures of round, if it has some.
func (t *peerTable) dbos(round int) *peerFigures {
	for _, r := range t.rows {
		if r.round == round && r.setup == "dbos" && r.f != nil {
			return r.f
		}
	}
	return nil
}

// String is the table: every run, each weft figure followed by its ratio
// to DBOS's in the same round, then per setup the medians over the rounds
// (of the figures, and of the per-round ratios).
func (t *peerTable) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s\n", t.title)
	fmt.Fprintf(&sb, "(xR = weft / DBOS in the same round: steps/s above 1 and the others below 1 are weft ahead)\n")
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	fmt.Fprint(w, "round\tsetup")
	for _, c := range peerColumns {
		fmt.Fprintf(w, "\t%s", c.name)
	}
	fmt.Fprintln(w)
	var setups []string
	for _, r := range t.rows {
		if !slices.Contains(setups, r.setup) {
			setups = append(setups, r.setup)
		}
		fmt.Fprintf(w, "%d\t%s", r.round, r.setup)
		if r.f == nil {
			// Every cell filled, so the columns stay aligned across it.
			fmt.Fprintf(w, "\t%s%s\n", r.note, strings.Repeat("\t-", len(peerColumns)-1))
			continue
		}
		ref := t.dbos(r.round)
		if r.setup == "dbos" {
			ref = nil
		}
		for _, c := range peerColumns {
			fmt.Fprintf(w, "\t%s", cell(c.format, c.get(*r.f), ref, c.get))
		}
		fmt.Fprintln(w)
	}
	for _, s := range setups {
		var vals, ratios [][]float64 // per column
		vals, ratios = make([][]float64, len(peerColumns)), make([][]float64, len(peerColumns))
		for _, r := range t.rows {
			if r.setup != s || r.f == nil {
				continue
			}
			ref := t.dbos(r.round)
			for i, c := range peerColumns {
				vals[i] = append(vals[i], c.get(*r.f))
				if s != "dbos" && ref != nil && c.get(*ref) > 0 {
					ratios[i] = append(ratios[i], c.get(*r.f)/c.get(*ref))
				}
			}
		}
		if len(vals[0]) == 0 {
			continue
		}
		fmt.Fprintf(w, "median\t%s", s)
		for i, c := range peerColumns {
			v := fmt.Sprintf(c.format, medianOf(vals[i]))
			if len(ratios[i]) > 0 {
				v += fmt.Sprintf(" x%.2f", medianOf(ratios[i]))
			}
			fmt.Fprintf(w, "\t%s", v)
		}
		fmt.Fprintln(w)
	}
	w.Flush()
	return sb.String()
}

// cell is v, followed by its ratio to ref's figure when there is a ref.
func cell(format string, v float64, ref *peerFigures, get func(peerFigures) float64) string {
	s := fmt.Sprintf(format, v)
	if ref != nil && get(*ref) > 0 {
		s += fmt.Sprintf(" x%.2f", v/get(*ref))
	}
	return s
}

func medianOf(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// TestPeerTable checks the table's ratios and medians, and that a line
// of bench/peers/dbos parses, with made-up figures: no service, no DBOS.
func TestPeerTable(t *testing.T) {
	t.Parallel()
	line := `{"system":"dbos","version":"v1.9.0","workflows":10,"steps":10,"inflight":5,"warmup":5,"wall_ms":50,"steps_per_s":2000,"step_p50_ms":4,"step_p99_ms":8,"workflow_p50_ms":40,"workflow_p99_ms":80,"single_ms":10,"single_runs":3,"cpu_us_per_step":100}` + "\n"
	d, err := parsePeerFigures([]byte("starting\n" + line))
	if err != nil {
		t.Fatal(err)
	}
	if d.System != "dbos" || d.StepsPerS != 2000 || d.SingleMS != 10 || d.CPUMicrosStep != 100 {
		t.Fatalf("parsed %+v", d)
	}
	if _, err := parsePeerFigures([]byte("panic: no\n")); err == nil {
		t.Error("a line that is no figures parsed")
	}
	tab := &peerTable{title: "pg=test"}
	for i, factor := range []float64{1, 2, 4} {
		round := i + 1
		tab.add(round, "dbos", d)
		w := d
		w.System, w.StepsPerS, w.StepP50MS = "memory+memory", d.StepsPerS*factor, d.StepP50MS/factor
		tab.add(round, w.System, w)
	}
	tab.note(1, "pulsar+redis", "skipped")
	tab.note(1, "memory+memory", "failed") // has figures: ignored
	out := tab.String()
	t.Log("\n" + out)
	for _, want := range []string{"pg=test", "4000 x2.00", "1.00 x0.25", "skipped", "median  memory+memory  4000 x2.00  2.00 x0.50"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table has no %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "failed") {
		t.Errorf("a note replaced figures:\n%s", out)
	}
}
