package knative

import (
	"context"

	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/transport"
)

// Importing the package builds the driver into a binary:
// WEFT_TRANSPORT=knative and the WEFT_KNATIVE_* settings.
func init() {
	config.Register(config.Driver{
		Name:     "knative",
		Kind:     config.KindTransport,
		Settings: func() any { return &Config{} },
		Validate: func(s any) error { return s.(*Config).Validate() },
		OpenTransport: func(ctx context.Context, s any, o config.Open) (transport.Transport, error) {
			c := *s.(*Config)
			c.Logger, c.Store, c.Tags = o.Logger, o.Store, o.Tags
			return New(ctx, c)
		},
	})
}
