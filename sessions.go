package weft

import (
	"container/list"
	"errors"
	"sync"

	"github.com/weftio/weft/core"
)

// DefaultSessions is how many suspended method runs a Sessions keeps.
const DefaultSessions = 1024

// Sessions runs workflow tasks like Registry.RunWorkflowTask, keeping the
// code of each method run that suspends parked at the await it stopped
// at: the run's next workflow task resumes it there instead of replaying
// the whole history from the start, so a step costs the same at step
// 10,000 as at step 10. The task must then bring what the parked code
// produced last (the state engine recorded that result) and the outcome
// of its await; otherwise, or once a run is evicted (the least recently
// used beyond the bound), the task is replayed from the start as always.
// Both give the same result.
//
// A Sessions is safe for concurrent use. Close releases the parked runs;
// a runtime closes the Sessions it made when it stops.
type Sessions struct {
	reg *Registry
	max int

	mu     sync.Mutex
	runs   map[string]*list.Element // of *session
	lru    *list.List
	closed bool
}

type session struct {
	key string
	rr  *replayRun
}

// NewSessions returns a Sessions running r's code, keeping at most max
// parked method runs (0: DefaultSessions; negative: none, every task is
// replayed from the start).
func (r *Registry) NewSessions(max int) *Sessions {
	if max == 0 {
		max = DefaultSessions
	}
	return &Sessions{reg: r, max: max, runs: map[string]*list.Element{}, lru: list.New()}
}

// HasWorkflowCode reports whether RunWorkflowTask can run t here.
func (s *Sessions) HasWorkflowCode(t *core.ExecuteWorkflowTask) bool { return s.reg.HasWorkflowCode(t) }

// RunWorkflowTask is Registry.RunWorkflowTask, resuming a parked run when
// it can. t carries its method run's history, or only the part kept in
// the state when the run has history pages (Method.Pages): full then
// returns t with the pages merged, and is called only when the code must
// be replayed from the start. t may be the caller's live data; the run
// keeps copies of what it reads.
func (s *Sessions) RunWorkflowTask(t *core.ExecuteWorkflowTask, full func() (*core.ExecuteWorkflowTask, error)) (core.Message, error) {
	v, method, rerr := s.reg.resolve(t)
	if rerr != nil {
		rp := core.NewReplay(t, t.CodeVersion, core.CheckSimple)
		return rp.Failed(methodError(t, rerr)), rerr
	}
	key := t.WorkflowID + "\x00" + t.Method.ID
	if old := s.take(key); old != nil {
		if old.v == v && old.c.r.Resume(t) {
			old.keep.resume <- t
			return s.keepIfParked(key, old, old.wait(t)), nil
		}
		old.abandon()
	}
	if len(t.Method.Pages) > 0 {
		if full == nil {
			return nil, errors.New("weft: the workflow task names history pages and no way to read them")
		}
		ft, err := full()
		if err != nil {
			return nil, err
		}
		t = ft
	}
	own := *t
	own.Method = t.Method.ReplayCopy()
	rr, failed := startReplay(&own, v, method, s.max > 0)
	if failed != nil {
		return failed, nil
	}
	return s.keepIfParked(key, rr, rr.wait(t)), nil
}

// keepIfParked keeps rr under key when its code is parked, and returns
// what the task produced.
func (s *Sessions) keepIfParked(key string, rr *replayRun, end replayEnd) core.Message {
	if !end.parked {
		return end.msg
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		rr.abandon()
		return end.msg
	}
	if e, ok := s.runs[key]; ok { // kept meanwhile by a concurrent task of the run
		e.Value.(*session).rr.abandon()
		s.lru.Remove(e)
	}
	s.runs[key] = s.lru.PushFront(&session{key: key, rr: rr})
	for s.lru.Len() > s.max {
		old := s.lru.Back()
		s.lru.Remove(old)
		delete(s.runs, old.Value.(*session).key)
		old.Value.(*session).rr.abandon()
	}
	return end.msg
}

// take removes and returns the parked run of key, if any: while a task
// runs it, no other can.
func (s *Sessions) take(key string) *replayRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.runs[key]
	if !ok {
		return nil
	}
	s.lru.Remove(e)
	delete(s.runs, key)
	return e.Value.(*session).rr
}

// Close releases every parked run; later tasks are replayed from the
// start and not kept.
func (s *Sessions) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for e := s.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*session).rr.abandon()
	}
	s.lru.Init()
	clear(s.runs)
}

// Kept returns how many method runs are parked.
func (s *Sessions) Kept() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Len()
}
