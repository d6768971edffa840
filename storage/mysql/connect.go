package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"
)

// Server error numbers the driver treats specially.
const (
	erDBAccessDenied    = 1044 // user may not use the database
	erAccessDenied      = 1045 // wrong user or password
	erInsecureTransport = 3159 // MySQL with require_secure_transport; MariaDB answers 1045
	erBadDB             = 1049 // unknown database
	erBadField          = 1054 // unknown column
	erDupEntry          = 1062 // duplicate key
	erTooLongPacket     = 1153 // got a packet bigger than max_allowed_packet
	erLockWaitTimeout   = 1205
	erLockDeadlock      = 1213
)

// connect opens the pool and proves the server is reachable and accepts the
// credentials, creating the database first if it is missing. The whole
// attempt is bounded by ConnectTimeout, so an unreachable server fails New
// in bounded time instead of on the first real call.
func connect(ctx context.Context, c Config, mc *mysql.Config) (*sql.DB, error) {
	ctx, cancel := context.WithTimeout(ctx, c.ConnectTimeout)
	defer cancel()
	db, err := openDB(mc)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(c.MaxOpenConns)
	db.SetMaxIdleConns(c.MaxIdleConns)
	db.SetConnMaxLifetime(c.ConnMaxLifetime)
	db.SetConnMaxIdleTime(c.ConnMaxIdleTime)

	err = db.PingContext(ctx)
	if isServerError(err, erBadDB) {
		if err = createDatabase(ctx, c, mc); err == nil {
			err = db.PingContext(ctx)
		}
	}
	if err != nil {
		db.Close()
		return nil, connectError(c, err)
	}
	return db, nil
}

func openDB(mc *mysql.Config) (*sql.DB, error) {
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("mysql: driver configuration: %w", err)
	}
	return sql.OpenDB(conn), nil
}

// createDatabase runs CREATE DATABASE on a connection without a default
// database: the pool's connections name the database at login, which fails
// while it does not exist.
func createDatabase(ctx context.Context, c Config, mc *mysql.Config) error {
	bare := mc.Clone()
	bare.DBName = ""
	db, err := openDB(bare)
	if err != nil {
		return err
	}
	defer db.Close()
	// Binary columns hold all data; the charset only affects names and
	// messages, and utf8mb4 is the one that cannot mangle them.
	_, err = db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+quote(c.Database)+" CHARACTER SET utf8mb4")
	if isServerError(err, erDBAccessDenied) {
		return fmt.Errorf("database %q does not exist and user %q may not create it (grant CREATE, or create it beforehand): %w",
			c.Database, c.User, err)
	}
	return err
}

// connectError turns a failed first contact into a message that says what
// to fix. The server's own text is kept as the wrapped cause.
func connectError(c Config, err error) error {
	addr := hostPort(c.Host, c.Port)
	var me *mysql.MySQLError
	switch {
	case isServerError(err, erAccessDenied) && c.TLS == "false":
		// The server gives the same answer when the account requires TLS
		// (REQUIRE SSL), which the connection did not use.
		return fmt.Errorf("mysql: access denied for user %q at %s: check user and password, and tls (this connection is not encrypted; the account may require TLS): %w", c.User, addr, err)
	case isServerError(err, erAccessDenied):
		return fmt.Errorf("mysql: access denied for user %q at %s: check user and password: %w", c.User, addr, err)
	case isServerError(err, erInsecureTransport):
		return fmt.Errorf("mysql: %s accepts only encrypted connections: set tls (true, with tlsCAFile if a private CA signed its certificate): %w", addr, err)
	case isServerError(err, erDBAccessDenied):
		return fmt.Errorf("mysql: user %q may not use database %q at %s: %w", c.User, c.Database, addr, err)
	case errors.As(err, &me):
		return fmt.Errorf("mysql: connect to %s: %w", addr, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("mysql: cannot reach %s within connectTimeout %v: %w", addr, c.ConnectTimeout, err)
	default:
		return fmt.Errorf("mysql: cannot reach %s: %w", addr, err)
	}
}

// isServerError reports whether err carries server error number code.
func isServerError(err error, code uint16) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == code
}

// quote backticks an identifier. Names reach here only after matching
// identifier, so this is for reserved words, not for escaping.
func quote(name string) string { return "`" + name + "`" }
