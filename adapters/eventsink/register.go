package eventsink

import "github.com/weftio/weft/internal/sinks"

// Importing the package builds the HTTP sink into a binary, for
// WEFT_EVENTS_SINK and $K_SINK.
func init() { sinks.Register(HTTP) }
