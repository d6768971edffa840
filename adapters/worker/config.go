package worker

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/transport"
)

// Defaults for zero Config fields.
const (
	DefaultConcurrency   = 4
	DefaultShutdownGrace = 30 * time.Second
)

// Config tunes a Worker. The zero value is valid.
type Config struct {
	// Group is the consumer group (default fn.Name()).
	Group string
	// Concurrency is the number of lanes, i.e. of deliveries handled at once
	// (default DefaultConcurrency).
	Concurrency int
	// MaxAttempts is passed to every subscription (0: the transport's
	// default, transport.DefaultMaxAttempts).
	MaxAttempts int
	// ShutdownGrace bounds how long in-flight deliveries may run after Run's
	// context ends (default DefaultShutdownGrace).
	ShutdownGrace time.Duration
	// Logger receives the worker's logs (default: discard).
	Logger *slog.Logger
	// Observer, when set, is told of every delivery handled and of its
	// outcome (metrics, status reports).
	Observer Observer
	// AckOnReceipt acknowledges every delivery before handling it, for at
	// most once processing: a message whose handling fails is then logged
	// as lost, neither retried nor dead-lettered, and one whose
	// acknowledgement fails is not handled (the transport delivers it
	// again). The default acknowledges only once the outputs are published,
	// for at least once processing.
	AckOnReceipt bool
}

// withDefaults validates cfg against fn and fills in the defaults.
func (cfg Config) withDefaults(fn functions.Function) (Config, error) {
	switch {
	case cfg.Concurrency < 0:
		return cfg, fmt.Errorf("worker: Config.Concurrency is %d, want >= 0 (0: %d)", cfg.Concurrency, DefaultConcurrency)
	case cfg.MaxAttempts < 0:
		return cfg, fmt.Errorf("worker: Config.MaxAttempts is %d, want >= 0 (0: %d)", cfg.MaxAttempts, transport.DefaultMaxAttempts)
	case cfg.ShutdownGrace < 0:
		return cfg, fmt.Errorf("worker: Config.ShutdownGrace is %v, want >= 0 (0: %v)", cfg.ShutdownGrace, DefaultShutdownGrace)
	}
	if cfg.Group == "" {
		cfg.Group = fn.Name()
	}
	if cfg.Group == "" {
		return cfg, errors.New("worker: Config.Group is empty and so is the function's Name()")
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// checkSubscriptions rejects a function the worker could not run.
func checkSubscriptions(fn functions.Function, subs []functions.Subscription) error {
	if len(subs) == 0 {
		return fmt.Errorf("worker: function %q has no Subscriptions", fn.Name())
	}
	seen := make(map[string]bool, len(subs))
	for i, s := range subs {
		if s.Topic == "" {
			return fmt.Errorf("worker: function %q: Subscriptions()[%d].Topic is empty", fn.Name(), i)
		}
		if seen[s.Topic] {
			return fmt.Errorf("worker: function %q subscribes to %q twice", fn.Name(), s.Topic)
		}
		seen[s.Topic] = true
	}
	return nil
}
