package pgqueue

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// poolConfig turns an effective, validated Config and the URL's extra
// parameters into pgx's pool configuration. The connection settings go
// through pgx's own parser so sslmode and sslrootcert behave as in libpq.
func poolConfig(c Config, extra map[string]string) (*pgxpool.Config, error) {
	pc, err := pgxpool.ParseConfig(keywordDSN(c, extra))
	if err != nil {
		// pgx's parse errors may quote the connection string, password
		// included; report the cause without it.
		return nil, fmt.Errorf("pgqueue: connection settings: %s", redactParseError(err))
	}
	pc.MaxConns = int32(min(c.MaxConns, math.MaxInt32))
	pc.MinConns = int32(min(c.MinConns, math.MaxInt32))
	pc.MaxConnLifetime = c.MaxConnLifetime
	pc.MaxConnIdleTime = c.MaxConnIdleTime
	pc.ConnConfig.ConnectTimeout = c.ConnectTimeout
	if c.StatementTimeout > 0 {
		// Whole milliseconds, PostgreSQL's unit-less number; a positive
		// timeout below 1 ms must not become 0 (= no limit).
		pc.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(max(c.StatementTimeout.Milliseconds(), 1), 10)
	}
	if _, ok := pc.ConnConfig.RuntimeParams["application_name"]; !ok {
		pc.ConnConfig.RuntimeParams["application_name"] = "weft pgqueue"
	}
	return pc, nil
}

// keywordDSN renders the settings as a libpq keyword/value string, quoting
// every value. extra (the URL's other parameters, names already checked to
// be plain words) comes first so it can never override the resolved
// settings.
func keywordDSN(c Config, extra map[string]string) string {
	var b strings.Builder
	quote := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	kv := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteString("='")
		b.WriteString(quote.Replace(v))
		b.WriteByte('\'')
	}
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		kv(k, extra[k])
	}
	kv("host", c.Host)
	kv("port", strconv.Itoa(c.Port))
	kv("dbname", c.Database)
	kv("sslmode", c.SSLMode)
	// Unset user and password are left out so pgx falls back as libpq does.
	if c.User != "" {
		kv("user", c.User)
	}
	if c.Password != "" {
		kv("password", c.Password)
	}
	if c.SSLRootCert != "" {
		kv("sslrootcert", c.SSLRootCert)
	}
	return b.String()
}

// redactParseError keeps pgx's explanation of a bad setting but not the
// connection string it echoes.
func redactParseError(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		msg := "invalid setting"
		// ParseConfigError's message is "cannot parse `<conn>`: <msg> (<err>)".
		if s := pe.Error(); s != "" {
			if i := strings.LastIndex(s, "`: "); i >= 0 {
				msg = s[i+3:]
			}
		}
		return msg
	}
	return err.Error()
}

// connect opens the pool and proves the server is reachable and accepts the
// credentials within the connect timeout, so a wrong host or password fails
// New instead of the first Receive.
func connect(ctx context.Context, pc *pgxpool.Config) (*pgxpool.Pool, error) {
	addr := serverAddr(pc.ConnConfig.Host, pc.ConnConfig.Port)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pgqueue: connect to %s: %w", addr, err)
	}
	timeout := pc.ConnConfig.ConnectTimeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := pool.Acquire(pctx)
	if err == nil {
		conn.Release()
		return pool, nil
	}
	pool.Close()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("pgqueue: connect to %s: %w", addr, ctx.Err())
	}
	return nil, connectError(addr, pc.ConnConfig.User, pc.ConnConfig.Database, timeout, err)
}

func serverAddr(host string, port uint16) string {
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// connectError turns pgx's connection failure into one line that says what
// to fix, keeping the original error wrapped for errors.As.
func connectError(addr, user, database string, timeout time.Duration, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01":
			return fmt.Errorf("pgqueue: %s: password authentication failed for user %q (check user and password): %w", addr, user, err)
		case "28000":
			return fmt.Errorf("pgqueue: %s: authentication failed for user %q: %s: %w", addr, user, pgErr.Message, err)
		case "3D000":
			return fmt.Errorf("pgqueue: %s: database %q does not exist (create it first): %w", addr, database, err)
		case "42501":
			return fmt.Errorf("pgqueue: %s: user %q may not connect to database %q: %w", addr, user, database, err)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return fmt.Errorf("pgqueue: cannot connect to %s within %v (is the server up and reachable?): %w", addr, timeout, err)
	}
	return fmt.Errorf("pgqueue: cannot connect to %s: %w", addr, err)
}
