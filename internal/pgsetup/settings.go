// Package pgsetup is the PostgreSQL connection code that the storage driver
// (storage/postgres) and the queue transport (transport/pgqueue) share,
// since drivers never import each other: the connection settings both
// Configs embed, single-URL parsing, validation, printing with the password
// masked, pgx's pool configuration, connecting with errors that say what to
// fix, SQL identifiers, and schema creation under an advisory lock.
//
// The settings come in three structs, Server, Pool and Session, that a
// driver's Config embeds in that order (each with `yaml:",inline"` and no
// envconfig tag, so their fields read, in YAML and in the environment, as the
// Config's own), with the driver's table names between Server and Pool.
// Settings is the three together, as the functions here take them.
package pgsetup

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Server says where to connect and as whom.
type Server struct {
	URL string `yaml:"url" envconfig:"URL" desc:"single-URL form postgres://[user[:password]@]host[:port][/database][?param=value]; its parts take precedence over the separate fields, which fill in the rest"`

	Host     string `yaml:"host" envconfig:"HOST" default:"127.0.0.1" desc:"server host name or IP address"`
	Port     int    `yaml:"port" envconfig:"PORT" default:"5432" desc:"server TCP port"`
	User     string `yaml:"user" envconfig:"USER" desc:"database role to log in as (empty: the operating-system user, as libpq does)"`
	Password string `yaml:"password" envconfig:"PASSWORD" desc:"password of user (secret; empty: ~/.pgpass or PGPASSWORD, as libpq does)"`
	Database string `yaml:"database" envconfig:"DATABASE" default:"postgres" desc:"database to connect to; it must exist"`
}

// Pool sizes the connection pool. A driver whose descriptions differ
// declares a struct of its own with the same fields and converts it (struct
// tags do not count in a conversion).
type Pool struct {
	MaxConns        int           `yaml:"maxConns" envconfig:"MAX_CONNS" default:"10" desc:"maximum connections in the pool"`
	MinConns        int           `yaml:"minConns" envconfig:"MIN_CONNS" default:"0" desc:"connections the pool keeps open even when idle"`
	MaxConnLifetime time.Duration `yaml:"maxConnLifetime" envconfig:"MAX_CONN_LIFETIME" default:"1h" desc:"a connection older than this is closed and replaced"`
	MaxConnIdleTime time.Duration `yaml:"maxConnIdleTime" envconfig:"MAX_CONN_IDLE_TIME" default:"30m" desc:"a connection idle for longer than this is closed"`
}

// Session bounds connecting and each statement, and says how to use TLS.
type Session struct {
	ConnectTimeout   time.Duration `yaml:"connectTimeout" envconfig:"CONNECT_TIMEOUT" default:"5s" desc:"limit on establishing one connection (dial, TLS, authentication)"`
	StatementTimeout time.Duration `yaml:"statementTimeout" envconfig:"STATEMENT_TIMEOUT" desc:"server-side limit on each statement (0: the server's setting)"`

	SSLMode     string `yaml:"sslMode" envconfig:"SSL_MODE" desc:"disable, allow, prefer (TLS if the server offers it, unverified), require (TLS, unverified), verify-ca or verify-full; empty: verify-full when sslRootCert is set, require when only sslCert is, prefer otherwise"`
	SSLRootCert string `yaml:"sslRootCert" envconfig:"SSL_ROOT_CERT" desc:"PEM file of the CA certificates that verify the server (\"system\": the system roots); needs sslMode require, verify-ca or verify-full"`
	SSLCert     string `yaml:"sslCert" envconfig:"SSL_CERT" desc:"PEM file of the client certificate presented to the server; needs sslKey"`
	SSLKey      string `yaml:"sslKey" envconfig:"SSL_KEY" desc:"PEM file of the client certificate's private key; needs sslCert"`
}

// Settings is the whole connection configuration. The zero value of any
// field means its default.
type Settings struct {
	Server
	Pool
	Session
}

// Defaults of the settings, also written in their struct tags.
const (
	DefaultHost            = "127.0.0.1"
	DefaultPort            = 5432
	DefaultDatabase        = "postgres"
	DefaultMaxConns        = 10
	DefaultMaxConnLifetime = time.Hour
	DefaultMaxConnIdleTime = 30 * time.Minute
	DefaultConnectTimeout  = 5 * time.Second
	// DefaultSSLMode is the mode when no sslMode is given and no
	// certificate is configured. With sslRootCert the mode defaults to
	// verify-full, with only sslCert to require (see DefaultSSLModeFor).
	DefaultSSLMode = "prefer"
)

// DefaultSSLModeFor is the sslMode used when none is given: a root
// certificate says the server is to be verified, name included
// (verify-full); a client certificate alone says TLS is wanted (require);
// otherwise libpq's prefer. A configured certificate never leaves the
// connection able to fall back to plain text.
func DefaultSSLModeFor(s Session) string {
	switch {
	case s.SSLRootCert != "":
		return "verify-full"
	case s.SSLCert != "":
		return "require"
	default:
		return DefaultSSLMode
	}
}

// sslModes are the libpq modes pgx implements.
var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// WithDefaults fills every zero field with its default. Negative values are
// left alone for the validation to report.
func (s Settings) WithDefaults() Settings {
	if s.Host == "" {
		s.Host = DefaultHost
	}
	if s.Port == 0 {
		s.Port = DefaultPort
	}
	if s.Database == "" {
		s.Database = DefaultDatabase
	}
	if s.MaxConns == 0 {
		s.MaxConns = DefaultMaxConns
	}
	if s.MaxConnLifetime == 0 {
		s.MaxConnLifetime = DefaultMaxConnLifetime
	}
	if s.MaxConnIdleTime == 0 {
		s.MaxConnIdleTime = DefaultMaxConnIdleTime
	}
	if s.ConnectTimeout == 0 {
		s.ConnectTimeout = DefaultConnectTimeout
	}
	if s.SSLMode == "" {
		s.SSLMode = DefaultSSLModeFor(s.Session)
	}
	return s
}

// Reporter receives one invalid setting: its YAML name (the env name is its
// upper-snake form) and what is wrong with it.
type Reporter func(field, format string, args ...any)

// Collect is the body of a driver's Validate: it runs checks in order and
// joins, after urlErr (the URL's error, if not nil), the settings they
// report as the driver's field errors, made by fieldErr.
func Collect(urlErr error, fieldErr func(field, msg string) error, checks ...func(Reporter)) error {
	var errs []error
	if urlErr != nil {
		errs = append(errs, urlErr)
	}
	bad := func(field, format string, args ...any) {
		errs = append(errs, fieldErr(field, fmt.Sprintf(format, args...)))
	}
	for _, check := range checks {
		check(bad)
	}
	return errors.Join(errs...)
}

// ValidateConnection reports the invalid settings of where and how to
// connect (host, port, user, password, database, sslMode and the
// certificates) of effective settings. It never reports the password itself.
func (s Settings) ValidateConnection(bad Reporter) {
	if strings.ContainsAny(s.Host, " ,/\x00") && !strings.HasPrefix(s.Host, "/") {
		bad("host", "%q is not a host name or address (one host only)", s.Host)
	}
	if s.Port < 1 || s.Port > 65535 {
		bad("port", "%d is not a TCP port (1-65535)", s.Port)
	}
	for _, f := range []struct{ field, v string }{{"user", s.User}, {"password", s.Password}, {"database", s.Database}} {
		if strings.ContainsRune(f.v, 0) {
			bad(f.field, "must not contain NUL")
		}
	}
	if !validSSLMode(s.SSLMode) {
		bad("sslMode", "%q is not one of %s", s.SSLMode, strings.Join(sslModes, ", "))
	}
	switch s.SSLMode {
	case "disable", "allow", "prefer":
		// A certificate the mode ignores (or a mode that may fall back to
		// plain text) is not what its author meant: say so rather than
		// connect unverified.
		if s.SSLRootCert != "" {
			bad("sslRootCert", "set, but sslMode %s does not verify the server: use verify-full (the default with sslRootCert), verify-ca or require", s.SSLMode)
		}
		if s.SSLCert != "" {
			bad("sslCert", "set, but sslMode %s may connect without TLS: use require or verify-full", s.SSLMode)
		}
	}
	if (s.SSLCert == "") != (s.SSLKey == "") {
		if s.SSLCert == "" {
			bad("sslCert", "required with sslKey")
		} else {
			bad("sslKey", "required with sslCert")
		}
	}
}

// ValidatePool reports the invalid pool sizes and time limits of effective
// settings.
func (s Settings) ValidatePool(bad Reporter) {
	if s.MaxConns < 1 || s.MaxConns > math.MaxInt32 {
		bad("maxConns", "%d: must be between 1 and %d", s.MaxConns, math.MaxInt32)
	}
	if s.MinConns < 0 {
		bad("minConns", "%d: must not be negative", s.MinConns)
	} else if s.MinConns > s.MaxConns && s.MaxConns >= 1 {
		bad("minConns", "%d: must not exceed maxConns (%d)", s.MinConns, s.MaxConns)
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{
		{"maxConnLifetime", s.MaxConnLifetime},
		{"maxConnIdleTime", s.MaxConnIdleTime},
		{"connectTimeout", s.ConnectTimeout},
		{"statementTimeout", s.StatementTimeout},
	} {
		if d.v < 0 {
			bad(d.field, "%v: must not be negative", d.v)
		}
	}
}

func validSSLMode(m string) bool {
	for _, s := range sslModes {
		if m == s {
			return true
		}
	}
	return false
}

// WriteConnection writes the connection part of a Config's String: the URL
// as configured (url, if set, with its password masked), then host, port,
// user, password (masked), database, sslMode, sslRootCert and sslCert and
// sslKey (if set) of the
// effective settings eff.
func WriteConnection(b *strings.Builder, url string, eff Settings) {
	if url != "" {
		fmt.Fprintf(b, "url=%s ", redactURL(url))
	}
	fmt.Fprintf(b, "host=%s port=%d user=%s password=%s database=%s sslMode=%s",
		QuoteIfNeeded(eff.Host), eff.Port, QuoteIfNeeded(eff.User), mask(eff.Password), QuoteIfNeeded(eff.Database), eff.SSLMode)
	if eff.SSLRootCert != "" {
		fmt.Fprintf(b, " sslRootCert=%s", QuoteIfNeeded(eff.SSLRootCert))
	}
	if eff.SSLCert != "" {
		fmt.Fprintf(b, " sslCert=%s sslKey=%s", QuoteIfNeeded(eff.SSLCert), QuoteIfNeeded(eff.SSLKey))
	}
}

// mask shows whether a secret is set without showing it.
func mask(secret string) string {
	if secret == "" {
		return `""`
	}
	return "****"
}

// QuoteIfNeeded quotes a value for a key=value listing when it is empty or
// would be ambiguous unquoted.
func QuoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\r\n\"'\\{}=") || strconv.Quote(s) != `"`+s+`"` {
		return strconv.Quote(s)
	}
	return s
}
