package sqs

import (
	"context"

	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/transport"
)

// Importing the package builds the driver into a binary:
// WEFT_TRANSPORT=sqs and the WEFT_SQS_* settings.
func init() {
	config.Register(config.Driver{
		Name:     "sqs",
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
