package pgsetup

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weftio/weft/internal/redact"
)

// ParamFunc is offered the URL query parameters that are no connection
// setting. It reports whether name is a setting of the driver's own (which
// it then records), or an error for a bad value; a parameter it does not
// take is passed to pgx as given.
type ParamFunc func(name, value string) (own bool, err error)

// Resolve returns the effective settings (the URL's parts over the fields,
// then defaults for whatever is still zero) and the URL's parameters that go
// to pgx as they are. The URL accepts what libpq accepts in a single-host
// URL; the parameters host, port, user, password, dbname, sslmode,
// sslrootcert, sslcert, sslkey, connect_timeout (whole seconds, at least 1),
// statement_timeout (milliseconds or a Go duration), pool_max_conns,
// pool_min_conns, pool_max_conn_lifetime and pool_max_conn_idle_time (Go
// durations) become fields; the others go to own (if not nil), then to pgx.
//
// On a bad URL it still returns the fields with defaults, so a Config's
// String can show what was meant; the error never quotes the URL, which may
// hold a password.
func (s Settings) Resolve(own ParamFunc) (Settings, map[string]string, error) {
	var extra map[string]string
	var err error
	if s.URL != "" {
		var u urlSettings
		if u, err = parseURL(s.URL, own); err == nil {
			for _, set := range u.set {
				set(&s)
			}
			extra = u.extra
		}
	}
	return s.WithDefaults(), extra, err
}

// urlSettings is what a URL says: set copies each part it names over the
// fields; extra holds the parameters passed to pgx.
type urlSettings struct {
	extra map[string]string
	set   []func(*Settings)
}

// parseURL checks s and extracts its settings. Errors never quote the URL.
func parseURL(s string, own ParamFunc) (urlSettings, error) {
	var r urlSettings
	u, err := url.Parse(s)
	if err != nil {
		return r, fmt.Errorf("not a valid URL: %v", redact.URLParseError(err))
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return r, fmt.Errorf("scheme %q: want postgres:// or postgresql://", u.Scheme)
	}
	if u.Opaque != "" {
		return r, errors.New("want postgres://host... (missing //)")
	}
	if u.Fragment != "" || strings.HasSuffix(s, "#") {
		// Not quoted: a '#' in a password starts the fragment.
		return r, errors.New("a #fragment has no meaning here (in a password, write '#' as %23)")
	}
	if strings.Contains(u.Path, "@") {
		// Not quoted: a '/' in a password ends the user info early.
		return r, errors.New("the path holds an '@' (in a password, write '/' as %2F and '@' as %40)")
	}
	if strings.Contains(u.Host, ",") {
		return r, errors.New("several hosts are not supported; give one host")
	}
	if u.Host != "" {
		host := u.Hostname()
		r.set = append(r.set, func(c *Settings) { c.Host = host })
		if p := u.Port(); p != "" {
			port, err := parsePort(p)
			if err != nil {
				return r, err
			}
			r.set = append(r.set, func(c *Settings) { c.Port = port })
		}
	}
	if u.User != nil {
		user := u.User.Username()
		r.set = append(r.set, func(c *Settings) { c.User = user })
		if pw, ok := u.User.Password(); ok {
			r.set = append(r.set, func(c *Settings) { c.Password = pw })
		}
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		r.set = append(r.set, func(c *Settings) { c.Database = db })
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return r, fmt.Errorf("query: %v", err)
	}
	// Sorted, so the same bad URL always reports the same first problem.
	for _, name := range slices.Sorted(maps.Keys(q)) {
		vs := q[name]
		if err := r.param(name, vs[len(vs)-1], own); err != nil {
			return r, err
		}
	}
	return r, nil
}

// param records one query parameter.
func (r *urlSettings) param(name, v string, own ParamFunc) error {
	str := func(f func(*Settings, string)) error {
		r.set = append(r.set, func(c *Settings) { f(c, v) })
		return nil
	}
	dur := func(f func(*Settings, time.Duration)) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("%s %q: want a duration such as 30m", name, v)
		}
		r.set = append(r.set, func(c *Settings) { f(c, d) })
		return nil
	}
	switch name {
	case "host":
		if strings.Contains(v, ",") {
			return errors.New("several hosts are not supported; give one host")
		}
		return str(func(c *Settings, s string) { c.Host = s })
	case "port":
		port, err := parsePort(v)
		if err != nil {
			return err
		}
		r.set = append(r.set, func(c *Settings) { c.Port = port })
		return nil
	case "user":
		return str(func(c *Settings, s string) { c.User = s })
	case "password":
		return str(func(c *Settings, s string) { c.Password = s })
	case "dbname":
		return str(func(c *Settings, s string) { c.Database = s })
	case "sslmode":
		if !validSSLMode(v) {
			return fmt.Errorf("sslmode %q is not one of %s", v, strings.Join(sslModes, ", "))
		}
		return str(func(c *Settings, s string) { c.SSLMode = s })
	case "sslrootcert":
		return str(func(c *Settings, s string) { c.SSLRootCert = s })
	case "sslcert":
		return str(func(c *Settings, s string) { c.SSLCert = s })
	case "sslkey":
		return str(func(c *Settings, s string) { c.SSLKey = s })
	case "connect_timeout":
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			// libpq reads 0 as "wait for ever"; weft always bounds connecting.
			return fmt.Errorf("connect_timeout %q: want whole seconds, at least 1", v)
		}
		r.set = append(r.set, func(c *Settings) { c.ConnectTimeout = time.Duration(n) * time.Second })
		return nil
	case "statement_timeout":
		d, err := parseMillisOrDuration(v)
		if err != nil {
			return fmt.Errorf("statement_timeout %q: %v", v, err)
		}
		r.set = append(r.set, func(c *Settings) { c.StatementTimeout = d })
		return nil
	case "pool_max_conns", "pool_min_conns":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("%s %q: want a whole number", name, v)
		}
		if name == "pool_min_conns" {
			r.set = append(r.set, func(c *Settings) { c.MinConns = n })
			return nil
		}
		if n < 1 {
			return fmt.Errorf("pool_max_conns %q: must be at least 1", v)
		}
		r.set = append(r.set, func(c *Settings) { c.MaxConns = n })
		return nil
	case "pool_max_conn_lifetime":
		return dur(func(c *Settings, d time.Duration) { c.MaxConnLifetime = d })
	case "pool_max_conn_idle_time":
		return dur(func(c *Settings, d time.Duration) { c.MaxConnIdleTime = d })
	}
	if own != nil {
		if ok, err := own(name, v); ok || err != nil {
			return err
		}
	}
	// Passed on as a keyword setting, so the name must be a plain word:
	// anything else could smuggle in other settings.
	if CheckIdent(name) != nil {
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
// duration; either way the server gets whole milliseconds, so the two unit
// systems never meet.
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
	u.Fragment, u.RawFragment = "", "" // a '#' in a password starts it
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
