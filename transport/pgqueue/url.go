package pgqueue

import (
	"fmt"
	"strconv"
	"time"
)

// ParseURL turns a postgres:// (or postgresql://) URL into the Config New
// would use with URL s: the URL's parts, defaults for the rest, and URL
// kept as s. Besides what libpq accepts in a single-host URL, these
// parameters become fields:
//
//	host, port, user, password, dbname, sslmode, sslrootcert, sslcert, sslkey
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
	c, _, err := Config{Server: Server{URL: s}}.resolve()
	if err != nil {
		return Config{}, err
	}
	return c, nil
}

// queueParam reads a URL parameter of the queue's own settings (the
// connection settings are pgsetup's). It returns nil for a parameter that is
// not one of them.
func queueParam(name, v string) (func(*Config), error) {
	str := func(f func(*Config, string)) (func(*Config), error) {
		return func(c *Config) { f(c, v) }, nil
	}
	dur := func(f func(*Config, time.Duration)) (func(*Config), error) {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%s %q: want a duration such as 30s", name, v)
		}
		return func(c *Config) { f(c, d) }, nil
	}
	switch name {
	case "schema":
		return str(func(c *Config, s string) { c.Schema = s })
	case "table_prefix":
		return str(func(c *Config, s string) { c.TablePrefix = s })
	case "mode":
		m, err := parseMode(v)
		if err != nil {
			return nil, fmt.Errorf("mode: %v", err)
		}
		return func(c *Config) { c.Mode = m }, nil
	case "poll_interval":
		return dur(func(c *Config, d time.Duration) { c.PollInterval = d })
	case "fallback_threshold":
		return dur(func(c *Config, d time.Duration) { c.FallbackThreshold = d })
	case "visibility_timeout":
		return dur(func(c *Config, d time.Duration) { c.VisibilityTimeout = d })
	case "max_message_size":
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("max_message_size %q: want a whole number of at least 1", v)
		}
		return func(c *Config) { c.MaxMessageSize = n }, nil
	}
	return nil, nil
}
