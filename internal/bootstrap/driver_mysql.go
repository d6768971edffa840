package bootstrap

import (
	"context"

	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/storage"
	storagemysql "github.com/weftio/weft/storage/mysql"
)

func init() {
	drivers["mysql"] = func(ctx context.Context, cfg *config.Config) (storage.KeyValue, storage.KeySet, func() error, error) {
		s, err := storagemysql.New(ctx, cfg.MySQL, storagemysql.WithLogger(Logger(cfg)))
		if err != nil {
			return nil, nil, nil, err
		}
		return s, s, s.Close, nil
	}
}
