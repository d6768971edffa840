package pgqueue

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftio/weft/internal/pgsetup"
)

// Listener timing. The health check matters for connections that die
// silently (no RST), where waiting for a notification would never fail.
const (
	listenerHealthCheck = 30 * time.Second
	listenerMinBackoff  = 100 * time.Millisecond
	listenerMaxBackoff  = 5 * time.Second
)

// listener holds the dedicated LISTEN connection. Pooled connections cannot
// listen: a notification arrives on the session that asked for it, and the
// pool hands sessions out to anyone.
type listener struct {
	conn    *pgx.ConnConfig
	channel string
	log     *slog.Logger
	// notified receives each payload; reconnected runs after every
	// (re)connection, since notifications sent meanwhile are lost.
	notified    func(payload string)
	reconnected func()

	healthy  atomic.Bool
	lastSeen atomic.Int64 // unix nanoseconds of the last notification or (re)connection
	pid      atomic.Uint32
}

// run keeps a listening connection until ctx ends, reconnecting with
// backoff whenever it is lost.
func (l *listener) run(ctx context.Context) {
	backoff := listenerMinBackoff
	for {
		start := time.Now()
		err := l.session(ctx)
		l.healthy.Store(false)
		l.pid.Store(0)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > listenerMaxBackoff {
			backoff = listenerMinBackoff // it was up for a while: a fresh failure
		}
		l.log.Warn("pgqueue: listener connection lost; reconnecting", "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, listenerMaxBackoff)
	}
}

// session connects, listens and dispatches notifications until the
// connection fails or ctx ends.
func (l *listener) session(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, connectTimeoutOf(l.conn))
	conn, err := pgx.ConnectConfig(cctx, l.conn)
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgsetup.QuoteIdent(l.channel)); err != nil {
		return err
	}
	l.pid.Store(conn.PgConn().PID())
	l.lastSeen.Store(time.Now().UnixNano())
	l.healthy.Store(true)
	l.reconnected()
	for {
		wctx, cancel := context.WithTimeout(ctx, listenerHealthCheck)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			l.lastSeen.Store(time.Now().UnixNano())
			l.notified(n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Quiet for a while: prove the connection still works.
			pctx, cancel := context.WithTimeout(ctx, connectTimeoutOf(l.conn))
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// quiet reports whether hybrid mode should poll: the listener is down or
// has not heard anything for threshold.
func (l *listener) quiet(threshold time.Duration) bool {
	if !l.healthy.Load() {
		return true
	}
	return time.Since(time.Unix(0, l.lastSeen.Load())) >= threshold
}

func connectTimeoutOf(c *pgx.ConnConfig) time.Duration {
	if c.ConnectTimeout > 0 {
		return c.ConnectTimeout
	}
	return DefaultConnectTimeout
}
