package bootstrap

import (
	"context"
	"log/slog"

	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/pgqueue"
)

func init() {
	transports["pgqueue"] = func(ctx context.Context, cfg *config.Config, logger *slog.Logger) (transport.Transport, error) {
		qc := cfg.PGQueue
		qc.Logger = logger
		return pgqueue.New(ctx, qc)
	}
}
