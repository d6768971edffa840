package bootstrap

import (
	"context"

	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/storage"
	storagepostgres "github.com/weftio/weft/storage/postgres"
)

func init() {
	drivers["postgres"] = func(ctx context.Context, cfg *config.Config) (storage.KeyValue, storage.KeySet, func() error, error) {
		s, err := storagepostgres.New(ctx, cfg.Postgres)
		if err != nil {
			return nil, nil, nil, err
		}
		return s, s, s.Close, nil
	}
}
