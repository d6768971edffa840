package pgqueue

import "time"

// ListenerPID is the server process of t's listener connection (0 while it
// is not connected, and in PollingOnly mode), for tests that cut it.
func ListenerPID(t *Transport) uint32 {
	if t.listener == nil {
		return 0
	}
	return t.listener.pid.Load()
}

// HasListener reports whether t runs a listener at all.
func HasListener(t *Transport) bool { return t.listener != nil }

// StopRenewing stops t's renewal of held claims, as if its process stalled
// or lost the database while keeping its deliveries: they lapse after the
// visibility timeout, and settling them then reports ErrClaimLost.
func StopRenewing(t *Transport) { t.stopLeases() }

// Crash stops t the way a killed process stops: nothing is renewed or
// released any more (its claims lapse after the visibility timeout), and
// its connections go away. Later calls on t report transport.ErrClosed.
func Crash(t *Transport) error {
	t.cancel() // before Close: Subscription.Close releases only while t.ctx lives
	return t.Close()
}

// HeldClaims is how many of t's deliveries have their claims renewed.
func HeldClaims(t *Transport) int { return t.leases.count() }

// RenewalTimeliness is the longest time t's held claims waited for a
// renewal round that came (a claim may lapse only when that reaches the
// visibility timeout: the machine not keeping up), and how many rounds have
// renewed claims so far.
func RenewalTimeliness(t *Transport) (longestGap time.Duration, rounds int) {
	return t.leases.timeliness()
}
