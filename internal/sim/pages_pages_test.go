package sim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage/memory"
)

var (
	advCh    = weft.NewChannel[int]("AdvSig", "in")
	advSigWf = weft.NewWorkflow[int, string]("AdvSig", "run")
)

func advSigRegistry() *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, advSigWf, func(ctx weft.Context, n int) (string, error) {
		var got []string
		for range n {
			v, err := weft.Receive(ctx, advCh).Await()
			if err != nil {
				return "", err
			}
			got = append(got, fmt.Sprint(v))
		}
		return strings.Join(got, ","), nil
	}))
	return reg
}

// A signal redelivered (same SignalID) to a live run, long after it was
// received: before pages, the receive command's statuses in the state
// deduplicate it; after its receive command went to a page and it left the
// bounded SignalIDs ring, it is handed to a new reception.
func TestAdvDuplicateSignalAfterArchive(t *testing.T) {
	for _, n := range []int{100, 400} {
		for _, fast := range []bool{false, true} {
			t.Run(fmt.Sprintf("n=%d/fast=%v", n, fast), func(t *testing.T) {
				s := sim.New(t, advSigRegistry(), sim.Options{FastPath: fast})
				dispatch(s, "AdvSig", "run", "w1", n)
				s.RunAll()
				sig := func(id string, v int) {
					s.Send(core.Topic(core.PrefixWorkflowCmd, "AdvSig"), "w1", &core.SendSignal{WorkflowID: "w1", Workflow: "AdvSig", Channel: "in", SignalID: id, Data: []byte(fmt.Sprint(v))})
					s.RunAll()
				}
				for i := range n - 1 {
					sig(fmt.Sprintf("s-%d", i), i)
				}
				t.Logf("pages: %d", len(s.State("w1").Method("w1").Pages))
				sig("s-0", 0) // a late duplicate of the very first signal
				sig(fmt.Sprintf("s-%d", n-1), n-1)
				outs := s.Outcomes("w1")
				if len(outs) != 1 {
					t.Fatalf("outcomes %+v", outs)
				}
				vals := strings.Split(strings.Trim(string(outs[0].Value), `"`), ",")
				if vals[len(vals)-1] != fmt.Sprint(n-1) {
					t.Fatalf("the duplicate of s-0 was received again: the last values are %v", vals[len(vals)-3:])
				}
			})
		}
	}
}

// ---- properties referenced by archived steps; outbox republished ----

type advProps struct {
	N   int    `json:"n"`
	Pad string `json:"pad"`
}

var advPropsWf = weft.NewWorkflow[int, int]("AdvProps", "run")

func advPropsRegistry() *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, pageStep, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
	weft.MustRegister(weft.RegisterMethod(reg, advPropsWf, func(p *advProps, ctx weft.Context, n int) (int, error) {
		total := 0
		for i := range n {
			v, err := weft.Call(ctx, pageStep, i)
			if err != nil {
				return 0, err
			}
			p.N = i
			total += v
		}
		return total + p.N, nil
	}))
	return reg
}

// The running workflow task's envelope is rebuilt from the state when the
// outbox is republished: it must be byte for byte the one first sent
// (compared with a clean run, raw envelope data, pages not merged).
func TestAdvPagedOutboxWithPropsRepublishedAsFirstSent(t *testing.T) {
	run := func(failAt int) map[string]string {
		sent := map[string]string{}
		s := sim.New(t, advPropsRegistry(), sim.Options{FailPublish: func(n int) bool { return n == failAt }})
		s.OnPublish = func(s *sim.Sim, env core.Envelope) {
			if env.Type == (&core.ExecuteWorkflowTask{}).MessageType() {
				sent[env.ID] = string(env.Data)
			}
		}
		dispatch(s, "AdvProps", "run", "p1", 140)
		s.RunAll()
		checkCompleted(t, s, "p1", fmt.Sprint(140*141/2+139))
		return sent
	}
	clean := run(-1)
	failAt := 513 // the publish of the workflow task dispatched by the change that wrote the first page
	got := run(failAt)
	for id, data := range got {
		if clean[id] != data {
			t.Fatalf("publish %d failing: workflow task %s republished from the outbox with other data (%d bytes, first built %d bytes)", failAt, id, len(data), len(clean[id]))
		}
	}
}

// ---- a long run canceled; pages must go ----

func TestAdvCanceledPagedRunDropsPages(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			var s *sim.Sim
			store := memory.New(memory.WithClock(func() time.Time { return s.Now }))
			s = sim.New(t, pagesRegistry(), sim.Options{FastPath: fast, Store: store})
			dispatch(s, "PagesLoop", "run", "p1", 400)
			s.RunAll()
			pages := s.State("p1").Method("p1").Pages
			if len(pages) == 0 {
				t.Fatal("setup: no pages")
			}
			s.Send(core.Topic(core.PrefixWorkflowCmd, "PagesLoop"), "p1", &core.CancelWorkflow{WorkflowID: "p1", Workflow: "PagesLoop", Reason: core.ReasonCanceledByClient})
			s.RunAll()
			if st := s.State("p1"); st == nil || st.Result == nil || st.Result.State != core.StateCanceled {
				t.Fatalf("not canceled: %+v", st)
			}
			for _, p := range pages {
				if _, v, _ := store.Get(context.Background(), p.Key); v != 0 {
					t.Errorf("page %s kept after cancel", p.Key)
				}
			}
			if len(s.DeadLetters) > 0 {
				t.Fatalf("dead letters %+v", s.DeadLetters)
			}
		})
	}
}

var _ = client.LoadState
