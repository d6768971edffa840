package sim_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/sim"
)

var (
	mixMain   = weft.NewWorkflow[int, string]("RevMix", "run")
	mixSide   = weft.NewWorkflow[int, string]("RevMix", "side")
	mixIdle   = weft.NewWorkflow[int, string]("RevMix", "idle")
	mixChild  = weft.NewWorkflow[int, int]("RevMixChild", "run")
	mixSig    = weft.NewChannel[int]("RevMix", "sig")
	mixMany   = weft.NewChannel[int]("RevMix", "many")
	mixSlow   = weft.NewTask[int, int]("RevMixT", "slow")
	mixBroken = weft.NewTask[int, int]("RevMixT", "broken")
)

type mixProps struct {
	Log  []string
	Side int
	M    map[string]int
}

func revMixRegistry(t testing.TB) (*weft.Registry, *execLog) {
	log := &execLog{runs: map[string]int{}}
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, mixSlow, func(ctx weft.TaskContext, n int) (int, error) { log.add(ctx.Info().TaskID); return n * 2, nil }))
	weft.MustRegister(weft.RegisterTask(reg, mixBroken, func(ctx weft.TaskContext, n int) (int, error) {
		log.add(ctx.Info().TaskID)
		if ctx.Info().RetrySeq == 0 {
			return 0, fmt.Errorf("broken %d", n)
		}
		return n, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, mixChild, func(ctx weft.Context, n int) (int, error) {
		if err := weft.Sleep(ctx, time.Duration(n)*time.Minute); err != nil {
			return 0, err
		}
		return n, nil
	}))
	weft.MustRegister(weft.RegisterMethod(reg, mixMain, func(p *mixProps, ctx weft.Context, n int) (string, error) {
		note := func(f string, a ...any) { p.Log = append(p.Log, fmt.Sprintf(f, a...)) }
		if p.M == nil {
			p.M = map[string]int{}
		}
		d := weft.Dispatch(ctx, mixSlow, 3)
		three := weft.Receive(ctx, mixSig, weft.Limit(3))
		many := weft.Receive(ctx, mixMany, weft.Limit(0))
		ch := weft.DispatchChild(ctx, mixChild, 5, weft.Timeout(2*time.Minute))
		b := weft.Dispatch(ctx, mixBroken, 1)
		for i := 0; i < 3; i++ {
			v, err := three.Await()
			note("sig %d=%d at %s status d=%s b=%s many=%s side=%d", i, v, weft.Now(ctx).Format(time.RFC3339), d.Status(), b.Status(), many.Status(), p.Side)
			if err != nil {
				return "", err
			}
			p.M[fmt.Sprint(i)] = v
		}
		w, err := weft.Or(ch, weft.Timer(ctx, time.Hour), many).Await()
		note("or w=%d err=%v", w, err != nil)
		if _, err := ch.Await(); err != nil {
			note("child err %v", err)
		}
		if _, err := b.Await(); err != nil {
			note("broken err caught")
		}
		if err := weft.Sleep(ctx, 10*time.Minute); err != nil {
			return "", err
		}
		note("after sleep b=%s ch=%s side=%d", b.Status(), ch.Status(), p.Side)
		for k := 0; k < 2; k++ {
			v, err := many.Await()
			note("many %d=%d", k, v)
			if err != nil {
				return "", err
			}
		}
		x, _ := weft.Inline(ctx, func() (int, error) { return len(p.Log), nil })
		vals, err := weft.AwaitAll([]*weft.Deferred[int]{d, b})
		note("all %v %v x=%d", vals, err != nil, x)
		out, _ := json.Marshal(p)
		return string(out), nil
	}))
	weft.MustRegister(weft.RegisterMethod(reg, mixSide, func(p *mixProps, ctx weft.Context, n int) (string, error) {
		for i := 0; i < n; i++ {
			p.Side++
			delete(p.M, fmt.Sprint(i))
			if err := weft.Sleep(ctx, time.Minute); err != nil {
				return "", err
			}
		}
		return fmt.Sprint(p.Side), nil
	}))
	weft.MustRegister(weft.RegisterMethod(reg, mixIdle, func(p *mixProps, ctx weft.Context, n int) (string, error) {
		p.Side += 100
		if err := weft.Sleep(ctx, time.Hour*24); err != nil {
			return "", err
		}
		return "idle", nil
	}))
	return reg, log
}

func init() {
	pathScenarios = append(pathScenarios, pathScenario{name: "review: mix of signals, props, Or, child timeout, cancel, retry", reg: revMixRegistry, run: func(s *sim.Sim) {
		cmd := core.Topic(core.PrefixWorkflowCmd, "RevMix")
		sig := func(ch string, id string, v int) {
			s.Send(cmd, "m1", &core.SendSignal{WorkflowID: "m1", Workflow: "RevMix", Channel: ch, SignalID: id, Data: []byte(fmt.Sprint(v))})
		}
		method := func(name, id string, in int) {
			s.Send(cmd, "m1", &core.DispatchMethod{WorkflowID: "m1", Workflow: "RevMix", MethodRunID: id, Method: name, Input: []byte(fmt.Sprint(in))})
		}
		dispatch(s, "RevMix", "run", "m1", 0)
		s.Run()
		method("side", "side-1", 3)
		method("idle", "idle-1", 0)
		s.Run()
		sig("sig", "s1", 10)
		sig("many", "m-a", 1)
		s.Run()
		s.Advance(30 * time.Second)
		sig("sig", "s2", 20)
		s.Send(cmd, "m1", &core.CancelWorkflow{WorkflowID: "m1", Workflow: "RevMix", MethodRunID: "idle-1", Reason: "test"})
		s.Run()
		s.Advance(time.Minute)
		sig("sig", "s3", 30)
		sig("sig", "s4", 40) // beyond the limit
		sig("many", "m-b", 2)
		s.Run()
		s.Advance(3 * time.Minute) // the child times out on the caller's side
		s.Send(cmd, "m1", &core.RetryTasks{WorkflowID: "m1", Workflow: "RevMix"})
		s.Run()
		s.Advance(5 * time.Minute)
		sig("many", "m-c", 3)
		s.RunAll()
	}})
}
