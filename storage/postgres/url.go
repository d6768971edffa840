package postgres

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ParseURL turns a postgres:// (or postgresql://) URL into the Config New
// would use for Config{URL: s}: the URL's parts, defaults for the rest, and
// URL kept as s. It accepts what libpq accepts in a single-host URL. The
// parameters host, port, user, password, dbname, sslmode, sslrootcert,
// connect_timeout (whole seconds, at least 1), statement_timeout
// (milliseconds or a Go duration), pool_max_conns, pool_min_conns,
// pool_max_conn_lifetime and pool_max_conn_idle_time (Go durations) become
// fields; any other parameter (application_name, target_session_attrs,
// sslcert, ...) is passed to pgx as given.
func ParseURL(s string) (Config, error) {
	c, _, err := Config{URL: s}.resolve()
	if err != nil {
		return Config{}, err
	}
	return c, nil
}

// urlSettings is what a URL says, with "set" flags for the parts it names,
// which win over the fields, and extra for the parameters passed to pgx.
type urlSettings struct {
	extra map[string]string

	host, user, password, database   string
	port                             int
	sslMode, sslRootCert             string
	connectTimeout, statementTimeout time.Duration
	maxConnLifetime, maxConnIdleTime time.Duration
	maxConns, minConns               int

	hasHost, hasPort, hasUser, hasPassword, hasDatabase bool
	hasSSLMode, hasSSLRootCert                          bool
	hasConnectTimeout, hasStatementTimeout              bool
	hasMaxConnLifetime, hasMaxConnIdleTime              bool
	hasMaxConns, hasMinConns                            bool
}

// parseURL checks s and extracts its settings. Errors never quote the URL,
// which may hold a password.
func parseURL(s string) (urlSettings, error) {
	var r urlSettings
	u, err := url.Parse(s)
	if err != nil {
		// url.Error quotes the input, and an EscapeError part of it (maybe
		// of the password); report the cause only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var ee url.EscapeError
		if errors.As(err, &ee) {
			err = errors.New("invalid %-escape (write a literal % as %25)")
		}
		return r, fmt.Errorf("not a valid URL: %v", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return r, fmt.Errorf("scheme %q: want postgres:// or postgresql://", u.Scheme)
	}
	if u.Opaque != "" {
		return r, errors.New("want postgres://host... (missing //)")
	}
	if strings.Contains(u.Host, ",") {
		return r, errors.New("several hosts are not supported; give one host")
	}
	if u.Host != "" {
		r.host, r.hasHost = u.Hostname(), true
		if p := u.Port(); p != "" {
			if r.port, err = parsePort(p); err != nil {
				return r, err
			}
			r.hasPort = true
		}
	}
	if u.User != nil {
		r.user, r.hasUser = u.User.Username(), true
		r.password, r.hasPassword = u.User.Password()
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		r.database, r.hasDatabase = db, true
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return r, fmt.Errorf("query: %v", err)
	}
	for name, vs := range q {
		v := vs[len(vs)-1]
		switch name {
		case "host":
			if strings.Contains(v, ",") {
				return r, errors.New("several hosts are not supported; give one host")
			}
			r.host, r.hasHost = v, true
		case "port":
			if r.port, err = parsePort(v); err != nil {
				return r, err
			}
			r.hasPort = true
		case "user":
			r.user, r.hasUser = v, true
		case "password":
			r.password, r.hasPassword = v, true
		case "dbname":
			r.database, r.hasDatabase = v, true
		case "sslmode":
			if !validSSLMode(v) {
				return r, fmt.Errorf("sslmode %q is not one of %s", v, strings.Join(sslModes, ", "))
			}
			r.sslMode, r.hasSSLMode = v, true
		case "sslrootcert":
			r.sslRootCert, r.hasSSLRootCert = v, true
		case "connect_timeout":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				// libpq reads 0 as "wait for ever"; weft always bounds connecting.
				return r, fmt.Errorf("connect_timeout %q: want whole seconds, at least 1", v)
			}
			r.connectTimeout, r.hasConnectTimeout = time.Duration(n)*time.Second, true
		case "statement_timeout":
			d, err := parseMillisOrDuration(v)
			if err != nil {
				return r, fmt.Errorf("statement_timeout %q: %v", v, err)
			}
			r.statementTimeout, r.hasStatementTimeout = d, true
		case "pool_max_conns", "pool_min_conns":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return r, fmt.Errorf("%s %q: want a whole number", name, v)
			}
			if name == "pool_max_conns" {
				if n < 1 {
					return r, fmt.Errorf("pool_max_conns %q: must be at least 1", v)
				}
				r.maxConns, r.hasMaxConns = n, true
			} else {
				r.minConns, r.hasMinConns = n, true
			}
		case "pool_max_conn_lifetime", "pool_max_conn_idle_time":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return r, fmt.Errorf("%s %q: want a duration such as 30m", name, v)
			}
			if name == "pool_max_conn_lifetime" {
				r.maxConnLifetime, r.hasMaxConnLifetime = d, true
			} else {
				r.maxConnIdleTime, r.hasMaxConnIdleTime = d, true
			}
		default:
			// Passed on as a keyword setting, so the name must be a plain
			// word: anything else could smuggle in other settings.
			if checkIdent(name) != nil {
				return r, fmt.Errorf("parameter name %q is not a plain word", name)
			}
			if r.extra == nil {
				r.extra = map[string]string{}
			}
			r.extra[name] = v
		}
	}
	return r, nil
}

// apply copies the URL's settings over c's fields.
func (r urlSettings) apply(c *Config) {
	if r.hasHost {
		c.Host = r.host
	}
	if r.hasPort {
		c.Port = r.port
	}
	if r.hasUser {
		c.User = r.user
	}
	if r.hasPassword {
		c.Password = r.password
	}
	if r.hasDatabase {
		c.Database = r.database
	}
	if r.hasSSLMode {
		c.SSLMode = r.sslMode
	}
	if r.hasSSLRootCert {
		c.SSLRootCert = r.sslRootCert
	}
	if r.hasConnectTimeout {
		c.ConnectTimeout = r.connectTimeout
	}
	if r.hasStatementTimeout {
		c.StatementTimeout = r.statementTimeout
	}
	if r.hasMaxConns {
		c.MaxConns = r.maxConns
	}
	if r.hasMinConns {
		c.MinConns = r.minConns
	}
	if r.hasMaxConnLifetime {
		c.MaxConnLifetime = r.maxConnLifetime
	}
	if r.hasMaxConnIdleTime {
		c.MaxConnIdleTime = r.maxConnIdleTime
	}
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q is not a TCP port (1-65535)", s)
	}
	return n, nil
}

// parseMillisOrDuration reads PostgreSQL's unit-less milliseconds or a Go
// duration; either way New sends the server whole milliseconds, so the two
// unit systems never meet.
func parseMillisOrDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("want milliseconds or a duration such as 5s")
	}
	return d, nil
}

// redactURL masks the password in a URL, whether in the user info (as
// url.URL.Redacted does) or in a password parameter; an unparseable URL is
// not printed at all.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<invalid URL>"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
