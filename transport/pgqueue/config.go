package pgqueue

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
)

// Config is everything New needs. The zero value of any field means its
// documented default; the struct tags let it be embedded in the env/YAML
// configuration as is.
//
// URL, when set, wins over the separate fields for every part it names (see
// ParseURL); the fields, then the defaults, fill in the rest. That lets the
// URL carry the address while the password comes from a secret.
type Config struct {
	URL string `yaml:"url" envconfig:"URL" desc:"single-URL form postgres://[user[:password]@]host[:port][/database][?param=value]; its parts take precedence over the separate fields, which fill in the rest"`

	Host     string `yaml:"host" envconfig:"HOST" default:"127.0.0.1" desc:"server host name or IP address"`
	Port     int    `yaml:"port" envconfig:"PORT" default:"5432" desc:"server TCP port"`
	User     string `yaml:"user" envconfig:"USER" desc:"database role to log in as (empty: the operating-system user, as libpq does)"`
	Password string `yaml:"password" envconfig:"PASSWORD" desc:"password of user (secret; empty: ~/.pgpass or PGPASSWORD, as libpq does)"`
	Database string `yaml:"database" envconfig:"DATABASE" default:"postgres" desc:"database to connect to; it must exist"`

	Schema      string `yaml:"schema" envconfig:"SCHEMA" default:"weft" desc:"schema holding the queue tables; created if missing"`
	TablePrefix string `yaml:"tablePrefix" envconfig:"TABLE_PREFIX" default:"queue_" desc:"prefix of the queue tables' names (messages, groups, dead_letters, acked, schema_version)"`

	MaxConns        int           `yaml:"maxConns" envconfig:"MAX_CONNS" default:"10" desc:"maximum connections in the pool (the listener uses one more of its own)"`
	MinConns        int           `yaml:"minConns" envconfig:"MIN_CONNS" default:"0" desc:"connections the pool keeps open even when idle"`
	MaxConnLifetime time.Duration `yaml:"maxConnLifetime" envconfig:"MAX_CONN_LIFETIME" default:"1h" desc:"a pooled connection older than this is closed and replaced"`
	MaxConnIdleTime time.Duration `yaml:"maxConnIdleTime" envconfig:"MAX_CONN_IDLE_TIME" default:"30m" desc:"a pooled connection idle for longer than this is closed"`

	ConnectTimeout   time.Duration `yaml:"connectTimeout" envconfig:"CONNECT_TIMEOUT" default:"5s" desc:"limit on establishing one connection (dial, TLS, authentication)"`
	StatementTimeout time.Duration `yaml:"statementTimeout" envconfig:"STATEMENT_TIMEOUT" desc:"server-side limit on each statement (0: the server's setting)"`

	SSLMode     string `yaml:"sslMode" envconfig:"SSL_MODE" default:"prefer" desc:"disable, allow, prefer (TLS if the server offers it, unverified), require (TLS, unverified), verify-ca or verify-full"`
	SSLRootCert string `yaml:"sslRootCert" envconfig:"SSL_ROOT_CERT" desc:"PEM file of the CA certificates that verify the server (verify-ca, verify-full)"`

	Mode              Mode          `yaml:"mode" envconfig:"MODE" default:"hybrid" desc:"how waiting consumers learn of new messages: hybrid (LISTEN/NOTIFY plus fallback polling), event-driven-only or polling-only"`
	PollInterval      time.Duration `yaml:"pollInterval" envconfig:"POLL_INTERVAL" default:"1s" desc:"how often a waiting consumer polls (polling-only; hybrid while the listener is down or quiet)"`
	FallbackThreshold time.Duration `yaml:"fallbackThreshold" envconfig:"FALLBACK_THRESHOLD" default:"10s" desc:"hybrid: poll when no notification has been seen for this long"`
	VisibilityTimeout time.Duration `yaml:"visibilityTimeout" envconfig:"VISIBILITY_TIMEOUT" default:"10s" desc:"a claimed message whose consumer stops renewing it (the process died) becomes visible again after this long; live consumers renew their claims every third of it"`
	MaxMessageSize    int           `yaml:"maxMessageSize" envconfig:"MAX_MESSAGE_SIZE" default:"5242880" desc:"largest message body accepted, in bytes"`

	Retention           time.Duration `yaml:"retention" envconfig:"RETENTION" desc:"how long acknowledged messages are kept in the acked table (0: deleted at once)"`
	DeadLetterRetention time.Duration `yaml:"deadLetterRetention" envconfig:"DEAD_LETTER_RETENTION" desc:"how long rows of the dead_letters table are kept (0: for ever)"`
	CleanupInterval     time.Duration `yaml:"cleanupInterval" envconfig:"CLEANUP_INTERVAL" default:"1m" desc:"how often expired acked and dead-letter rows are deleted (and keyed messages stranded by rows deleted by hand are released)"`

	// Logger receives the transport's logs (nil: discarded).
	Logger *slog.Logger `yaml:"-" envconfig:"-" ignored:"true"`
}

// Defaults of Config, also written in its struct tags.
const (
	DefaultHost              = "127.0.0.1"
	DefaultPort              = 5432
	DefaultDatabase          = "postgres"
	DefaultSchema            = "weft"
	DefaultTablePrefix       = "queue_"
	DefaultMaxConns          = 10
	DefaultMaxConnLifetime   = time.Hour
	DefaultMaxConnIdleTime   = 30 * time.Minute
	DefaultConnectTimeout    = 5 * time.Second
	DefaultSSLMode           = "prefer"
	DefaultMode              = Hybrid
	DefaultPollInterval      = time.Second
	DefaultFallbackThreshold = 10 * time.Second
	DefaultVisibilityTimeout = 10 * time.Second
	DefaultMaxMessageSize    = 5 << 20
	DefaultCleanupInterval   = time.Minute
)

// MaxMessageSizeLimit is the largest MaxMessageSize accepted: bodies travel
// in one protocol message and are stored once per consumer group.
const MaxMessageSizeLimit = 64 << 20

// maxPrefixLen leaves room for the longest table name suffix
// ("schema_version") within PostgreSQL's 63-byte identifiers.
const maxPrefixLen = maxIdentLen - len("schema_version")

var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// withDefaults fills every zero field with its default. Negative values are
// left alone for Validate to report.
func (c Config) withDefaults() Config {
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	setD := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	set(&c.Host, DefaultHost)
	set(&c.Database, DefaultDatabase)
	set(&c.Schema, DefaultSchema)
	set(&c.TablePrefix, DefaultTablePrefix)
	set(&c.SSLMode, DefaultSSLMode)
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if m, err := parseMode(string(c.Mode)); err == nil {
		c.Mode = m
	}
	setD(&c.MaxConnLifetime, DefaultMaxConnLifetime)
	setD(&c.MaxConnIdleTime, DefaultMaxConnIdleTime)
	setD(&c.ConnectTimeout, DefaultConnectTimeout)
	setD(&c.PollInterval, DefaultPollInterval)
	setD(&c.FallbackThreshold, DefaultFallbackThreshold)
	setD(&c.VisibilityTimeout, DefaultVisibilityTimeout)
	setD(&c.CleanupInterval, DefaultCleanupInterval)
	return c
}

// FieldError is one invalid setting. Field is the YAML name (the env name is
// its upper-snake form), so a config front end can point at the input.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return "pgqueue: " + e.Field + ": " + e.Msg }

// FieldName is the YAML name of the invalid setting.
func (e *FieldError) FieldName() string { return e.Field }

// resolve returns the effective configuration (the URL's parts over the
// fields, then defaults) and the URL's parameters that go to pgx as they are.
// On a bad URL it still returns the fields with defaults, so String can show
// what was meant.
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
// applied, zero fields counting as their defaults) at once, as errors.Join of
// *FieldError. It never connects and never includes the password.
func (c Config) Validate() error {
	c, _, urlErr := c.resolve()
	var errs []error
	if urlErr != nil {
		errs = append(errs, urlErr)
	}
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	c.validateConnection(bad)
	c.validateNames(bad)
	c.validatePool(bad)
	c.validateQueue(bad)
	return errors.Join(errs...)
}

type reporter func(field, format string, args ...any)

func (c Config) validateConnection(bad reporter) {
	if strings.ContainsAny(c.Host, " ,/\x00") && !strings.HasPrefix(c.Host, "/") {
		bad("host", "%q is not a host name or address (one host only)", c.Host)
	}
	if c.Port < 1 || c.Port > 65535 {
		bad("port", "%d is not a TCP port (1-65535)", c.Port)
	}
	for _, f := range []struct{ field, v string }{{"user", c.User}, {"password", c.Password}, {"database", c.Database}} {
		if strings.ContainsRune(f.v, 0) {
			bad(f.field, "must not contain NUL")
		}
	}
	if !validSSLMode(c.SSLMode) {
		bad("sslMode", "%q is not one of %s", c.SSLMode, strings.Join(sslModes, ", "))
	}
}

func (c Config) validateNames(bad reporter) {
	if err := checkIdent(c.Schema); err != nil {
		bad("schema", "%v", err)
	} else if strings.HasPrefix(c.Schema, "pg_") {
		bad("schema", "%q: names starting with pg_ are reserved by PostgreSQL", c.Schema)
	}
	if len(c.TablePrefix) > maxPrefixLen {
		bad("tablePrefix", "%q is %d characters long; at most %d leave room for the table names", c.TablePrefix, len(c.TablePrefix), maxPrefixLen)
	} else if err := checkIdent(c.TablePrefix); err != nil {
		bad("tablePrefix", "%v", err)
	}
}

func (c Config) validatePool(bad reporter) {
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
}

func (c Config) validateQueue(bad reporter) {
	if _, err := parseMode(string(c.Mode)); err != nil {
		bad("mode", "%v", err)
	}
	if c.PollInterval < time.Millisecond {
		bad("pollInterval", "%v: must be at least 1ms", c.PollInterval)
	}
	if c.FallbackThreshold < 0 {
		bad("fallbackThreshold", "%v: must not be negative", c.FallbackThreshold)
	}
	if c.VisibilityTimeout < 10*time.Millisecond {
		bad("visibilityTimeout", "%v: must be at least 10ms", c.VisibilityTimeout)
	}
	if c.MaxMessageSize < 1 || c.MaxMessageSize > MaxMessageSizeLimit {
		bad("maxMessageSize", "%d: must be between 1 and %d bytes", c.MaxMessageSize, MaxMessageSizeLimit)
	}
	if c.Retention < 0 {
		bad("retention", "%v: must not be negative", c.Retention)
	}
	if c.DeadLetterRetention < 0 {
		bad("deadLetterRetention", "%v: must not be negative", c.DeadLetterRetention)
	}
	if c.CleanupInterval < time.Millisecond {
		bad("cleanupInterval", "%v: must be at least 1ms", c.CleanupInterval)
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

// String renders the effective settings for logs, with the password masked,
// also inside the URL.
func (c Config) String() string {
	eff, _, _ := c.resolve()
	var b strings.Builder
	b.WriteString("pgqueue{")
	if c.URL != "" {
		fmt.Fprintf(&b, "url=%s ", redactURL(c.URL))
	}
	fmt.Fprintf(&b, "host=%s port=%d user=%s password=%s database=%s sslMode=%s",
		quoteIfNeeded(eff.Host), eff.Port, quoteIfNeeded(eff.User), mask(eff.Password), quoteIfNeeded(eff.Database), eff.SSLMode)
	if eff.SSLRootCert != "" {
		fmt.Fprintf(&b, " sslRootCert=%s", quoteIfNeeded(eff.SSLRootCert))
	}
	fmt.Fprintf(&b, " schema=%s tablePrefix=%s maxConns=%d minConns=%d connectTimeout=%v",
		quoteIfNeeded(eff.Schema), quoteIfNeeded(eff.TablePrefix), eff.MaxConns, eff.MinConns, eff.ConnectTimeout)
	if eff.StatementTimeout != 0 {
		fmt.Fprintf(&b, " statementTimeout=%v", eff.StatementTimeout)
	}
	fmt.Fprintf(&b, " mode=%s pollInterval=%v fallbackThreshold=%v visibilityTimeout=%v maxMessageSize=%d retention=%v deadLetterRetention=%v}",
		quoteIfNeeded(string(eff.Mode)), eff.PollInterval, eff.FallbackThreshold, eff.VisibilityTimeout, eff.MaxMessageSize, eff.Retention, eff.DeadLetterRetention)
	return b.String()
}

// GoString keeps %#v from printing the password field by field.
func (c Config) GoString() string { return c.String() }

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
