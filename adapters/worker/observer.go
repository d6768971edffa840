package worker

import (
	"context"
	"time"

	"github.com/weftio/weft/functions"
)

// Observer is told what a worker does with each delivery, for metrics and
// status reports. Its methods are called from the worker's lanes,
// concurrently, and must return quickly: a lane waits for them.
type Observer interface {
	// Received is called when a delivery from topic is taken for handling.
	Received(topic string)
	// Processed is called when the function has handled a delivery and its
	// outputs are published (before the delivery is acknowledged); latency
	// is the time that took.
	Processed(topic string, latency time.Duration)
	// Failed is called for every try of handling a delivery that failed,
	// in-place retries during an outage included (see
	// functions.IsUnavailable), but not for one cut short by the end of the
	// shutdown grace. permanent tells that the message goes to the
	// dead-letter topic instead of being retried.
	Failed(topic string, err error, permanent bool, latency time.Duration)
}

// observe reports the outcome of one try that started at start.
func (w *Worker) observe(workCtx context.Context, topic string, start time.Time, err error) {
	obs := w.cfg.Observer
	if obs == nil {
		return
	}
	latency := time.Since(start)
	switch {
	case err == nil:
		obs.Processed(topic, latency)
	case workCtx.Err() != nil && !functions.IsPermanent(err):
		// Interrupted by shutdown: the message comes back, nothing failed.
	default:
		obs.Failed(topic, err, functions.IsPermanent(err), latency)
	}
}
