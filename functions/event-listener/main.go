// Command event-listener runs weft's event-listener role and nothing else. It needs no user
// code: the workflows and services it serves come from WEFT_WORKFLOWS and
// WEFT_SERVICES (a Pulsar Function's deployment sets them). Which drivers
// it links is chosen by build tags (see functions/internal/linked).
package main

import (
	_ "github.com/weftio/weft/adapters/eventsink" // hands events to WEFT_EVENTS_SINK
	"github.com/weftio/weft/app"
	_ "github.com/weftio/weft/functions/internal/linked"
)

func main() { app.Main(nil, app.Roles("event-listener")) }
