package integration

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/examples"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/transport"
)

// TestExamples runs the example workflows (a saga with compensations, a
// fan-out of 100 tasks, an approval racing a signal against a timer) on
// every transport × storage combination, with workflow tasks both in the
// state engine's process and through the broker.
func TestExamples(t *testing.T) {
	combinations(t, func(t *testing.T, st, tr string) {
		for _, fast := range []bool{true, false} {
			name := "broker-workflow-tasks"
			if fast {
				name = "fast-path"
			}
			t.Run(name, func(t *testing.T) { runExamples(t, settings(t, st, tr), fast) })
		}
	})
}

// runExamples runs the example workflows on the storage and transport env
// selects, with workflow tasks in the state engine's process (fast) or
// through the broker.
func runExamples(t *testing.T, env map[string]string, fast bool) {
	t.Helper()
	cfg := load(t, env)
	st, tr := cfg.Storage, cfg.Transport
	stores, trans := open(t, cfg)
	kv := stores.KeyValue
	if st == "postgres" && tr == "pgqueue" {
		// One database: state writes and messages commit together.
		tkv, ok1 := kv.(storage.TxKeyValue)
		tp, ok2 := trans.(transport.TxPublisher)
		if !ok1 || !ok2 || tkv.TxDomain() != tp.TxDomain() {
			t.Fatalf("PostgreSQL storage and queue do not share transactions (%v %v)", ok1, ok2)
		}
	}
	var out bytes.Buffer
	reg := weft.NewRegistry()
	if err := examples.Register(reg, &out); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rt, err := embedded.Start(ctx, reg, embedded.Options{Store: kv, Tags: stores.KeySet, Transport: trans, DisableFastPath: !fast})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	start := time.Now()
	err = examples.RunAll(ctx, rt.Client(), &out)
	elapsed := time.Since(start)
	if serr := rt.Stop(); serr != nil {
		t.Errorf("stop: %v", serr)
	}
	if err != nil {
		t.Fatalf("examples: %v\noutput so far:\n%s", err, out.String())
	}
	for _, want := range []string{"trip", "fan-out", "approval 2 result: expired"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	t.Logf("examples ran in %v", elapsed.Round(time.Millisecond))
}
