package storagetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/storage"
)

func testGetMany(t *testing.T, s storage.KeyValue, p string) {
	ctx := context.Background()
	mustPut(t, s, p+"a", []byte("A"), 0, 0)
	mustPut(t, s, p+"c", []byte("C"), 0, 0)
	mustPut(t, s, p+"c", []byte("C2"), 1, 0)
	got, err := s.GetMany(ctx, []string{p + "a", p + "b", p + "c"})
	if err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	want := []storage.Entry{{Value: []byte("A"), Version: 1}, {Version: 0}, {Value: []byte("C2"), Version: 2}}
	if len(got) != len(want) {
		t.Fatalf("GetMany returned %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Version != want[i].Version || string(got[i].Value) != string(want[i].Value) {
			t.Errorf("entry %d = %q v%d, want %q v%d", i, got[i].Value, got[i].Version, want[i].Value, want[i].Version)
		}
	}
	if got, err := s.GetMany(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("GetMany(nil) = %v, %v", got, err)
	}
}

func testPutManyAllOrNothing(t *testing.T, s storage.KeyValue, p string) {
	ctx := context.Background()
	mustPut(t, s, p+"x", []byte("x1"), 0, 0)
	mustPut(t, s, p+"y", []byte("y1"), 0, 0)
	// One stale expectation: nothing may change.
	_, err := s.PutMany(ctx, []storage.Write{
		{Key: p + "x", Value: []byte("x2"), Expected: 1},
		{Key: p + "y", Value: []byte("y2"), Expected: 7},
		{Key: p + "z", Value: []byte("z1"), Expected: 0},
	})
	wantErrIs(t, "PutMany with a stale version", err, storage.ErrVersionConflict)
	wantValue(t, s, p+"x", []byte("x1"), 1)
	wantValue(t, s, p+"y", []byte("y1"), 1)
	wantAbsent(t, s, p+"z")
	// All current: everything changes, a nil value deletes.
	vs, err := s.PutMany(ctx, []storage.Write{
		{Key: p + "x", Value: []byte("x2"), Expected: 1},
		{Key: p + "y", Value: nil, Expected: 1},
		{Key: p + "z", Value: []byte("z1"), Expected: 0},
	})
	if err != nil {
		t.Fatalf("PutMany: %v", err)
	}
	if len(vs) != 3 || vs[0] != 2 || vs[1] != 0 || vs[2] != 1 {
		t.Fatalf("PutMany versions = %v, want [2 0 1]", vs)
	}
	wantValue(t, s, p+"x", []byte("x2"), 2)
	wantAbsent(t, s, p+"y")
	wantValue(t, s, p+"z", []byte("z1"), 1)
	// Deleting an absent key with expected 0 is fine; a duplicate key is not.
	if _, err := s.PutMany(ctx, []storage.Write{{Key: p + "none", Expected: 0}}); err != nil {
		t.Errorf("PutMany deleting an absent key: %v", err)
	}
	if _, err := s.PutMany(ctx, []storage.Write{{Key: p + "d", Value: []byte("1")}, {Key: p + "d", Value: []byte("2")}}); err == nil {
		t.Errorf("PutMany with the same key twice succeeded")
	}
	wantAbsent(t, s, p+"d")
	if vs, err := s.PutMany(ctx, nil); err != nil || len(vs) != 0 {
		t.Errorf("PutMany(nil) = %v, %v", vs, err)
	}
}

func testPutManyTTL(t *testing.T, s storage.KeyValue, p string) {
	ctx := context.Background()
	if _, err := s.PutMany(ctx, []storage.Write{
		{Key: p + "short", Value: []byte("s"), TTL: 300 * time.Millisecond},
		{Key: p + "long", Value: []byte("l")},
	}); err != nil {
		t.Fatalf("PutMany: %v", err)
	}
	eventually(t, "the key written with a TTL by PutMany expires", func() bool {
		_, v := mustGet(t, s, p+"short")
		return v == 0
	})
	wantValue(t, s, p+"long", []byte("l"), 1)
}

// testPutManyConcurrentTransfers moves units between accounts with
// read-then-PutMany from many goroutines; atomicity keeps the total.
func testPutManyConcurrentTransfers(t *testing.T, s storage.KeyValue, p string) {
	ctx := context.Background()
	const accounts, start, workers, moves = 5, 100, 8, 25
	for i := range accounts {
		mustPut(t, s, fmt.Sprintf("%sacct%d", p, i), []byte(fmt.Sprint(start)), 0, 0)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for done := 0; done < moves; {
				a, b := r.IntN(accounts), r.IntN(accounts)
				if a == b {
					continue
				}
				ka, kb := fmt.Sprintf("%sacct%d", p, a), fmt.Sprintf("%sacct%d", p, b)
				es, err := s.GetMany(ctx, []string{ka, kb})
				if err != nil {
					errs <- err
					return
				}
				var va, vb int
				fmt.Sscan(string(es[0].Value), &va)
				fmt.Sscan(string(es[1].Value), &vb)
				_, err = s.PutMany(ctx, []storage.Write{
					{Key: ka, Value: []byte(fmt.Sprint(va - 1)), Expected: es[0].Version},
					{Key: kb, Value: []byte(fmt.Sprint(vb + 1)), Expected: es[1].Version},
				})
				if errors.Is(err, storage.ErrVersionConflict) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				done++
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("transfer: %v", err)
	}
	total := 0
	for i := range accounts {
		v, _ := mustGet(t, s, fmt.Sprintf("%sacct%d", p, i))
		var n int
		fmt.Sscan(string(v), &n)
		total += n
	}
	if total != accounts*start {
		t.Fatalf("total after concurrent transfers = %d, want %d: a batch was applied in part", total, accounts*start)
	}
}
