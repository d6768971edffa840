package pfdeploy

import (
	"context"
	"fmt"

	"github.com/weftio/weft/transport/pulsar"
)

// ensureNamespace opens the transport the functions will run on once: with
// an admin URL it creates the topics' tenant and namespace when missing,
// with the retention that keeps a message published before its first
// subscription, so a first deploy needs no step by hand (and the broker
// is known to answer before any function is created).
func ensureNamespace(ctx context.Context, pc *pulsar.Config) error {
	tr, err := pulsar.New(ctx, *pc)
	if err != nil {
		return fmt.Errorf("prepare namespace %s/%s: %w", pc.Tenant, pc.Namespace, err)
	}
	return tr.Close()
}
