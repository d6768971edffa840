package sim_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/memory"
	tmem "github.com/weftio/weft/transport/memory"
)

// hookGetMany runs hook before the first GetMany of page keys.
type hookGetMany struct {
	storage.KeyValue
	hook func()
}

func (h *hookGetMany) GetMany(ctx context.Context, keys []string) ([]storage.Entry, error) {
	if f := h.hook; f != nil && len(keys) > 0 && strings.HasPrefix(keys[0], "workflow.history.") {
		h.hook = nil
		f()
	}
	return h.KeyValue.GetMany(ctx, keys)
}

// A client reads a paged state while the instance ends (its pages are
// deleted between the client's two reads): ReadResult and a dispatch
// under an explicit id fail with "page missing" instead of answering.
func TestAdvClientReadsWhileTheRunEnds(t *testing.T) {
	for _, op := range []string{"read-result", "dispatch-with-id"} {
		t.Run(op, func(t *testing.T) {
			var s *sim.Sim
			store := &hookGetMany{KeyValue: memory.New(memory.WithClock(func() time.Time { return s.Now }))}
			s = sim.New(t, pagesRegistry(), sim.Options{Store: store})
			dispatch(s, "PagesLoop", "run", "p1", 300)
			s.RunAll()
			ctx := context.Background()
			tr := tmem.New()
			defer tr.Close()
			c, err := client.New(ctx, client.Config{Transport: tr, Store: store})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			store.hook = func() {
				s.Send(core.Topic(core.PrefixWorkflowCmd, "PagesLoop"), "p1", &core.SendSignal{WorkflowID: "p1", Workflow: "PagesLoop", Channel: "sig", SignalID: "s-go", Data: []byte(`"go"`)})
				s.RunAll()
			}
			switch op {
			case "read-result":
				_, err = c.ReadResult(ctx, "p1")
				if err != nil && !errors.Is(err, client.ErrNotEnded) {
					t.Fatalf("ReadResult: %v", err)
				}
			case "dispatch-with-id":
				_, err = c.DispatchJSON(ctx, "PagesLoop", "run", []byte("1"), client.WithID("p1"))
				if err != nil {
					t.Fatalf("Dispatch under the id of an instance that just ended: %v", err)
				}
			}
		})
	}
}
