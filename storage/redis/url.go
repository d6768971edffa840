package redis

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

// urlParts records what a URL said that a zero field cannot express.
type urlParts struct {
	tls      bool // the scheme was rediss
	database bool // the URL named a database, possibly 0
}

// ParseURL reads the single-URL form
//
//	redis://[user[:password]@]host[:port][/database][?param=value&...]
//	rediss://...  (the same with TLS)
//
// into a Config holding only what the URL specifies; every other field is
// zero, which means its default. Query parameters use the YAML names of the
// fields: keyPrefix, dialTimeout, readTimeout, writeTimeout, poolSize,
// minIdleConns, tlsCAFile, tlsInsecureSkipVerify, tlsServerName. Unknown
// parameters are errors, so a typo is not silently ignored. Errors never
// quote the URL, which may hold a password.
func ParseURL(raw string) (Config, error) {
	c, parts, err := parseURL(raw)
	if err != nil {
		return Config{}, err
	}
	c.TLS = parts.tls
	return c, nil
}

func parseURL(raw string) (Config, urlParts, error) {
	var c Config
	var parts urlParts
	bad := func(format string, args ...any) (Config, urlParts, error) {
		return Config{}, urlParts{}, &FieldError{Field: "url", Problem: fmt.Sprintf(format, args...)}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a URL: %v", redact.URLParseError(err))
	}
	switch u.Scheme {
	case "redis":
	case "rediss":
		parts.tls = true
	default:
		return bad("scheme %q is not redis or rediss (unix sockets are not supported)", u.Scheme)
	}
	if u.Opaque != "" {
		return bad("expected %s://host..., not %s:host", u.Scheme, u.Scheme)
	}
	if u.Fragment != "" {
		return bad("a #fragment has no meaning here")
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	c.Host = u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad("port %q is not a number in 1..65535", p)
		}
		c.Port = n
	}
	switch db := strings.TrimPrefix(u.Path, "/"); {
	case strings.Contains(db, "@"):
		// Not quoted: a '/' in a password ends the user info early.
		return bad("the path holds an '@' (in a password, write '/' as %%2F and '@' as %%40)")
	case db == "":
	case strings.Contains(db, "/"):
		return bad("path %q is not /<database index>", u.Path)
	default:
		n, err := strconv.Atoi(db)
		if err != nil {
			return bad("database %q in the path is not a number", db)
		}
		c.Database, parts.database = n, true
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("query: %v", err)
	}
	// Sorted, so the same bad URL always reports the same first problem.
	for _, name := range slices.Sorted(maps.Keys(q)) {
		vs := q[name]
		if len(vs) != 1 {
			return bad("parameter %s is given %d times", name, len(vs))
		}
		if err := setParam(&c, name, vs[0]); err != nil {
			return bad("parameter %s: %v", name, err)
		}
	}
	return c, parts, nil
}

// setParam applies one query parameter. Connection parts (host, user...)
// are not parameters: the URL has a place for each of them already.
func setParam(c *Config, name, v string) error {
	dur := func(dst *time.Duration) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration like 500ms or 5s", v)
		}
		*dst = d
		return nil
	}
	num := func(dst *int) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*dst = n
		return nil
	}
	switch name {
	case "keyPrefix":
		c.KeyPrefix = v
	case "dialTimeout":
		return dur(&c.DialTimeout)
	case "readTimeout":
		return dur(&c.ReadTimeout)
	case "writeTimeout":
		return dur(&c.WriteTimeout)
	case "poolSize":
		return num(&c.PoolSize)
	case "minIdleConns":
		return num(&c.MinIdleConns)
	case "tlsCAFile":
		c.TLSCAFile = v
	case "tlsServerName":
		c.TLSServerName = v
	case "tlsInsecureSkipVerify":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		c.TLSInsecureSkipVerify = b
	default:
		return errors.New("unknown; known parameters are keyPrefix, dialTimeout, readTimeout, writeTimeout, poolSize, minIdleConns, tlsCAFile, tlsInsecureSkipVerify, tlsServerName")
	}
	return nil
}
