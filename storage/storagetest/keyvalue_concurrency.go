package storagetest

import (
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/weftio/weft/storage"
)

// testConcurrentCounter is the optimistic-concurrency check: many writers
// read-modify-write one key, reloading on conflict. Any lost update shows up
// as a final count below workers*increments.
func testConcurrentCounter(t *testing.T, s storage.KeyValue, p string) {
	const workers, increments = 32, 50
	k := p + "counter"
	ctx := t.Context()

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range increments {
				for {
					raw, ver, err := s.Get(ctx, k)
					if err != nil {
						t.Errorf("Get: %v", err)
						return
					}
					n := 0
					if ver != 0 {
						if n, err = strconv.Atoi(string(raw)); err != nil {
							t.Errorf("counter value %q: %v", raw, err)
							return
						}
					}
					_, err = s.Put(ctx, k, []byte(strconv.Itoa(n+1)), ver, 0)
					if err == nil {
						break
					}
					if !errors.Is(err, storage.ErrVersionConflict) {
						t.Errorf("Put: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	want := workers * increments
	wantValue(t, s, k, []byte(strconv.Itoa(want)), uint64(want))
}
