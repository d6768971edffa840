// Command executor runs weft's executor role on the bundled examples' code.
//
// It is the template of an executor of one's own: copy this file, register
// your services and workflows instead of the examples, and import the
// drivers your deployment uses in place of functions/internal/linked, e.g.
//
//	_ "github.com/weftio/weft/storage/postgres"        // WEFT_STORAGE=postgres
//	_ "github.com/weftio/weft/transport/pgqueue"       // WEFT_TRANSPORT=pgqueue
//	_ "github.com/weftio/weft/app/pulsarfunctions"     // run as a Pulsar Function
//
// The executor needs the states' storage as well as the broker: it reads
// the history pages a workflow task names from it.
package main

import (
	"io"

	"github.com/weftio/weft"
	"github.com/weftio/weft/app"
	"github.com/weftio/weft/examples"
	_ "github.com/weftio/weft/functions/internal/linked"
)

func main() {
	reg := weft.NewRegistry()
	if err := examples.Register(reg, io.Discard); err != nil {
		panic(err) // the examples register cleanly; anything else is a bug
	}
	app.Main(reg, app.Roles("executor"))
}
