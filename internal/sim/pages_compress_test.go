package sim_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/memory"
)

func TestAdvPagesUnderCompressionWithALimit(t *testing.T) {
	for _, tx := range []bool{false, true} {
		for _, fast := range []bool{false, true} {
			t.Run(fmt.Sprintf("tx=%v/fast=%v", tx, fast), func(t *testing.T) {
				var s *sim.Sim
				strict := &strictStore{KeyValue: memory.New(memory.WithClock(func() time.Time { return s.Now })), max: 128 << 10}
				store := storage.Compressed(declaredStrict{strict}, storage.CompressionGzip)
				s = sim.New(t, pagesRegistry(), sim.Options{FastPath: fast, Store: store, Transactional: tx})
				dispatch(s, "PagesLoop", "run", "p1", 300)
				s.RunAll()
				st := s.State("p1")
				if st == nil || st.Method("p1") == nil || st.Method("p1").Failure != nil || len(st.Method("p1").Pages) < 2 {
					t.Fatalf("paged run under compression: %+v; refused %v dead %+v", st, strict.refused, s.DeadLetters)
				}
				whole, err := client.LoadState(context.Background(), store, "p1")
				if err != nil {
					t.Fatal(err)
				}
				if rep := pagesRegistry().CheckReplay(whole); !rep.OK() {
					t.Fatal(rep.Problems)
				}
				s.Send(core.Topic(core.PrefixWorkflowCmd, "PagesLoop"), "p1", &core.SendSignal{WorkflowID: "p1", Workflow: "PagesLoop", Channel: "sig", SignalID: "s-go", Data: []byte(`"go"`)})
				s.RunAll()
				checkCompleted(t, s, "p1", fmt.Sprint(300*301/2+1001+2))
			})
		}
	}
}
