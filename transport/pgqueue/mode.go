package pgqueue

import (
	"fmt"
	"strings"
)

// Mode selects how waiting subscriptions learn about new work.
type Mode string

// The wake-up modes, as in Tasker Core.
const (
	// Hybrid listens for notifications and also polls every PollInterval
	// whenever the listener is down or has seen no notification for
	// FallbackThreshold. It is the default.
	Hybrid Mode = "hybrid"
	// EventDrivenOnly relies on LISTEN/NOTIFY and on timers for delayed
	// messages and redeliveries. It never polls, except that a waiting
	// subscription looks again once per VisibilityTimeout, so a message
	// claimed by a consumer that died is redelivered even if no other event
	// comes.
	EventDrivenOnly Mode = "event-driven-only"
	// PollingOnly opens no listener connection and looks for work every
	// PollInterval (and at the instants delayed messages fall due). It works
	// where LISTEN does not, e.g. behind a transaction-pooling proxy.
	PollingOnly Mode = "polling-only"
)

// parseMode accepts the documented names and their CamelCase and snake_case
// spellings, case-insensitively ("EventDrivenOnly", "event_driven_only").
func parseMode(s string) (Mode, error) {
	norm := strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(s))
	switch norm {
	case "", "hybrid":
		return Hybrid, nil
	case "eventdrivenonly", "eventdriven":
		return EventDrivenOnly, nil
	case "pollingonly", "polling":
		return PollingOnly, nil
	}
	return "", fmt.Errorf("%q is not one of %s, %s, %s", s, Hybrid, EventDrivenOnly, PollingOnly)
}
