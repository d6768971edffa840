// Command pfexecutor is the executor the Pulsar Functions, Knative and
// Lambda integration tests run: the bundled examples and the chain workflow, as a
// Pulsar Function or a Knative Service, on Redis or PostgreSQL storage.
package main

import (
	"io"
	"os"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/app"
	_ "github.com/weftio/weft/app/knative"
	_ "github.com/weftio/weft/app/lambda"
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
	// WEFT_TEST_CHAIN_PAUSE makes each chain task take that long.
	pause, _ := time.ParseDuration(os.Getenv("WEFT_TEST_CHAIN_PAUSE"))
	weft.MustRegister(chain.Register(reg, "", pause))
	return reg
}
