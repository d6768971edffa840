// Command demo runs the examples on the embedded runtime.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/examples"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg := weft.NewRegistry()
	if err := examples.Register(reg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rt, err := embedded.Start(ctx, reg, embedded.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = examples.RunAll(ctx, rt.Client(), os.Stdout)
	if serr := rt.Stop(); err == nil {
		err = serr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}
