package bootstrap

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/redact"
	"github.com/weftio/weft/storage"
	storagememory "github.com/weftio/weft/storage/memory"
	"github.com/weftio/weft/transport"
)

// Stores are the opened storage of a process.
type Stores struct {
	KeyValue storage.KeyValue
	KeySet   storage.KeySet
	// Close releases the driver.
	Close func() error
}

// OpenStorage opens the configured storage driver and applies the
// compression and cache decorators.
func OpenStorage(ctx context.Context, cfg *config.Config) (*Stores, error) {
	var kv storage.KeyValue
	var ks storage.KeySet
	var closer func() error
	switch cfg.Storage {
	case "memory":
		m := storagememory.New()
		kv, ks, closer = m, m, m.Close
	default:
		d, ok := config.Lookup(config.KindStorage, cfg.Storage)
		if !ok {
			return nil, fmt.Errorf("storage %q is not built into this binary", cfg.Storage)
		}
		var err error
		if kv, ks, closer, err = d.OpenStorage(ctx, cfg.Settings(cfg.Storage), config.Open{Logger: Logger(cfg)}); err != nil {
			// Drivers keep passwords out of their errors; a library under
			// them may not.
			return nil, fmt.Errorf("open %s storage: %w", cfg.Storage, redact.Error(err))
		}
	}
	c, err := storage.ParseCompression(strings.ReplaceAll(cfg.Compression, "none", ""))
	if err != nil {
		_ = closer()
		return nil, err
	}
	kv = storage.CachedKeyValue(storage.Compressed(kv, c), cfg.Cache)
	ks = storage.CachedKeySet(ks, cfg.Cache)
	return &Stores{KeyValue: kv, KeySet: ks, Close: closer}, nil
}

// Logger builds the process logger from the configuration, writing to
// stderr.
func Logger(cfg *config.Config) *slog.Logger { return NewLogger(cfg, os.Stderr) }

// NewLogger builds a logger writing to w. Every record is masked
// (redact.Handler): a driver or library logging a URL it was given does
// not log the password in it.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(redact.Handler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(redact.Handler(slog.NewTextHandler(w, opts)))
}

// Checker is implemented by transports that can tell whether their broker
// answers.
type Checker interface {
	Check(ctx context.Context) error
}

// healthKey is the key a health check reads: absent, it costs one lookup.
const healthKey = "weft-health-check"

// Check tells whether the storage and the transport answer, for readiness
// probes: one read of an absent key, and the transport's own check when it
// has one.
func Check(ctx context.Context, stores *Stores, tr transport.Transport) error {
	if stores != nil {
		if _, _, err := stores.KeyValue.Get(ctx, healthKey); err != nil {
			return fmt.Errorf("storage: %w", redact.Error(err))
		}
	}
	if c, ok := tr.(Checker); ok {
		if err := c.Check(ctx); err != nil {
			return fmt.Errorf("transport: %w", redact.Error(err))
		}
	}
	return nil
}
