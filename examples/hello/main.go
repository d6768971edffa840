// Command hello greets a name through a durable workflow on the embedded
// runtime: every role in this one process, in memory.
//
//	go run ./examples/hello World
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/examples/greeter"
)

func main() {
	name := "World"
	if len(os.Args) > 1 {
		name = os.Args[1]
	}
	if err := run(name); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}

func run(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg := weft.NewRegistry()
	if err := greeter.Register(reg); err != nil {
		return err
	}
	rt, err := embedded.Start(ctx, reg, embedded.Options{})
	if err != nil {
		return err
	}
	defer rt.Stop()
	h, err := client.Dispatch(ctx, rt.Client(), greeter.Greeting, name)
	if err != nil {
		return err
	}
	greeting, err := h.Await(ctx)
	if err != nil {
		return err
	}
	fmt.Println(greeting)
	return nil
}
