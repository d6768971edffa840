// Command weft is the weft CLI on the bundled examples: the demo, the dev
// server, the roles as a worker, and the commands that drive a dev server.
// A program of one's own gets the same commands on its own code through
// app.Main.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/weftio/weft"
	"github.com/weftio/weft/examples"
	"github.com/weftio/weft/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli.Run(ctx, program, os.Args[1:], os.Stdout, os.Stderr))
}

var program = cli.Program{Name: "weft", Registry: examplesRegistry, Demo: examples.RunAll}

func examplesRegistry(out io.Writer) (*weft.Registry, error) {
	reg := weft.NewRegistry()
	return reg, examples.Register(reg, out)
}
