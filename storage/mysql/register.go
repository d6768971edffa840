package mysql

import (
	"context"

	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/storage"
)

// Importing the package builds the driver into a binary: WEFT_STORAGE=mysql
// and the WEFT_MYSQL_* settings.
func init() {
	config.Register(config.Driver{
		Name:     "mysql",
		Kind:     config.KindStorage,
		Settings: func() any { return &Config{} },
		Validate: func(s any) error { return s.(*Config).Validate() },
		OpenStorage: func(ctx context.Context, s any, o config.Open) (storage.KeyValue, storage.KeySet, func() error, error) {
			st, err := New(ctx, *s.(*Config), WithLogger(o.Logger))
			if err != nil {
				return nil, nil, nil, err
			}
			return st, st, st.Close, nil
		},
	})
}
