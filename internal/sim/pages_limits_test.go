package sim_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/memory"
)

// strictStore refuses any value over max bytes, in Put and in PutMany (a
// server limit applies to every value written).
type strictStore struct {
	storage.KeyValue
	max     int
	refused []string
}

func (l *strictStore) Put(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration) (uint64, error) {
	if len(value) > l.max {
		l.refused = append(l.refused, fmt.Sprintf("%s (%d bytes)", key, len(value)))
		return 0, fmt.Errorf("strict: %w: %d bytes, at most %d", storage.ErrTooLarge, len(value), l.max)
	}
	return l.KeyValue.Put(ctx, key, value, expected, ttl)
}

func (l *strictStore) PutMany(ctx context.Context, writes []storage.Write) ([]uint64, error) {
	for _, w := range writes {
		if len(w.Value) > l.max {
			l.refused = append(l.refused, fmt.Sprintf("%s (%d bytes)", w.Key, len(w.Value)))
			return nil, fmt.Errorf("strict: %w: %s is %d bytes, at most %d", storage.ErrTooLarge, w.Key, len(w.Value), l.max)
		}
	}
	return l.KeyValue.PutMany(ctx, writes)
}

type declaredStrict struct{ *strictStore }

func (d declaredStrict) MaxValueSize() int { return d.max }

var (
	advSized   = weft.NewTask[int, string]("AdvSized", "make")
	advBigLast = weft.NewWorkflow[int, int]("AdvBigLast", "run")
	advSmall   = weft.NewWorkflow[int, int]("AdvSmallLoop", "run")
)

func advLimitRegistry(big int) *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, advSized, func(_ weft.TaskContext, n int) (string, error) { return strings.Repeat("z", n), nil }))
	weft.MustRegister(weft.RegisterTask(reg, pageStep, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
	weft.MustRegister(weft.RegisterWorkflow(reg, advBigLast, func(ctx weft.Context, k int) (int, error) {
		for i := range k {
			if _, err := weft.Call(ctx, pageStep, i); err != nil {
				return 0, err
			}
		}
		// The result that makes the 256th settled entry: it goes straight
		// into the page with everything before it.
		s, err := weft.Call(ctx, advSized, big)
		if err != nil {
			return -1, nil
		}
		if err := weft.Sleep(ctx, time.Hour); err != nil {
			return 0, err
		}
		return len(s), nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, advSmall, func(ctx weft.Context, k int) (int, error) {
		for i := range k {
			if _, err := weft.Call(ctx, pageStep, i); err != nil {
				return 0, err
			}
		}
		return k, nil
	}))
	return reg
}

// The state is checked against the storage limit, the page written with it
// is not: a page over the limit is refused, the engine takes the small
// state's size for the storage's limit, and from then on fails every
// workflow whose state is larger than that.
func TestAdvPageOverTheStorageLimit(t *testing.T) {
	const limit = 128 << 10
	for _, declared := range []bool{false, true} {
		for _, fast := range []bool{false, true} {
			t.Run(fmt.Sprintf("declared=%v/fast=%v", declared, fast), func(t *testing.T) {
				var s *sim.Sim
				strict := &strictStore{KeyValue: memory.New(memory.WithClock(func() time.Time { return s.Now })), max: limit}
				var store storage.KeyValue = strict
				if declared {
					store = declaredStrict{strict}
				}
				s = sim.New(t, advLimitRegistry(100<<10), sim.Options{FastPath: fast, Store: store})
				dispatch(s, "AdvBigLast", "run", "b1", 127)
				s.Run()
				raw, _, _ := store.Get(context.Background(), core.StateKey("b1"))
				t.Logf("b1: state %d bytes; refused writes %v; outcomes %d; dead %d", len(raw), strict.refused, len(s.Outcomes("b1")), len(s.DeadLetters))
				for _, d := range s.DeadLetters {
					t.Logf("dead: %s", d.Reason)
				}
				// Another instance, far below the storage's limit.
				dispatch(s, "AdvSmallLoop", "run", "s1", 40)
				s.Run()
				raw, _, _ = store.Get(context.Background(), core.StateKey("s1"))
				outs := s.Outcomes("s1")
				if len(outs) != 1 || outs[0].Kind != core.MethodCompleted || string(outs[0].Value) != "40" {
					var err error
					if len(outs) > 0 {
						err = outs[0].Error
					}
					t.Fatalf("an unrelated 40-step workflow (state %d bytes, storage limit %d) did not complete: %+v %v (too large: %v); dead %d",
						len(raw), limit, outs, err, errors.Is(err, core.ErrPayloadTooLarge), len(s.DeadLetters))
				}
			})
		}
	}
}
