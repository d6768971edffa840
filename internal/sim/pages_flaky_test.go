package sim_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/memory"
)

// flakyPages fails the n-th batch write that adds a page: before writing
// (lost=false) or after (lost=true: the write went through, its answer was
// lost, as with a crash right after the write).
type flakyPages struct {
	storage.KeyValue
	n, failAt int
	lost      bool
	failed    bool
	written   map[string]bool
}

func (f *flakyPages) PutMany(ctx context.Context, writes []storage.Write) ([]uint64, error) {
	hasPage := false
	for _, w := range writes {
		if strings.HasPrefix(w.Key, "workflow.history.") && w.Value != nil {
			hasPage = true
		}
	}
	if hasPage {
		f.n++
		if f.n == f.failAt && !f.lost {
			f.failed = true
			return nil, errors.New("injected")
		}
	}
	vs, err := f.KeyValue.PutMany(ctx, writes)
	if err == nil {
		for _, w := range writes {
			if strings.HasPrefix(w.Key, "workflow.history.") {
				f.written[w.Key] = true
			}
		}
	}
	if hasPage && f.n == f.failAt && f.lost {
		f.failed = true
		return nil, errors.New("injected after the write")
	}
	return vs, err
}

func TestAdvPageWriteFails(t *testing.T) {
	for _, fast := range []bool{false, true} {
		for _, tx := range []bool{false, true} {
			for _, lost := range []bool{false, true} {
				if tx && lost {
					continue // a transaction commits its outputs with the state
				}
				for failAt := 1; failAt <= 2; failAt++ {
					t.Run(fmt.Sprintf("fast=%v/tx=%v/lost=%v/%d", fast, tx, lost, failAt), func(t *testing.T) {
						var s *sim.Sim
						fs := &flakyPages{KeyValue: memory.New(memory.WithClock(func() time.Time { return s.Now })), failAt: failAt, lost: lost, written: map[string]bool{}}
						s = sim.New(t, pagesRegistry(), sim.Options{FastPath: fast, Store: fs, Transactional: tx})
						dispatch(s, "PagesLoop", "run", "p1", 300)
						s.RunAll()
						if !fs.failed {
							t.Fatal("never failed")
						}
						s.Send(core.Topic(core.PrefixWorkflowCmd, "PagesLoop"), "p1", &core.SendSignal{WorkflowID: "p1", Workflow: "PagesLoop", Channel: "sig", SignalID: "s-go", Data: []byte(`"go"`)})
						s.RunAll()
						checkCompleted(t, s, "p1", fmt.Sprint(300*301/2+1001+2))
						for key := range fs.written {
							if _, v, _ := fs.Get(context.Background(), key); v != 0 {
								t.Errorf("page %s left behind", key)
							}
						}
						for id, n := range s.Published {
							if n > 1 && !lost {
								t.Errorf("%s published %d times", id, n)
							}
						}
					})
				}
			}
		}
	}
}
