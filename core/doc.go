// Package core is the deterministic heart of weft: the message catalogue, the
// CloudEvents envelope codec, the workflow state model, the state-engine
// transitions, the workflow replay machinery and the task executor's retry
// decisions.
//
// Nothing here performs I/O, starts goroutines, reads the wall clock or draws
// random numbers: time, identifiers and randomness are inputs. The functions
// package is the imperative shell that loads state, calls core and emits the
// outputs.
package core
