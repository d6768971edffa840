package pgsetup

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

// Driver is what differs between the drivers that connect through this
// package.
type Driver struct {
	// Name starts every error ("postgres", "pgqueue").
	Name string
	// AppName is the application_name the connections send unless the
	// URL names another.
	AppName string
	// Check, if not nil, vets the server on the connection Connect opens
	// first; its error fails Connect.
	Check func(*pgconn.PgConn) error
}

// Open connects with effective, validated settings and the URL's extra
// parameters: PoolConfig, then Connect.
func (d Driver) Open(ctx context.Context, s Settings, extra map[string]string) (*pgxpool.Pool, error) {
	pc, err := d.PoolConfig(s, extra)
	if err != nil {
		return nil, err
	}
	return d.Connect(ctx, pc)
}

// PoolConfig turns effective, validated settings and the URL's extra
// parameters into pgx's pool configuration. The connection settings go
// through pgx's own parser so sslmode (including prefer's plaintext
// fallback) and sslrootcert behave exactly as in libpq.
func (d Driver) PoolConfig(s Settings, extra map[string]string) (*pgxpool.Config, error) {
	pc, err := pgxpool.ParseConfig(keywordDSN(s, extra))
	if err != nil {
		// pgx's parse errors may quote the connection string, password
		// included; report the cause without it.
		return nil, fmt.Errorf("%s: connection settings: %s", d.Name, redactParseError(err))
	}
	pc.MaxConns = int32(min(s.MaxConns, math.MaxInt32))
	pc.MinConns = int32(min(s.MinConns, math.MaxInt32))
	pc.MaxConnLifetime = s.MaxConnLifetime
	pc.MaxConnIdleTime = s.MaxConnIdleTime
	pc.ConnConfig.ConnectTimeout = s.ConnectTimeout
	if s.StatementTimeout > 0 {
		// Always whole milliseconds: PostgreSQL's unit-less number. A
		// positive timeout below 1 ms must not become 0 (= no limit).
		pc.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(max(s.StatementTimeout.Milliseconds(), 1), 10)
	}
	if _, ok := pc.ConnConfig.RuntimeParams["application_name"]; !ok {
		pc.ConnConfig.RuntimeParams["application_name"] = d.AppName
	}
	return pc, nil
}

// keywordDSN renders the settings as a libpq keyword/value string, quoting
// every value so spaces, quotes and backslashes survive. extra (the URL's
// other parameters, names already checked to be plain words) comes first so
// it can never override the settings weft resolved.
func keywordDSN(s Settings, extra map[string]string) string {
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
	kv("host", s.Host)
	kv("port", strconv.Itoa(s.Port))
	kv("dbname", s.Database)
	kv("sslmode", s.SSLMode)
	// Unset user and password are left out so pgx falls back as libpq
	// does (OS user; PGPASSWORD or ~/.pgpass).
	if s.User != "" {
		kv("user", s.User)
	}
	if s.Password != "" {
		kv("password", s.Password)
	}
	if s.SSLRootCert != "" {
		kv("sslrootcert", s.SSLRootCert)
	}
	if s.SSLCert != "" {
		kv("sslcert", s.SSLCert)
		kv("sslkey", s.SSLKey)
	}
	return b.String()
}

// redactParseError keeps pgx's explanation of a bad setting but not the
// connection string it echoes.
func redactParseError(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		msg := "invalid setting"
		if s := pe.Error(); s != "" {
			// ParseConfigError's message is "cannot parse `<conn>`: <msg> (<err>)".
			if i := strings.LastIndex(s, "`: "); i >= 0 {
				msg = s[i+3:]
			}
		}
		return msg
	}
	return err.Error()
}

// Connect opens the pool and proves the server is reachable and accepts the
// credentials (and passes Check), all within the connect timeout, so a wrong
// host or password fails the driver's constructor instead of its first
// operation. An unreachable server gives an error naming host:port;
// rejected credentials give "password authentication failed for user ...".
func (d Driver) Connect(ctx context.Context, pc *pgxpool.Config) (*pgxpool.Pool, error) {
	addr := net.JoinHostPort(pc.ConnConfig.Host, strconv.Itoa(int(pc.ConnConfig.Port)))
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("%s: connect to %s: %w", d.Name, addr, err)
	}
	timeout := pc.ConnConfig.ConnectTimeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := pool.Acquire(pctx)
	if err == nil {
		if d.Check != nil {
			err = d.Check(conn.Conn().PgConn())
		}
		conn.Release()
	}
	if err != nil {
		pool.Close()
		if ctx.Err() != nil {
			// The caller gave up; that, not the server, is the reason.
			return nil, fmt.Errorf("%s: connect to %s: %w", d.Name, addr, ctx.Err())
		}
		return nil, d.connectError(addr, pc.ConnConfig.User, pc.ConnConfig.Database, timeout, err)
	}
	return pool, nil
}

// connectError turns pgx's connection failure into one line that says what
// to fix, keeping the original error wrapped for errors.As.
func (d Driver) connectError(addr, user, database string, timeout time.Duration, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01":
			return fmt.Errorf("%s: %s: password authentication failed for user %q (check user and password): %w", d.Name, addr, user, err)
		case "28000":
			return fmt.Errorf("%s: %s: authentication failed for user %q: %s: %w", d.Name, addr, user, pgErr.Message, err)
		case "3D000":
			return fmt.Errorf("%s: %s: database %q does not exist (create it first): %w", d.Name, addr, database, err)
		case "42501":
			return fmt.Errorf("%s: %s: user %q may not connect to database %q: %w", d.Name, addr, user, database, err)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return fmt.Errorf("%s: cannot connect to %s within %v (is the server up and reachable?): %w", d.Name, addr, timeout, err)
	}
	return fmt.Errorf("%s: cannot connect to %s: %w", d.Name, addr, err)
}

// TxDomain is the normalised name of a PostgreSQL database that
// transactional peers (the storage driver and the queue transport) compare:
// "postgres://host:port/database", lower-case host, explicit port; no user,
// password or parameters.
func TxDomain(host string, port int, database string) string {
	if port == 0 {
		port = DefaultPort
	}
	return fmt.Sprintf("postgres://%s:%d/%s", strings.ToLower(host), port, database)
}
