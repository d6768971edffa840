package bootstrap

import (
	"os"

	"errors"

	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/sinks"
)

// EventSink returns the configured lifecycle-event sink: WEFT_EVENTS_SINK,
// else $K_SINK (a Knative SinkBinding's target) in a binary that has the
// HTTP sink, else none (nil). Every role of a Knative deployment sees
// K_SINK (its Broker); only the event listener's binary hands it events.
func EventSink(cfg *config.Config) (functions.EventSink, error) {
	open := sinks.HTTP()
	url := cfg.Events.Sink
	if url == "" && open != nil {
		url = os.Getenv("K_SINK")
	}
	if url == "" {
		return nil, nil
	}
	if open == nil {
		return nil, errors.New("WEFT_EVENTS_SINK: the HTTP event sink is not built into this binary: " +
			`import _ "github.com/weftio/weft/adapters/eventsink" in its main package`)
	}
	return open(url, cfg.Events.Timeout)
}
