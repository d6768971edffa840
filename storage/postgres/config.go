package postgres

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Config is everything New needs. The zero value of any field means its
// documented default, so Config{User: "u", Password: "p"} is usable; the
// struct tags let it be embedded in the env/YAML configuration as is.
//
// URL, when set, wins over the separate fields for every part it names
// (host, port, user, password, database, and the parameters listed at
// ParseURL); the fields, then the defaults, fill in the rest. Loaders that
// fill defaults from the tags cannot tell a defaulted host from a typed one,
// so only this order is predictable; it also lets the URL carry the address
// while the password comes from a secret (password, or a *_FILE variable).
type Config struct {
	URL string `yaml:"url" envconfig:"URL" desc:"single-URL form postgres://[user[:password]@]host[:port][/database][?param=value]; its parts take precedence over the separate fields, which fill in the rest"`

	Host     string `yaml:"host" envconfig:"HOST" default:"127.0.0.1" desc:"server host name or IP address"`
	Port     int    `yaml:"port" envconfig:"PORT" default:"5432" desc:"server TCP port"`
	User     string `yaml:"user" envconfig:"USER" desc:"database role to log in as (empty: the operating-system user, as libpq does)"`
	Password string `yaml:"password" envconfig:"PASSWORD" desc:"password of user (secret; empty: ~/.pgpass or PGPASSWORD, as libpq does)"`
	Database string `yaml:"database" envconfig:"DATABASE" default:"postgres" desc:"database to connect to; it must exist"`

	Schema        string `yaml:"schema" envconfig:"SCHEMA" default:"weft" desc:"schema holding weft's tables; created if missing"`
	KeyValueTable string `yaml:"keyValueTable" envconfig:"KEY_VALUE_TABLE" default:"key_value_storage" desc:"table of versioned key-value entries; created if missing"`
	KeySetTable   string `yaml:"keySetTable" envconfig:"KEY_SET_TABLE" default:"key_set_storage" desc:"table of key-set members; created if missing"`

	MaxConns        int           `yaml:"maxConns" envconfig:"MAX_CONNS" default:"10" desc:"maximum connections in the pool"`
	MinConns        int           `yaml:"minConns" envconfig:"MIN_CONNS" default:"0" desc:"connections the pool keeps open even when idle"`
	MaxConnLifetime time.Duration `yaml:"maxConnLifetime" envconfig:"MAX_CONN_LIFETIME" default:"1h" desc:"a connection older than this is closed and replaced"`
	MaxConnIdleTime time.Duration `yaml:"maxConnIdleTime" envconfig:"MAX_CONN_IDLE_TIME" default:"30m" desc:"a connection idle for longer than this is closed"`

	ConnectTimeout   time.Duration `yaml:"connectTimeout" envconfig:"CONNECT_TIMEOUT" default:"5s" desc:"limit on establishing one connection (dial, TLS, authentication)"`
	StatementTimeout time.Duration `yaml:"statementTimeout" envconfig:"STATEMENT_TIMEOUT" desc:"server-side limit on each statement (0: the server's setting)"`

	SSLMode     string `yaml:"sslMode" envconfig:"SSL_MODE" default:"prefer" desc:"disable, allow, prefer (TLS if the server offers it, unverified), require (TLS, unverified), verify-ca or verify-full"`
	SSLRootCert string `yaml:"sslRootCert" envconfig:"SSL_ROOT_CERT" desc:"PEM file of the CA certificates that verify the server (verify-ca, verify-full)"`
}

// Defaults of Config, also written in its struct tags.
const (
	DefaultHost            = "127.0.0.1"
	DefaultPort            = 5432
	DefaultDatabase        = "postgres"
	DefaultSchema          = "weft"
	DefaultKeyValueTable   = "key_value_storage"
	DefaultKeySetTable     = "key_set_storage"
	DefaultMaxConns        = 10
	DefaultMaxConnLifetime = time.Hour
	DefaultMaxConnIdleTime = 30 * time.Minute
	DefaultConnectTimeout  = 5 * time.Second
	DefaultSSLMode         = "prefer"
)

// versionTable is the fixed name of the schema-version table; the storage
// tables must not take it.
const versionTable = "weft_schema_version"

// sslModes are the libpq modes pgx implements.
var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// withDefaults fills every zero field with its default. Negative values are
// left alone for Validate to report.
func (c Config) withDefaults() Config {
	if c.Host == "" {
		c.Host = DefaultHost
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.Schema == "" {
		c.Schema = DefaultSchema
	}
	if c.KeyValueTable == "" {
		c.KeyValueTable = DefaultKeyValueTable
	}
	if c.KeySetTable == "" {
		c.KeySetTable = DefaultKeySetTable
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxConnLifetime == 0 {
		c.MaxConnLifetime = DefaultMaxConnLifetime
	}
	if c.MaxConnIdleTime == 0 {
		c.MaxConnIdleTime = DefaultMaxConnIdleTime
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.SSLMode == "" {
		c.SSLMode = DefaultSSLMode
	}
	return c
}

// FieldError is one invalid setting. Field is the YAML name (the env name is
// its upper-snake form), so a config front end can point at the input.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return "postgres: " + e.Field + ": " + e.Msg }

// FieldName is the YAML name of the invalid setting; the configuration
// loader prefixes its own path ("storage.postgres.port") through it.
func (e *FieldError) FieldName() string { return e.Field }

// resolve returns the effective configuration (the URL's parts over the
// fields, then defaults for whatever is still zero) and the URL's
// parameters that go to pgx as they are. On a bad URL it still returns the
// fields with defaults, so String can show what was meant.
func (c Config) resolve() (Config, map[string]string, error) {
	var extra map[string]string
	var err error
	if c.URL != "" {
		var u urlSettings
		if u, err = parseURL(c.URL); err != nil {
			err = &FieldError{Field: "url", Msg: err.Error()}
		} else {
			u.apply(&c)
			extra = u.extra
		}
	}
	return c.withDefaults(), extra, err
}

// Validate reports every invalid setting of the effective configuration (URL
// applied, zero fields counting as their defaults) at once, as errors.Join
// of *FieldError. It never connects and never includes the password in an
// error.
func (c Config) Validate() error {
	c, _, urlErr := c.resolve()
	var errs []error
	if urlErr != nil {
		errs = append(errs, urlErr)
	}
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}

	if strings.ContainsAny(c.Host, " ,/\x00") && !strings.HasPrefix(c.Host, "/") {
		bad("host", "%q is not a host name or address (one host only)", c.Host)
	}
	if c.Port < 1 || c.Port > 65535 {
		bad("port", "%d is not a TCP port (1-65535)", c.Port)
	}
	if strings.ContainsRune(c.User, 0) {
		bad("user", "must not contain NUL")
	}
	if strings.ContainsRune(c.Password, 0) {
		bad("password", "must not contain NUL")
	}
	if strings.ContainsRune(c.Database, 0) {
		bad("database", "must not contain NUL")
	}
	if !validSSLMode(c.SSLMode) {
		bad("sslMode", "%q is not one of %s", c.SSLMode, strings.Join(sslModes, ", "))
	}

	if err := checkIdent(c.Schema); err != nil {
		bad("schema", "%v", err)
	} else if strings.HasPrefix(c.Schema, "pg_") {
		bad("schema", "%q: names starting with pg_ are reserved by PostgreSQL", c.Schema)
	}
	for _, t := range []struct{ field, name string }{
		{"keyValueTable", c.KeyValueTable},
		{"keySetTable", c.KeySetTable},
	} {
		if err := checkIdent(t.name); err != nil {
			bad(t.field, "%v", err)
		} else if t.name == versionTable {
			bad(t.field, "%q is the name of weft's schema-version table", t.name)
		}
	}
	if c.KeyValueTable == c.KeySetTable {
		bad("keySetTable", "must differ from keyValueTable (both are %q)", c.KeySetTable)
	}

	if c.MaxConns < 1 || c.MaxConns > math.MaxInt32 {
		bad("maxConns", "%d: must be between 1 and %d", c.MaxConns, math.MaxInt32)
	}
	if c.MinConns < 0 {
		bad("minConns", "%d: must not be negative", c.MinConns)
	} else if c.MinConns > c.MaxConns && c.MaxConns >= 1 {
		bad("minConns", "%d: must not exceed maxConns (%d)", c.MinConns, c.MaxConns)
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{
		{"maxConnLifetime", c.MaxConnLifetime},
		{"maxConnIdleTime", c.MaxConnIdleTime},
		{"connectTimeout", c.ConnectTimeout},
		{"statementTimeout", c.StatementTimeout},
	} {
		if d.v < 0 {
			bad(d.field, "%v: must not be negative", d.v)
		}
	}
	return errors.Join(errs...)
}

func validSSLMode(m string) bool {
	for _, s := range sslModes {
		if m == s {
			return true
		}
	}
	return false
}

// String renders the effective settings (URL applied, defaults filled in)
// for logs and `config validate`, with the password masked, also inside the
// URL.
func (c Config) String() string {
	eff, _, _ := c.resolve()
	var b strings.Builder
	b.WriteString("postgres{")
	if c.URL != "" {
		fmt.Fprintf(&b, "url=%s ", redactURL(c.URL))
	}
	fmt.Fprintf(&b, "host=%s port=%d user=%s password=%s database=%s sslMode=%s",
		quoteIfNeeded(eff.Host), eff.Port, quoteIfNeeded(eff.User), mask(eff.Password), quoteIfNeeded(eff.Database), eff.SSLMode)
	if eff.SSLRootCert != "" {
		fmt.Fprintf(&b, " sslRootCert=%s", quoteIfNeeded(eff.SSLRootCert))
	}
	fmt.Fprintf(&b, " schema=%s keyValueTable=%s keySetTable=%s maxConns=%d minConns=%d maxConnLifetime=%v maxConnIdleTime=%v connectTimeout=%v",
		quoteIfNeeded(eff.Schema), quoteIfNeeded(eff.KeyValueTable), quoteIfNeeded(eff.KeySetTable),
		eff.MaxConns, eff.MinConns, eff.MaxConnLifetime, eff.MaxConnIdleTime, eff.ConnectTimeout)
	if eff.StatementTimeout != 0 {
		fmt.Fprintf(&b, " statementTimeout=%v", eff.StatementTimeout)
	}
	b.WriteString("}")
	return b.String()
}

// GoString keeps %#v from printing the password field by field.
func (c Config) GoString() string { return c.String() }

// mask shows whether a secret is set without showing it.
func mask(secret string) string {
	if secret == "" {
		return `""`
	}
	return "****"
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\r\n\"'\\{}=") || strconv.Quote(s) != `"`+s+`"` {
		return strconv.Quote(s)
	}
	return s
}
