// Command weft-linkfix prepares the build of a binary that links the
// Pulsar client with reflect2's fix (see internal/linkfix), which lets the
// linker drop the methods the binary never calls, and prints the go build
// flags that use it (none when the build needs none). Run it in the
// module being built:
//
//	go build $(go run github.com/weftio/weft/cmd/weft-linkfix -dir .linkfix) -o greeter .
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/weftio/weft/internal/linkfix"
)

func main() {
	dir := flag.String("dir", "", "folder to prepare the build in (required)")
	module := flag.String("module", ".", "folder of the module being built")
	flag.Parse()
	if *dir == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: weft-linkfix -dir FOLDER [-module FOLDER]")
		os.Exit(2)
	}
	flags, err := linkfix.BuildFlags(context.Background(), *module, *dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "weft-linkfix:", err)
		os.Exit(1)
	}
	fmt.Println(strings.Join(flags, " "))
}
