package mysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"

	"github.com/go-sql-driver/mysql"
	"github.com/weftio/weft/storage"
)

// ErrTooLarge is returned (wrapped, with the sizes) for a value or member
// larger than the server's max_allowed_packet allows. Nothing is sent: a
// packet over the limit would make the server drop the connection.
var ErrTooLarge = fmt.Errorf("mysql: too large for the server's max_allowed_packet: %w", storage.ErrTooLarge)

// fail wraps an operation's error for the caller. The storage sentinels
// and context errors stay matchable with errors.Is; once the store is
// closed, whatever a racing call hit is reported as storage.ErrClosed.
func (s *Store) fail(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrVersionConflict):
		return err
	case s.closed.Load() && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		return storage.ErrClosed
	case isServerError(err, erTooLongPacket):
		// Writes are checked against the limit read at New, so the server's
		// max_allowed_packet was lowered since.
		return fmt.Errorf("mysql: %s: %w (lowered on the server since startup?): %w", op, ErrTooLarge, err)
	}
	if connectionLost(err) {
		// Say where to, since the driver's "invalid connection" does not.
		return fmt.Errorf("mysql: %s: connection to %s: %w", op, hostPort(s.cfg.Host, s.cfg.Port), err)
	}
	return fmt.Errorf("mysql: %s: %w", op, err)
}

// connectionLost reports errors of the connection rather than answers of
// the server: a dropped or refused connection, or a network timeout.
func connectionLost(err error) bool {
	var ne net.Error
	return errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) || errors.As(err, &ne)
}
