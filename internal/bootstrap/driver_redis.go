package bootstrap

import (
	"context"

	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/storage"
	storageredis "github.com/weftio/weft/storage/redis"
)

func init() {
	drivers["redis"] = func(ctx context.Context, cfg *config.Config) (storage.KeyValue, storage.KeySet, func() error, error) {
		s, err := storageredis.New(ctx, cfg.Redis)
		if err != nil {
			return nil, nil, nil, err
		}
		return s, s, s.Close, nil
	}
}
