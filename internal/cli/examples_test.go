package cli

import (
	"context"
	"io"

	"github.com/weftio/weft"
	"github.com/weftio/weft/examples"
	// Every driver, as in the weft binary.
	_ "github.com/weftio/weft/adapters/eventsink"
	_ "github.com/weftio/weft/app/knative"
	_ "github.com/weftio/weft/storage/mysql"
	_ "github.com/weftio/weft/storage/postgres"
	_ "github.com/weftio/weft/storage/redis"
	_ "github.com/weftio/weft/transport/pgqueue"
	_ "github.com/weftio/weft/transport/pulsar"
)

// examplesProgram is the weft command's program.
var examplesProgram = Program{Name: "weft", Demo: examples.RunAll, Registry: func(out io.Writer) (*weft.Registry, error) {
	reg := weft.NewRegistry()
	return reg, examples.Register(reg, out)
}}

// run is the weft command on args.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return Run(ctx, examplesProgram, args, stdout, stderr)
}
