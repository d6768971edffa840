// Package worker is the long-running runtime of one weft function: it
// subscribes to the function's topics, runs functions.Process on every
// delivery and settles it (ack, nack for a retry, or dead-letter).
//
// Deliveries are spread over a fixed number of lanes, one goroutine each.
// A delivery with a partition key always goes to the same lane, so one key is
// never handled by two goroutines of a worker at once, even on a transport or
// subscription that does not order keys. Lane queues are bounded: a slow
// function stops the worker from receiving rather than making it buffer.
//
// A panicking handler is recovered and treated as a retryable failure, so a
// bad message is redelivered and finally dead-lettered, never lost and never
// fatal to the process.
//
// A delivery that offers its envelope already decoded (a method
// DeliveredEnvelope() (core.Envelope, bool), as the memory transport's do)
// is handled without decoding its body.
//
// Processing is at least once: a delivery is acknowledged only after its
// outputs are published. Config.AckOnReceipt turns that into at most once
// (acknowledge, then handle; a failure is logged as lost). Config.Observer
// is told of every delivery and its outcome, for metrics.
//
// Shutdown is graceful: when Run's context ends the worker stops receiving,
// finishes what it already received on a context that is not cancelled until
// Config.ShutdownGrace has passed, then closes its subscriptions so anything
// left unsettled is redelivered. Handlers must honour their context for the
// grace period to bound shutdown.
package worker
