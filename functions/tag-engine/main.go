// Command tag-engine runs weft's tag-engine role and nothing else. It needs no user
// code: the workflows and services it serves come from WEFT_WORKFLOWS and
// WEFT_SERVICES (a Pulsar Function's deployment sets them). Which drivers
// it links is chosen by build tags (see functions/internal/linked).
package main

import (
	"github.com/weftio/weft/app"
	_ "github.com/weftio/weft/functions/internal/linked"
)

func main() { app.Main(nil, app.Roles("tag-engine")) }
