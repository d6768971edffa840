// Command pfexecutor is the executor the Pulsar Functions and Knative
// integration tests run: the bundled examples and the chain workflow, as a
// Pulsar Function or a Knative Service, on Redis or PostgreSQL storage.
package main

import (
	"io"

	"github.com/weftio/weft"
	"github.com/weftio/weft/app"
	_ "github.com/weftio/weft/app/knative"
	_ "github.com/weftio/weft/app/pulsarfunctions"
	"github.com/weftio/weft/examples"
	"github.com/weftio/weft/integration/internal/chain"
	_ "github.com/weftio/weft/storage/postgres"
	_ "github.com/weftio/weft/storage/redis"
)

func main() { app.Main(registry(), app.Roles("executor")) }

func registry() *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(examples.Register(reg, io.Discard))
	weft.MustRegister(chain.Register(reg, "", 0))
	return reg
}
