// Package sinks is where the HTTP lifecycle-event sink registers itself,
// so a binary that hands no events to a sink does not link the CloudEvents
// HTTP client (adapters/eventsink registers it when imported).
package sinks

import (
	"sync"
	"time"

	"github.com/weftio/weft/functions"
)

// Opener connects to the sink at url, bounding each delivery by timeout.
type Opener func(url string, timeout time.Duration) (functions.EventSink, error)

var (
	mu   sync.RWMutex
	open Opener
)

// Register sets the opener; the last registration wins.
func Register(o Opener) {
	mu.Lock()
	open = o
	mu.Unlock()
}

// HTTP returns the registered opener, or nil when none is linked.
func HTTP() Opener {
	mu.RLock()
	defer mu.RUnlock()
	return open
}
