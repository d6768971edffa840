package pgqueue

import (
	"context"

	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/pgsetup"
	"github.com/weftio/weft/transport"
)

// Importing the package builds the driver into a binary: WEFT_TRANSPORT=pgqueue
// and the WEFT_PGQUEUE_* settings.
func init() {
	config.Register(config.Driver{
		Name:     "pgqueue",
		Kind:     config.KindTransport,
		Settings: func() any { return &Config{} },
		Validate: func(s any) error { return s.(*Config).Validate() },
		Inherit:  inheritConnection,
		OpenTransport: func(ctx context.Context, s any, o config.Open) (transport.Transport, error) {
			c := *s.(*Config)
			c.Logger = o.Logger
			return New(ctx, c)
		},
	})
}

// inheritConnection lets the queue use the PostgreSQL storage's server
// when none of its own connection settings is given, so a PostgreSQL-only
// deployment configures one connection (and, in one database, gets state
// writes and messages in one transaction).
func inheritConnection(s any, storage string, from any) {
	q := s.(*Config)
	p, ok := from.(interface{ PGSettings() pgsetup.Settings })
	if storage != "postgres" || !ok {
		return
	}
	if q.URL != "" || q.User != "" || q.Password != "" || q.Host != DefaultHost ||
		q.Port != DefaultPort || q.Database != DefaultDatabase {
		return
	}
	ps := p.PGSettings()
	q.Server = ps.Server
	st := q.StatementTimeout
	q.Session = ps.Session
	q.StatementTimeout = st
}
