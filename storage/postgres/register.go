package postgres

import (
	"context"

	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/pgsetup"
	"github.com/weftio/weft/storage"
)

// Importing the package builds the driver into a binary: WEFT_STORAGE=postgres
// and the WEFT_POSTGRES_* settings.
func init() {
	config.Register(config.Driver{
		Name:     "postgres",
		Kind:     config.KindStorage,
		Settings: func() any { return &Config{} },
		Validate: func(s any) error { return s.(*Config).Validate() },
		OpenStorage: func(ctx context.Context, s any, _ config.Open) (storage.KeyValue, storage.KeySet, func() error, error) {
			st, err := New(ctx, *s.(*Config))
			if err != nil {
				return nil, nil, nil, err
			}
			return st, st, st.Close, nil
		},
	})
}

// PGSettings returns the connection settings, for a PostgreSQL transport
// that shares the storage's server.
func (c Config) PGSettings() pgsetup.Settings { return c.settings() }
