package storagetest

import (
	"sync"
	"testing"

	"github.com/weftio/weft/storage"
)

// testConcurrentAdd has every member added by two goroutines at once, so
// both the "new member" and the "already present" paths race.
func testConcurrentAdd(t *testing.T, s storage.KeySet, p string) {
	const workers, n = 16, 800
	k := p + "set"
	members := numbered("m", n)
	ctx := t.Context()

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i, m := range members {
				if g := i % workers; g != w && g != (w+1)%workers {
					continue
				}
				if err := s.Add(ctx, k, m); err != nil {
					t.Errorf("Add(%q): %v", m, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	wantMembers(t, pageAll(t, s, k, 100, nil), asStrings(members))
}
