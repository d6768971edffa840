// Package knative runs weft's roles as a Knative Service: an HTTP server
// on $PORT that receives CloudEvents (binary or structured mode), each one
// a weft envelope for one of the process's functions, routed by its
// wefttopic extension.
//
// Answers follow the Knative data-plane contract, so the Broker knows what
// to do with the event:
//
//   - 200 when it is handled: the outputs are published (to the configured
//     transport, or to the Broker through the Knative transport) and the
//     state committed; 202 for an envelope delayed past now, which is kept
//     (by the transport) until due;
//   - 503 with Retry-After when it should come again: the storage or the
//     transport is unavailable, a versioned write kept losing races, the
//     process is shutting down; 429 with Retry-After when as many events
//     are in flight as the process takes (WEFT_WORKER_CONCURRENCY);
//   - 400 for a request that is no CloudEvent, or an event that is no valid
//     envelope; 422 for an envelope that can never be handled (the
//     function says so: unknown workflow, bad input, over a limit); both
//     are written to the dead-letter topic with the reason first, when the
//     topic is known; 404 for a topic no function here consumes (a Trigger
//     routing to the wrong Service; the Broker retries, then dead-letters).
//
// Knative delivers in parallel and out of order, to any replica: the roles
// rely on versioned writes, not on order, and a duplicate (same source and
// id) is harmless because handling is idempotent.
//
// /health/live answers 200 while the process serves; /health/ready answers
// 200 once the server listens and the storage and the transport answer,
// and 503 from the moment a shutdown starts. On SIGTERM the server stops
// taking requests and drains those in flight within the shutdown grace.
package knative
