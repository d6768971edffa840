package bootstrap

import (
	"os"

	"github.com/weftio/weft/adapters/eventsink"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/internal/config"
)

// EventSink returns the configured lifecycle-event sink: WEFT_EVENTS_SINK,
// else $K_SINK (a Knative SinkBinding's target), else none (nil).
func EventSink(cfg *config.Config) (functions.EventSink, error) {
	url := cfg.Events.Sink
	if url == "" {
		url = os.Getenv("K_SINK")
	}
	if url == "" {
		return nil, nil
	}
	return eventsink.HTTP(url, cfg.Events.Timeout)
}
