package embedded_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/storage"
	storagememory "github.com/weftio/weft/storage/memory"
)

// stateWrites counts the writes of workflow states.
type stateWrites struct {
	storage.KeyValue
	n atomic.Int64
}

func (s *stateWrites) Put(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration) (uint64, error) {
	if strings.HasPrefix(key, core.StateKey("")) {
		s.n.Add(1)
	}
	return s.KeyValue.Put(ctx, key, value, expected, ttl)
}

func (s *stateWrites) PutMany(ctx context.Context, writes []storage.Write) ([]uint64, error) {
	for _, w := range writes {
		if strings.HasPrefix(w.Key, core.StateKey("")) {
			s.n.Add(1)
		}
	}
	return s.KeyValue.PutMany(ctx, writes)
}

var (
	localStep      = weft.NewTask[int, int]("LocalSvc", "step")
	remoteStep     = weft.NewTask[int, int]("RemoteSvc", "step")
	localFlakyStep = weft.NewTask[int, int]("LocalFlakySvc", "step")
	localChain     = weft.NewWorkflow[int, int]("LocalChain", "run")
	remoteChain    = weft.NewWorkflow[int, int]("RemoteChain", "run")
	localFlaky     = weft.NewWorkflow[int, int]("LocalFlaky", "run")
)

func chainOf(step weft.TaskRef[int, int]) func(weft.Context, int) (int, error) {
	return func(ctx weft.Context, n int) (int, error) {
		v := 0
		for range n {
			var err error
			if v, err = weft.Call(ctx, step, v); err != nil {
				return 0, err
			}
		}
		return v, nil
	}
}

// TestLocalTasksAreRecordedWithTheState runs ten sequential tasks
// registered with weft.Local, and ten without: the local ones run in the
// state engine's process and their results are written with the state,
// so the whole workflow takes a write or two instead of one per step.
func TestLocalTasksAreRecordedWithTheState(t *testing.T) {
	inc := func(_ weft.TaskContext, i int) (int, error) { return i + 1, nil }
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, localStep, inc, weft.Local()))
	weft.MustRegister(weft.RegisterTask(reg, remoteStep, inc))
	weft.MustRegister(weft.RegisterWorkflow(reg, localChain, chainOf(localStep)))
	weft.MustRegister(weft.RegisterWorkflow(reg, remoteChain, chainOf(remoteStep)))
	store := &stateWrites{KeyValue: storagememory.New()}
	c, ctx := start(t, reg, embedded.Options{Store: store})

	for _, wf := range []weft.WorkflowRef[int, int]{localChain, remoteChain} {
		before := store.n.Load()
		if got, err := client.Run(ctx, c, wf, 10); err != nil || got != 10 {
			t.Fatalf("%s: %d, %v; want 10", wf.Workflow(), got, err)
		}
		writes := store.n.Load() - before
		t.Logf("%s: %d state writes for 10 steps", wf.Workflow(), writes)
		if wf.Workflow() == localChain.Workflow() && writes > 2 {
			t.Errorf("the local chain took %d state writes, want its ten steps written together", writes)
		}
		if wf.Workflow() == remoteChain.Workflow() && writes < 10 {
			t.Errorf("the remote chain took %d state writes: its tasks ran in the state engine's process?", writes)
		}
	}
}

// TestLocalTaskRetriesThroughTheBroker fails a local task's first two
// attempts: its retry policy holds, the retries go through an executor,
// and the workflow completes with the value of the third attempt.
func TestLocalTaskRetriesThroughTheBroker(t *testing.T) {
	var runs atomic.Int32
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, localFlakyStep, func(_ weft.TaskContext, i int) (int, error) {
		if runs.Add(1) <= 2 {
			return 0, errors.New("not yet")
		}
		return i + 100, nil
	}, weft.Local(), weft.WithRetry(core.RetryPolicy{MaxRetries: 3, Minimum: 10 * time.Millisecond, Maximum: 20 * time.Millisecond, Coefficient: 1})))
	weft.MustRegister(weft.RegisterWorkflow(reg, localFlaky, chainOf(localFlakyStep)))
	c, ctx := start(t, reg, embedded.Options{})
	if got, err := client.Run(ctx, c, localFlaky, 1); err != nil || got != 100 {
		t.Fatalf("got %d, %v; want 100", got, err)
	}
	if n := runs.Load(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

var (
	localHuge     = weft.NewTask[int, string]("LocalHugeSvc", "make")
	localHugeFlow = weft.NewWorkflow[int, string]("LocalHuge", "run")
)

// TestLocalTaskResultTooLargeForAMessage: a local task whose result would
// not fit in a message is handed to an executor, which fails it as too
// large, as it would have without Local.
func TestLocalTaskResultTooLargeForAMessage(t *testing.T) {
	var runs atomic.Int32
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(reg, localHuge, func(_ weft.TaskContext, n int) (string, error) {
		runs.Add(1)
		return strings.Repeat("x", n), nil
	}, weft.Local()))
	weft.MustRegister(weft.RegisterWorkflow(reg, localHugeFlow, func(ctx weft.Context, n int) (string, error) {
		return weft.Call(ctx, localHuge, n)
	}))
	c, ctx := start(t, reg, embedded.Options{})
	_, err := client.Run(ctx, c, localHugeFlow, 2*core.MaxEnvelopeSize)
	if !errors.Is(err, weft.ErrPayloadTooLarge) {
		t.Fatalf("got %v, want the task failed as too large", err)
	}
	if n := runs.Load(); n != 2 {
		t.Errorf("%d attempts, want 2 (here, then at the executor)", n)
	}
}
