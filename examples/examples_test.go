package examples_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/examples"
)

// TestDemo runs what `make demo` runs and checks its story.
func TestDemo(t *testing.T) {
	for _, o := range []embedded.Options{{}, {DisableFastPath: true, Concurrency: 2}} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var out bytes.Buffer
		var logs syncBuffer
		reg := weft.NewRegistry()
		if err := examples.Register(reg, &logs); err != nil {
			t.Fatal(err)
		}
		rt, err := embedded.Start(ctx, reg, o)
		if err != nil {
			t.Fatal(err)
		}
		if err := examples.RunAll(ctx, rt.Client(), &out); err != nil {
			t.Fatalf("demo (%+v): %v\n%s", o, err, out.String())
		}
		if err := rt.Stop(); err != nil {
			t.Fatal(err)
		}
		cancel()
		for _, want := range []string{"trip 1 result: booked", "trip 2 result: failed as expected", "sum of squares 1..100 = 338350",
			"approval 1 result: approved by dave", "approval 2 result: expired"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("demo output lacks %q:\n%s", want, out.String())
			}
		}
		// Compensations run in reverse order of the bookings.
		l := logs.String()
		if i, j := strings.Index(l, "cancelled F-"), strings.Index(l, "cancelled C-"); i < 0 || j < 0 || i > j {
			t.Errorf("compensations not in reverse order:\n%s", l)
		}
	}
}
