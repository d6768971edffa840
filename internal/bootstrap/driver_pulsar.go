package bootstrap

import (
	"context"
	"log/slog"

	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/transport"
	transportpulsar "github.com/weftio/weft/transport/pulsar"
)

func init() {
	transports["pulsar"] = func(ctx context.Context, cfg *config.Config, logger *slog.Logger) (transport.Transport, error) {
		pc := cfg.Pulsar
		pc.Logger = logger
		return transportpulsar.New(ctx, pc)
	}
}
