package pulsar

import (
	"context"

	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/transport"
)

// Importing the package builds the driver into a binary: WEFT_TRANSPORT=pulsar
// and the WEFT_PULSAR_* settings.
func init() {
	config.Register(config.Driver{
		Name:     "pulsar",
		Kind:     config.KindTransport,
		Settings: func() any { return &Config{} },
		Validate: func(s any) error { return s.(*Config).Validate() },
		OpenTransport: func(ctx context.Context, s any, o config.Open) (transport.Transport, error) {
			c := *s.(*Config)
			c.Logger = o.Logger
			return New(ctx, c)
		},
	})
}
