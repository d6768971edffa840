package pgqueue

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
// URL kept as s. Besides what libpq accepts in a single-host URL, these
// parameters become fields:
//
//	host, port, user, password, dbname, sslmode, sslrootcert
//	connect_timeout          whole seconds, at least 1
//	statement_timeout        milliseconds or a Go duration
//	pool_max_conns, pool_min_conns
//	pool_max_conn_lifetime, pool_max_conn_idle_time    Go durations
//	schema, table_prefix
//	mode                     hybrid, event-driven-only or polling-only
//	poll_interval, fallback_threshold, visibility_timeout   Go durations
//	max_message_size         bytes
//
// Any other parameter (application_name, sslcert, ...) is passed to pgx as
// given.
func ParseURL(s string) (Config, error) {
	c, _, err := Config{URL: s}.resolve()
	if err != nil {
		return Config{}, err
	}
	return c, nil
}

// urlSettings is what a URL says: apply copies each part it names over the
// fields; extra holds the parameters passed to pgx.
type urlSettings struct {
	extra map[string]string
	set   []func(*Config)
}

func (r urlSettings) apply(c *Config) {
	for _, f := range r.set {
		f(c)
	}
}

// parseURL checks s and extracts its settings. Errors never quote the URL,
// which may hold a password.
func parseURL(s string) (urlSettings, error) {
	var r urlSettings
	u, err := url.Parse(s)
	if err != nil {
		// url.Error quotes the input, maybe the password; report the cause.
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
		host := u.Hostname()
		r.set = append(r.set, func(c *Config) { c.Host = host })
		if p := u.Port(); p != "" {
			port, err := parsePort(p)
			if err != nil {
				return r, err
			}
			r.set = append(r.set, func(c *Config) { c.Port = port })
		}
	}
	if u.User != nil {
		user := u.User.Username()
		r.set = append(r.set, func(c *Config) { c.User = user })
		if pw, ok := u.User.Password(); ok {
			r.set = append(r.set, func(c *Config) { c.Password = pw })
		}
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		r.set = append(r.set, func(c *Config) { c.Database = db })
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return r, fmt.Errorf("query: %v", err)
	}
	for name, vs := range q {
		if err := r.param(name, vs[len(vs)-1]); err != nil {
			return r, err
		}
	}
	return r, nil
}

// param records one query parameter.
func (r *urlSettings) param(name, v string) error {
	str := func(f func(*Config, string)) error {
		r.set = append(r.set, func(c *Config) { f(c, v) })
		return nil
	}
	dur := func(f func(*Config, time.Duration)) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("%s %q: want a duration such as 30s", name, v)
		}
		r.set = append(r.set, func(c *Config) { f(c, d) })
		return nil
	}
	num := func(least int, f func(*Config, int)) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < least {
			return fmt.Errorf("%s %q: want a whole number of at least %d", name, v, least)
		}
		r.set = append(r.set, func(c *Config) { f(c, n) })
		return nil
	}
	switch name {
	case "host":
		if strings.Contains(v, ",") {
			return errors.New("several hosts are not supported; give one host")
		}
		return str(func(c *Config, s string) { c.Host = s })
	case "port":
		port, err := parsePort(v)
		if err != nil {
			return err
		}
		r.set = append(r.set, func(c *Config) { c.Port = port })
		return nil
	case "user":
		return str(func(c *Config, s string) { c.User = s })
	case "password":
		return str(func(c *Config, s string) { c.Password = s })
	case "dbname":
		return str(func(c *Config, s string) { c.Database = s })
	case "sslmode":
		if !validSSLMode(v) {
			return fmt.Errorf("sslmode %q is not one of %s", v, strings.Join(sslModes, ", "))
		}
		return str(func(c *Config, s string) { c.SSLMode = s })
	case "sslrootcert":
		return str(func(c *Config, s string) { c.SSLRootCert = s })
	case "connect_timeout":
		// libpq reads 0 as "wait for ever"; weft always bounds connecting.
		return num(1, func(c *Config, n int) { c.ConnectTimeout = time.Duration(n) * time.Second })
	case "statement_timeout":
		d, err := parseMillisOrDuration(v)
		if err != nil {
			return fmt.Errorf("statement_timeout %q: %v", v, err)
		}
		r.set = append(r.set, func(c *Config) { c.StatementTimeout = d })
		return nil
	case "pool_max_conns":
		return num(1, func(c *Config, n int) { c.MaxConns = n })
	case "pool_min_conns":
		return num(0, func(c *Config, n int) { c.MinConns = n })
	case "pool_max_conn_lifetime":
		return dur(func(c *Config, d time.Duration) { c.MaxConnLifetime = d })
	case "pool_max_conn_idle_time":
		return dur(func(c *Config, d time.Duration) { c.MaxConnIdleTime = d })
	case "schema":
		return str(func(c *Config, s string) { c.Schema = s })
	case "table_prefix":
		return str(func(c *Config, s string) { c.TablePrefix = s })
	case "mode":
		m, err := parseMode(v)
		if err != nil {
			return fmt.Errorf("mode: %v", err)
		}
		r.set = append(r.set, func(c *Config) { c.Mode = m })
		return nil
	case "poll_interval":
		return dur(func(c *Config, d time.Duration) { c.PollInterval = d })
	case "fallback_threshold":
		return dur(func(c *Config, d time.Duration) { c.FallbackThreshold = d })
	case "visibility_timeout":
		return dur(func(c *Config, d time.Duration) { c.VisibilityTimeout = d })
	case "max_message_size":
		return num(1, func(c *Config, n int) { c.MaxMessageSize = n })
	}
	// Passed on as a keyword setting, so the name must be a plain word:
	// anything else could smuggle in other settings.
	if checkIdent(name) != nil {
		return fmt.Errorf("parameter name %q is not a plain word", name)
	}
	if r.extra == nil {
		r.extra = map[string]string{}
	}
	r.extra[name] = v
	return nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q is not a TCP port (1-65535)", s)
	}
	return n, nil
}

// parseMillisOrDuration reads PostgreSQL's unit-less milliseconds or a Go
// duration.
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

// redactURL masks the password in a URL, in the user info or in a password
// parameter; an unparseable URL is not printed at all.
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
