package memory

import (
	"log/slog"
	"time"

	"github.com/weftio/weft/core"
)

// DefaultDedupWindow is how many envelope IDs per topic Publish remembers.
const DefaultDedupWindow = 10_000

// Option configures a Transport.
type Option func(*options)

type options struct {
	clock       Clock
	maxSize     int
	dedupWindow int
	logger      *slog.Logger
}

func defaultOptions() options {
	return options{
		clock:       systemClock{},
		maxSize:     core.MaxEnvelopeSize,
		dedupWindow: DefaultDedupWindow,
		logger:      slog.New(slog.DiscardHandler),
	}
}

// WithClock replaces the wall clock, so tests can drive delays and backoff
// without sleeping.
func WithClock(c Clock) Option {
	return func(o *options) {
		if c != nil {
			o.clock = c
		}
	}
}

// WithMaxMessageSize sets the largest body accepted by Publish and
// PublishRaw (default core.MaxEnvelopeSize); n <= 0 removes the limit.
func WithMaxMessageSize(n int) Option {
	return func(o *options) { o.maxSize = max(n, 0) }
}

// WithDedupWindow sets how many envelope IDs per topic Publish remembers to
// drop duplicates (default DefaultDedupWindow); n <= 0 turns deduplication
// off.
func WithDedupWindow(n int) Option {
	return func(o *options) { o.dedupWindow = max(n, 0) }
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// Clock is the time source of a Transport.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed, never
	// synchronously: the transport calls it with a lock held.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not started; it reports whether it did.
	Stop() bool
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
