package pgqueue

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
