package bootstrap

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/redact"
	"github.com/weftio/weft/transport"
	transportmemory "github.com/weftio/weft/transport/memory"
)

// OpenTransport opens the configured transport driver. An in-memory
// transport only connects the roles of this one process.
func OpenTransport(ctx context.Context, cfg *config.Config, logger *slog.Logger) (transport.Transport, error) {
	return OpenTransportWith(ctx, cfg, logger, nil)
}

// OpenTransportWith is OpenTransport for a process that has opened its
// storage: a transport that keeps messages there (the Knative transport's
// delayed ones) gets it.
func OpenTransportWith(ctx context.Context, cfg *config.Config, logger *slog.Logger, stores *Stores) (transport.Transport, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Transport == "memory" {
		return transportmemory.New(transportmemory.WithLogger(logger)), nil
	}
	d, ok := config.Lookup(config.KindTransport, cfg.Transport)
	if !ok {
		return nil, fmt.Errorf("transport %q is not built into this binary", cfg.Transport)
	}
	o := config.Open{Logger: logger}
	if stores != nil {
		o.Store, o.Tags = stores.KeyValue, stores.KeySet
	}
	tr, err := d.OpenTransport(ctx, cfg.Settings(cfg.Transport), o)
	if err != nil {
		return nil, fmt.Errorf("open %s transport: %w", cfg.Transport, redact.Error(err))
	}
	return tr, nil
}
