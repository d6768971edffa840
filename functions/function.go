// Package functions holds the role handlers of weft: each role (state engine,
// executor, ...) is a Function that consumes one envelope and produces
// envelopes. Functions never publish by themselves; the runtime (an adapter)
// publishes their outputs, then lets them commit their state, then
// acknowledges the input. Process implements that contract once for every
// adapter.
package functions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/transport"
)

// Function is one role's handler.
type Function interface {
	// Name identifies the function in logs and metrics.
	Name() string
	// Subscriptions lists the topics the function consumes.
	Subscriptions() []Subscription
	// Handle processes one envelope. An error means "retry later" unless
	// it is permanent (see Permanent); a permanent error may come with
	// outputs, which are published before the input is dead-lettered (so a
	// caller can be told of the failure). An error wrapping ErrConflict
	// (a versioned write lost a race) makes the input be handled again.
	Handle(ctx context.Context, in core.Envelope) (Result, error)
}

// Subscription is one topic a function consumes.
type Subscription struct {
	Topic string
	// Keyed asks for per-key order on the topic.
	Keyed bool
}

// Result is what a function produced for one input.
type Result struct {
	// Outputs are published (honouring DeliverAt) before Commit runs.
	Outputs []core.Envelope
	// Commit, when set, persists the state that produced Outputs. It runs
	// after the outputs are published and before the input is acknowledged,
	// so a crash in between republishes rather than loses them. If it
	// returns an error wrapping ErrConflict, the input is handled again.
	Commit func(ctx context.Context) error
	// After are published only once Commit succeeded. A role uses them for
	// outputs computed from state it had not recorded yet (the state
	// engine's in-process workflow tasks): the commit records them in an
	// outbox, so a crash before they are out republishes them, and a
	// conflict discards them with the state they came from.
	After []core.Envelope
	// Done, when set, runs once After is published.
	Done func()
	// TxCommit, when set, is Commit with hook run inside the transaction
	// of the state write; TxDomain names that database. A runtime whose
	// transport keeps its messages in the same database (TxOutlet) writes
	// Outputs and After through hook instead of publishing them around
	// the commit, so state and messages commit together.
	TxCommit func(ctx context.Context, hook storage.TxHook) error
	TxDomain string
}

// ErrConflict signals a lost optimistic-concurrency race: the input must be
// handled again against fresh state.
var ErrConflict = errors.New("functions: concurrent state change")

// PermanentError marks input that can never be processed: the runtime sends
// it to the dead-letter topic with Reason instead of retrying.
type PermanentError struct {
	Reason string
	Err    error
}

func (e *PermanentError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError with a reason.
func Permanent(reason string, err error) error {
	return &PermanentError{Reason: reason, Err: err}
}

// IsPermanent reports whether err can never succeed on retry: a
// PermanentError or a core.DecodeError anywhere in its chain.
func IsPermanent(err error) bool {
	var p *PermanentError
	var d *core.DecodeError
	return errors.As(err, &p) || errors.As(err, &d)
}

// UnavailableError marks a failure of the infrastructure (storage or
// broker unreachable), not of the message: the runtime retries it in place
// with backoff, without spending the message's delivery attempts, so an
// outage never sends good messages to the dead-letter topic.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return "unavailable: " + e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// Unavailable wraps err, an error of the storage or the broker, as an
// UnavailableError (nil stays nil). A limit is no outage: a value or a
// message refused as too large (storage.ErrTooLarge,
// transport.ErrMessageTooLarge) would be refused again, so err is then
// wrapped as a PermanentError instead, never retried in place for ever.
func Unavailable(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrTooLarge) || errors.Is(err, transport.ErrMessageTooLarge):
		return Permanent("over a size limit", err)
	}
	return &UnavailableError{Err: err}
}

// IsUnavailable reports whether err is an infrastructure outage.
func IsUnavailable(err error) bool {
	var u *UnavailableError
	return errors.As(err, &u)
}

// NotYetError asks for the input to come again in After: it arrived before
// what it depends on (a command for an instance whose dispatch, on a
// transport without per-key order, is still on its way). It is no fault
// of the message: runtimes retry it without counting it as a failure
// where they can.
type NotYetError struct {
	Reason string
	After  time.Duration
}

func (e *NotYetError) Error() string { return "not yet: " + e.Reason }

// IsNotYet reports whether err asks for the input to come again later.
func IsNotYet(err error) (after time.Duration, ok bool) {
	var n *NotYetError
	if errors.As(err, &n) {
		return n.After, true
	}
	return 0, false
}

// Publisher publishes envelopes; transports and adapters provide it.
type Publisher func(ctx context.Context, envs ...core.Envelope) error

// MaxConflictRetries bounds how often Process re-handles an input after
// ErrConflict before giving up and asking for redelivery.
const MaxConflictRetries = 10

// Process runs fn on the encoded envelope body with the runtime contract:
// decode, handle, publish outputs, commit, and re-handle on a conflict.
//
// The returned error is nil when the input may be acknowledged. Otherwise
// IsPermanent tells whether it belongs on the dead-letter topic (with the
// error text as the reason) or should be redelivered later.
func Process(ctx context.Context, fn Function, body []byte, publish Publisher) error {
	env, err := core.DecodeEnvelope(body)
	if err != nil {
		return err
	}
	return ProcessEnvelope(ctx, fn, env, publish)
}

// TxOutlet publishes envelopes inside a transaction of the storage driver
// (see transport.TxPublisher); Domain names the database, and must equal a
// result's TxDomain for the two to be combined.
type TxOutlet struct {
	Domain  string
	Publish func(ctx context.Context, tx any, envs ...core.Envelope) error
}

// ProcessEnvelope is Process for an already decoded envelope.
func ProcessEnvelope(ctx context.Context, fn Function, env core.Envelope, publish Publisher) error {
	return ProcessEnvelopeTx(ctx, fn, env, publish, nil)
}

// ProcessEnvelopeTx is ProcessEnvelope for a runtime that can also write
// messages inside the storage transaction (out may be nil): a result that
// offers TxCommit in out's database commits its state and all its outputs
// at once instead of publishing before and after the write.
func ProcessEnvelopeTx(ctx context.Context, fn Function, env core.Envelope, publish Publisher, out *TxOutlet) error {
	for attempt := 0; ; attempt++ {
		res, err := fn.Handle(ctx, env)
		if errors.Is(err, ErrConflict) && attempt < MaxConflictRetries {
			continue // a versioned write within Handle lost a race
		}
		if err != nil {
			if IsPermanent(err) && len(res.Outputs) > 0 {
				if perr := publish(ctx, res.Outputs...); perr != nil {
					return Unavailable(fmt.Errorf("%s: publish outputs of failed %s %s: %w", fn.Name(), env.Type, env.ID, perr))
				}
			}
			return err
		}
		if out != nil && res.TxCommit != nil && res.TxDomain == out.Domain {
			err := res.TxCommit(ctx, func(ctx context.Context, tx any) error {
				envs := append(res.Outputs[:len(res.Outputs):len(res.Outputs)], res.After...)
				if len(envs) == 0 {
					return nil
				}
				return out.Publish(ctx, tx, envs...)
			})
			if errors.Is(err, ErrConflict) && attempt < MaxConflictRetries {
				continue
			}
			if errors.Is(err, transport.ErrMessageTooLarge) {
				return Permanent("an output cannot be published", fmt.Errorf("%s: commit with outputs after %s %s: %w", fn.Name(), env.Type, env.ID, err))
			}
			if err != nil {
				return fmt.Errorf("%s: commit with outputs after %s %s: %w", fn.Name(), env.Type, env.ID, err)
			}
			if res.Done != nil {
				res.Done()
			}
			return nil
		}
		if len(res.Outputs) > 0 {
			if err := publish(ctx, res.Outputs...); err != nil {
				return Unavailable(fmt.Errorf("%s: publish outputs of %s %s: %w", fn.Name(), env.Type, env.ID, err))
			}
		}
		if res.Commit != nil {
			err = res.Commit(ctx)
			if errors.Is(err, ErrConflict) && attempt < MaxConflictRetries {
				continue
			}
			if err != nil {
				return fmt.Errorf("%s: commit after %s %s: %w", fn.Name(), env.Type, env.ID, err)
			}
		}
		if len(res.After) > 0 {
			if err := publish(ctx, res.After...); err != nil {
				return Unavailable(fmt.Errorf("%s: publish outputs of %s %s: %w", fn.Name(), env.Type, env.ID, err))
			}
		}
		if res.Done != nil {
			res.Done()
		}
		return nil
	}
}

// RawHandler is a Function whose input is not a weft envelope (a user's
// CloudEvent on a topic of theirs): runtimes hand it the message's bytes.
type RawHandler interface {
	Function
	// HandleRaw processes one message; its error follows Handle's rules.
	HandleRaw(ctx context.Context, body []byte) (Result, error)
}

// ProcessRaw runs fn on one message with the runtime contract: handle,
// publish the outputs (those of a permanent failure too), commit.
func ProcessRaw(ctx context.Context, fn RawHandler, body []byte, publish Publisher) error {
	res, err := fn.HandleRaw(ctx, body)
	if err != nil {
		if IsPermanent(err) && len(res.Outputs) > 0 {
			if perr := publish(ctx, res.Outputs...); perr != nil {
				return Unavailable(fmt.Errorf("%s: publish outputs of a failed message: %w", fn.Name(), perr))
			}
		}
		return err
	}
	if len(res.Outputs) > 0 {
		if err := publish(ctx, res.Outputs...); err != nil {
			return Unavailable(fmt.Errorf("%s: publish outputs: %w", fn.Name(), err))
		}
	}
	if res.Commit != nil {
		if err := res.Commit(ctx); err != nil {
			return fmt.Errorf("%s: commit: %w", fn.Name(), err)
		}
	}
	if len(res.After) > 0 {
		if err := publish(ctx, res.After...); err != nil {
			return Unavailable(fmt.Errorf("%s: publish outputs: %w", fn.Name(), err))
		}
	}
	if res.Done != nil {
		res.Done()
	}
	return nil
}
