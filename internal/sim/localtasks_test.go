package sim_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
	"github.com/weftio/weft/storage/memory"
)

// localRuns counts the attempts of each task, by input.
type localRuns struct {
	mu   sync.Mutex
	runs map[string]int
}

func (l *localRuns) add(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs[key]++
}

// localMix registers LocalMix: three tasks registered with weft.Local, one
// without, then two local ones again; each adds one to its input.
func localMix(t *testing.T) (*weft.Registry, *localRuns) {
	t.Helper()
	log := &localRuns{runs: map[string]int{}}
	local := weft.NewTask[int, int]("LocalInc", "inc")
	remote := weft.NewTask[int, int]("RemoteInc", "inc")
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, local, func(_ weft.TaskContext, v int) (int, error) {
		log.add(fmt.Sprint("local ", v))
		return v + 1, nil
	}, weft.Local()))
	weft.MustRegister(weft.RegisterTask(reg, remote, func(_ weft.TaskContext, v int) (int, error) {
		log.add(fmt.Sprint("remote ", v))
		return v + 1, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, weft.NewWorkflow[int, int]("LocalMix", "run"), func(ctx weft.Context, v int) (int, error) {
		for _, step := range []weft.TaskRef[int, int]{local, local, local, remote, local, local} {
			var err error
			if v, err = weft.Call(ctx, step, v); err != nil {
				return 0, err
			}
		}
		return v, nil
	}))
	return reg, log
}

func checkLocalMix(t *testing.T, s *sim.Sim, log *localRuns) {
	t.Helper()
	outs := s.Outcomes("w1")
	if len(outs) != 1 || outs[0].Kind != core.MethodCompleted || string(outs[0].Value) != "6" {
		t.Fatalf("outcomes = %+v, want one completion with 6", outs)
	}
	if len(s.DeadLetters) > 0 {
		t.Errorf("dead letters: %+v", s.DeadLetters)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for v := range 6 {
		kind := "local"
		if v == 3 {
			kind = "remote"
		}
		if log.runs[fmt.Sprint(kind, " ", v)] == 0 {
			t.Errorf("the %s task of step %d never ran: %v", kind, v, log.runs)
		}
	}
}

// TestLocalTasksRunInTheStateEngine: on both paths, the tasks registered
// with weft.Local never travel to an executor; the other one does.
func TestLocalTasksRunInTheStateEngine(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			reg, log := localMix(t)
			s := sim.New(t, reg, sim.Options{FastPath: fast, LocalTasks: true})
			dispatch(s, "LocalMix", "run", "w1", 0)
			s.Run()
			checkLocalMix(t, s, log)
			if n := countTypes(s, "weft.executor.ExecuteTask"); n != 1 {
				t.Errorf("%d tasks went to an executor, want the one not local", n)
			}
			for k, n := range log.runs {
				if n != 1 {
					t.Errorf("%s ran %d times in a run without faults", k, n)
				}
			}
		})
	}
}

// TestLocalTasksUnderDuplicatesAndFailedWrites delivers every message
// twice (at once and late), then fails each state write of the scenario
// in turn: the workflow always completes with the right value, every task
// ran, and nothing is dead-lettered.
func TestLocalTasksUnderDuplicatesAndFailedWrites(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast=%v/duplicates", fast), func(t *testing.T) {
			reg, log := localMix(t)
			s := sim.New(t, reg, sim.Options{FastPath: fast, LocalTasks: true})
			seen := map[string]bool{}
			s.BeforeHandle = func(s *sim.Sim, env core.Envelope) {
				if seen[env.ID] {
					return
				}
				seen[env.ID] = true
				s.Queue = append([]core.Envelope{env}, s.Queue...)
				s.Queue = append(s.Queue, env)
			}
			dispatch(s, "LocalMix", "run", "w1", 0)
			s.Run()
			checkLocalMix(t, s, log)
		})
		reg, _ := localMix(t)
		counter := &flakyStore{KeyValue: memory.New()}
		cs := sim.New(t, reg, sim.Options{FastPath: fast, LocalTasks: true, Store: counter})
		dispatch(cs, "LocalMix", "run", "w1", 0)
		cs.Run()
		if counter.puts < 2 {
			t.Fatalf("only %d writes in the scenario", counter.puts)
		}
		for k := 1; k <= counter.puts; k++ {
			t.Run(fmt.Sprintf("fast=%v/write=%d", fast, k), func(t *testing.T) {
				reg, log := localMix(t)
				var s *sim.Sim
				store := &flakyStore{KeyValue: memory.New(memory.WithClock(func() time.Time { return s.Now })), failAt: k}
				s = sim.New(t, reg, sim.Options{FastPath: fast, LocalTasks: true, Store: store, Dedup: true})
				dispatch(s, "LocalMix", "run", "w1", 0)
				s.Run()
				if !store.failed {
					t.Fatalf("write %d never happened", k)
				}
				checkLocalMix(t, s, log)
			})
		}
	}
}
