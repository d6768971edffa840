// Command greeter runs the greeter's service and workflow with weft's
// roles: as a worker on the configured transport and storage
// (WEFT_TRANSPORT, WEFT_STORAGE, ...), or as a Pulsar Function when the
// functions worker starts it. `greeter dev`, `greeter worker` and
// `greeter replay` are the weft commands on its code.
package main

import (
	"fmt"
	"os"

	"github.com/weftio/weft"
	"github.com/weftio/weft/app"
	"github.com/weftio/weft/examples/greeter"

	// The backends this program may run on; a binary links only these.
	_ "github.com/weftio/weft/app/pulsarfunctions" // the Pulsar transport and the Pulsar Functions runtime
	_ "github.com/weftio/weft/storage/postgres"
	_ "github.com/weftio/weft/storage/redis"
)

func main() {
	reg := weft.NewRegistry()
	if err := greeter.Register(reg); err != nil {
		fmt.Fprintln(os.Stderr, "greeter:", err)
		os.Exit(1)
	}
	app.Main(reg)
}
