package sqs

import (
	"testing"
	"time"
)

// TestRoute: never early; SQS's own delay where it can, the delay queue
// where it cannot (FIFO targets, more than 15 minutes).
func TestRoute(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		due      time.Time
		fifo     bool
		viaQueue bool
		delay    int32
	}{
		{"not delayed", time.Time{}, false, false, 0},
		{"past", now.Add(-time.Hour), false, false, 0},
		{"past, FIFO", now.Add(-time.Hour), true, false, 0},
		{"now", now, true, false, 0},
		{"300ms: rounded up", now.Add(300 * time.Millisecond), false, false, 1},
		{"1s", now.Add(time.Second), false, false, 1},
		{"1.001s", now.Add(time.Second + time.Millisecond), false, false, 2},
		{"15m exactly", now.Add(15 * time.Minute), false, false, 900},
		{"15m and a bit: delay queue", now.Add(15*time.Minute + time.Millisecond), false, true, 900},
		{"a day: delay queue, 15 min at a time", now.Add(24 * time.Hour), false, true, 900},
		{"FIFO 300ms: delay queue", now.Add(300 * time.Millisecond), true, true, 1},
		{"FIFO 10m: delay queue", now.Add(10 * time.Minute), true, true, 600},
		{"FIFO a day", now.Add(24 * time.Hour), true, true, 900},
	} {
		via, delay := route(now, tc.due, tc.fifo)
		if via != tc.viaQueue || delay != tc.delay {
			t.Errorf("%s: route = %v, %d; want %v, %d", tc.name, via, delay, tc.viaQueue, tc.delay)
		}
		if !tc.due.IsZero() && now.Add(time.Duration(delay)*time.Second).Before(tc.due) && !via {
			t.Errorf("%s: a delay of %ds is early", tc.name, delay)
		}
	}
	if ceilSeconds(-time.Second) != 0 || ceilSeconds(0) != 0 || ceilSeconds(time.Nanosecond) != 1 || ceilSeconds(2*time.Second) != 2 {
		t.Error("ceilSeconds")
	}
}
