// Package client is the Go client of weft: it dispatches workflows and
// methods, awaits their results, sends signals, cancels, retries, and reads
// the state or result record of an instance.
//
// A Client publishes commands on a transport and receives answers on its
// own response topic, "response:<name>". Typed helpers (Dispatch, Run,
// Signal, ...) take the same references as the workflow code, so callers
// and implementers agree on types at compile time.
//
// An await never waits in silence for an answer that cannot come: after
// Config.ConsumerCheck it asks the transport whether anything has
// subscribed to the topics the answer depends on, and fails with
// weft.ErrNoConsumer, naming the topic and the missing role, when nothing
// has (CheckConsumers asks the same at any time).
package client
