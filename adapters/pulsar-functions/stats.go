package pulsarfunctions

import (
	"sync"
	"time"

	"github.com/weftio/weft/adapters/worker"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/internal/redact"
)

// keepExceptions is how many of the latest exceptions of each kind a
// status report lists, as a Java instance keeps.
const keepExceptions = 10

// maxExceptionText bounds one exception's text in a status report.
const maxExceptionText = 1024

// stats counts what the instance's functions do. It is the one source of
// both the Prometheus metrics and the InstanceControl answers, so the two
// always agree. It is a worker.Observer; every method is safe for
// concurrent use.
type stats struct {
	now func() time.Time

	mu             sync.Mutex
	total, minute  counts
	lastInvocation time.Time
	userExc        []exception
	systemExc      []exception
	// latency feeds the latency summaries (nil in tests of stats alone).
	latency func(ms float64)
}

type counts struct {
	received, processed, userExceptions, systemExceptions int64
	latencyMs                                             float64 // sum over latencyN tries
	latencyN                                              int64
}

func (c counts) avgLatencyMs() float64 {
	if c.latencyN == 0 {
		return 0
	}
	return c.latencyMs / float64(c.latencyN)
}

type exception struct {
	text string
	at   time.Time
}

var _ worker.Observer = (*stats)(nil)

func newStats(now func() time.Time) *stats { return &stats{now: now} }

// Received counts a message taken for handling; it is also the function's
// last invocation, as a Java instance records it.
func (s *stats) Received(string) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total.received++
	s.minute.received++
	s.lastInvocation = now
}

// Processed counts a message handled successfully.
func (s *stats) Processed(_ string, latency time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total.processed++
	s.minute.processed++
	s.observeLatency(latency)
}

// Failed counts an exception: a system exception when the storage or the
// broker was unavailable (no fault of the function's), a user exception
// otherwise.
func (s *stats) Failed(_ string, err error, _ bool, latency time.Duration) {
	text := redact.Text(err.Error())
	if len(text) > maxExceptionText {
		text = text[:maxExceptionText] + "…"
	}
	e := exception{text: text, at: s.now()}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observeLatency(latency)
	if functions.IsUnavailable(err) {
		s.total.systemExceptions++
		s.minute.systemExceptions++
		s.systemExc = keepLatest(s.systemExc, e)
		return
	}
	s.total.userExceptions++
	s.minute.userExceptions++
	s.userExc = keepLatest(s.userExc, e)
}

// observeLatency records one try's latency. s.mu is held.
func (s *stats) observeLatency(d time.Duration) {
	ms := float64(d) / float64(time.Millisecond)
	s.total.latencyMs += ms
	s.total.latencyN++
	s.minute.latencyMs += ms
	s.minute.latencyN++
	if s.latency != nil {
		s.latency(ms)
	}
}

func keepLatest(list []exception, e exception) []exception {
	list = append(list, e)
	if len(list) > keepExceptions {
		list = append(list[:0], list[len(list)-keepExceptions:]...)
	}
	return list
}

// snapshot returns the counters; reset also starts a new minute.
func (s *stats) snapshot(reset bool) (total, minute counts, last time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	total, minute, last = s.total, s.minute, s.lastInvocation
	if reset {
		s.minute = counts{}
	}
	return total, minute, last
}

// exceptions returns copies of the latest exceptions of each kind.
func (s *stats) exceptions() (user, system []exception) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]exception(nil), s.userExc...), append([]exception(nil), s.systemExc...)
}
