package mysql

import (
	"testing"
	"time"
)

func withSweepInterval(d time.Duration) Option {
	return func(o *options) { o.sweepInterval = d }
}

func TestSweepExpired(t *testing.T) {
	t.Parallel()
	c := freshConfig(t)
	s := newStore(t, c, withSweepInterval(time.Hour)) // swept by hand below
	ctx := t.Context()
	for _, k := range []string{"a", "b", "c"} {
		if _, err := s.Put(ctx, k, []byte("v"), 0, time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	s.Put(ctx, "forever", []byte("v"), 0, 0)
	s.Put(ctx, "later", []byte("v"), 0, time.Hour)
	waitAbsent(t, s, "c")

	n, err := s.sweepExpired(ctx)
	if err != nil || n != 3 {
		t.Fatalf("sweepExpired = (%d, %v), want (3, nil)", n, err)
	}
	if got := count(t, c, "key_value_storage"); got != 2 {
		t.Fatalf("%d rows left after sweeping, want 2", got)
	}
	if ver, err := s.Put(ctx, "a", []byte("again"), 0, 0); err != nil || ver != 1 {
		t.Fatalf("Put after sweep = (%d, %v), want (1, nil)", ver, err)
	}
}

func TestSweeperRuns(t *testing.T) {
	t.Parallel()
	c := freshConfig(t)
	s := newStore(t, c, withSweepInterval(50*time.Millisecond))
	if _, err := s.Put(t.Context(), "a", []byte("v"), 0, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count(t, c, "key_value_storage") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("background sweeper did not delete the expired row")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Close stops the sweeper (the race detector and the test's end would
	// notice a goroutine still using the pool).
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func waitAbsent(t *testing.T, s *Store, key string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, ver, err := s.Get(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		if ver == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not expire", key)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
