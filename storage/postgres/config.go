package postgres

import (
	"fmt"
	"strings"

	"github.com/weftio/weft/internal/pgsetup"
)

// Config is everything New needs. The zero value of any field means its
// documented default, so a Config with only User and Password set is usable;
// the struct tags let it be embedded in the env/YAML configuration as is.
//
// The connection settings (URL, Host, ..., SSLRootCert) come from the
// embedded Server, Pool and Session, which transport/pgqueue shares; their
// fields read as Config's own (cfg.Host, cfg.MaxConns), in YAML and in the
// environment too. A composite literal names the part:
// Config{Server: Server{User: "u", Password: "p"}}.
//
// URL, when set, wins over the separate fields for every part it names
// (host, port, user, password, database, and the parameters listed at
// ParseURL); the fields, then the defaults, fill in the rest. Loaders that
// fill defaults from the tags cannot tell a defaulted host from a typed one,
// so only this order is predictable; it also lets the URL carry the address
// while the password comes from a secret (password, or a *_FILE variable).
type Config struct {
	Server `yaml:",inline"`

	Schema        string `yaml:"schema" envconfig:"SCHEMA" default:"weft" desc:"schema holding weft's tables; created if missing"`
	KeyValueTable string `yaml:"keyValueTable" envconfig:"KEY_VALUE_TABLE" default:"key_value_storage" desc:"table of versioned key-value entries; created if missing"`
	KeySetTable   string `yaml:"keySetTable" envconfig:"KEY_SET_TABLE" default:"key_set_storage" desc:"table of key-set members; created if missing"`

	Pool    `yaml:",inline"`
	Session `yaml:",inline"`
}

// The connection settings Config embeds: where to connect and as whom
// (URL, Host, Port, User, Password, Database), the pool's sizes and
// lifetimes (MaxConns, MinConns, MaxConnLifetime, MaxConnIdleTime), and the
// connect and statement timeouts and TLS (ConnectTimeout, StatementTimeout,
// SSLMode, SSLRootCert). Their struct tags document each field.
type (
	Server  = pgsetup.Server
	Pool    = pgsetup.Pool
	Session = pgsetup.Session
)

// Defaults of Config, also written in its struct tags.
const (
	DefaultHost            = pgsetup.DefaultHost
	DefaultPort            = pgsetup.DefaultPort
	DefaultDatabase        = pgsetup.DefaultDatabase
	DefaultSchema          = "weft"
	DefaultKeyValueTable   = "key_value_storage"
	DefaultKeySetTable     = "key_set_storage"
	DefaultMaxConns        = pgsetup.DefaultMaxConns
	DefaultMaxConnLifetime = pgsetup.DefaultMaxConnLifetime
	DefaultMaxConnIdleTime = pgsetup.DefaultMaxConnIdleTime
	DefaultConnectTimeout  = pgsetup.DefaultConnectTimeout
	DefaultSSLMode         = pgsetup.DefaultSSLMode
)

// versionTable is the fixed name of the schema-version table; the storage
// tables must not take it.
const versionTable = "weft_schema_version"

// settings are c's connection settings, as pgsetup takes them.
func (c Config) settings() pgsetup.Settings {
	return pgsetup.Settings{Server: c.Server, Pool: c.Pool, Session: c.Session}
}

func (c *Config) setSettings(s pgsetup.Settings) {
	c.Server, c.Pool, c.Session = s.Server, s.Pool, s.Session
}

// withDefaults fills every zero field with its default. Negative values are
// left alone for Validate to report.
func (c Config) withDefaults() Config {
	c.setSettings(c.settings().WithDefaults())
	if c.Schema == "" {
		c.Schema = DefaultSchema
	}
	if c.KeyValueTable == "" {
		c.KeyValueTable = DefaultKeyValueTable
	}
	if c.KeySetTable == "" {
		c.KeySetTable = DefaultKeySetTable
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

func newFieldError(field, msg string) error { return &FieldError{Field: field, Msg: msg} }

// resolve returns the effective configuration (the URL's parts over the
// fields, then defaults for whatever is still zero) and the URL's
// parameters that go to pgx as they are. On a bad URL it still returns the
// fields with defaults, so String can show what was meant.
func (c Config) resolve() (Config, map[string]string, error) {
	s, extra, err := c.settings().Resolve(nil)
	if err != nil {
		err = newFieldError("url", err.Error())
	}
	c.setSettings(s)
	return c.withDefaults(), extra, err
}

// Validate reports every invalid setting of the effective configuration (URL
// applied, zero fields counting as their defaults) at once, as errors.Join
// of *FieldError. It never connects and never includes the password in an
// error.
func (c Config) Validate() error {
	c, _, urlErr := c.resolve()
	s := c.settings()
	return pgsetup.Collect(urlErr, newFieldError, s.ValidateConnection, c.validateNames, s.ValidatePool)
}

func (c Config) validateNames(bad pgsetup.Reporter) {
	if err := pgsetup.CheckSchema(c.Schema); err != nil {
		bad("schema", "%v", err)
	}
	for _, t := range []struct{ field, name string }{
		{"keyValueTable", c.KeyValueTable},
		{"keySetTable", c.KeySetTable},
	} {
		if err := pgsetup.CheckIdent(t.name); err != nil {
			bad(t.field, "%v", err)
		} else if t.name == versionTable {
			bad(t.field, "%q is the name of weft's schema-version table", t.name)
		}
	}
	if c.KeyValueTable == c.KeySetTable {
		bad("keySetTable", "must differ from keyValueTable (both are %q)", c.KeySetTable)
	}
}

// String renders the effective settings (URL applied, defaults filled in)
// for logs and `config validate`, with the password masked, also inside the
// URL.
func (c Config) String() string {
	eff, _, _ := c.resolve()
	var b strings.Builder
	b.WriteString("postgres{")
	pgsetup.WriteConnection(&b, c.URL, eff.settings())
	fmt.Fprintf(&b, " schema=%s keyValueTable=%s keySetTable=%s maxConns=%d minConns=%d maxConnLifetime=%v maxConnIdleTime=%v connectTimeout=%v",
		pgsetup.QuoteIfNeeded(eff.Schema), pgsetup.QuoteIfNeeded(eff.KeyValueTable), pgsetup.QuoteIfNeeded(eff.KeySetTable),
		eff.MaxConns, eff.MinConns, eff.MaxConnLifetime, eff.MaxConnIdleTime, eff.ConnectTimeout)
	if eff.StatementTimeout != 0 {
		fmt.Fprintf(&b, " statementTimeout=%v", eff.StatementTimeout)
	}
	b.WriteString("}")
	return b.String()
}

// GoString keeps %#v from printing the password field by field.
func (c Config) GoString() string { return c.String() }
