package redis

import (
	"fmt"
	"log/slog"
	"strconv"
)

// masked stands in for a secret that is set. An unset one prints as "", so
// "no password configured" stays visible when debugging.
const masked = "***"

// String renders the effective configuration (URL applied, defaults filled
// in) with the password masked, for logs and `weft config validate`. An
// unparsable URL is not shown at all, since it may hold a password.
func (c Config) String() string {
	r, _ := c.resolve()
	pw := ""
	if r.Password != "" {
		pw = masked
	}
	s := fmt.Sprintf("redis{host=%s port=%d username=%s password=%s database=%d keyPrefix=%s "+
		"dialTimeout=%v readTimeout=%v writeTimeout=%v poolSize=%d minIdleConns=%d "+
		"tls=%t tlsCAFile=%s tlsInsecureSkipVerify=%t tlsServerName=%s",
		strconv.Quote(r.Host), r.Port, strconv.Quote(r.Username), strconv.Quote(pw), r.Database,
		strconv.Quote(r.KeyPrefix), r.DialTimeout, r.ReadTimeout, r.WriteTimeout, r.PoolSize,
		r.MinIdleConns, r.TLS, strconv.Quote(r.TLSCAFile), r.TLSInsecureSkipVerify,
		strconv.Quote(r.TLSServerName))
	if c.URL != "" {
		if _, _, err := parseURL(c.URL); err != nil {
			s += " url=(invalid, not shown)"
		}
	}
	return s + "}"
}

// GoString keeps %#v from printing the password field by field.
func (c Config) GoString() string { return c.String() }

// LogValue keeps slog handlers (the JSON one walks struct fields) from
// printing the password.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }
