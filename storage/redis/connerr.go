package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
)

// authReplies are the starts of the server's replies to bad credentials,
// across versions: ACL users (6+), requirepass, and a password sent to a
// server that has none.
var authReplies = []string{
	"WRONGPASS",
	"NOAUTH",
	"ERR AUTH",
	"ERR invalid password",
	"ERR Client sent AUTH, but no password is set",
	"ERR invalid username-password pair",
}

// connectError turns a failed start-up into the message an operator needs:
// which server, and whether it was the network, the credentials or the
// database index. dialErr, if not nil, is the last failed dial: after a
// timeout it is the actual reason (refused, no route, bad certificate).
func connectError(ctx context.Context, r Config, err error, dialErr *error) error {
	msg := err.Error()
	for _, p := range authReplies {
		// go-redis prefixes its own text ("failed to authenticate: "), so
		// look anywhere in the message.
		if strings.Contains(msg, p) {
			return fmt.Errorf("redis: authentication failed for user %q at %s: %w", r.user(), r.addr(), err)
		}
	}
	if strings.Contains(msg, "DB index is out of range") {
		return fmt.Errorf("redis: database %d does not exist at %s (see the server's `databases` setting): %w", r.Database, r.addr(), err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if dialErr != nil {
			return fmt.Errorf("redis: cannot reach %s within dialTimeout %v: %w (%w)", r.addr(), r.DialTimeout, *dialErr, err)
		}
		return fmt.Errorf("redis: cannot reach %s within dialTimeout %v: %w", r.addr(), r.DialTimeout, err)
	}
	if !r.TLS && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		// A TLS-only server hangs up on a client that speaks plain text.
		return fmt.Errorf("redis: %s closed the connection (does it accept only TLS? use rediss:// or tls: true): %w", r.addr(), err)
	}
	return fmt.Errorf("redis: cannot reach %s: %w", r.addr(), err)
}
