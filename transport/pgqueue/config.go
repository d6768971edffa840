package pgqueue

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/weftio/weft/internal/pgsetup"
)

// Config is everything New needs. The zero value of any field means its
// documented default; the struct tags let it be embedded in the env/YAML
// configuration as is.
//
// The connection settings (URL, Host, ..., SSLRootCert) come from the
// embedded Server, Pool and Session, which storage/postgres shares; their
// fields read as Config's own (cfg.Host, cfg.MaxConns), in YAML and in the
// environment too. A composite literal names the part:
// Config{Server: Server{URL: "postgres://..."}, Mode: PollingOnly}.
//
// URL, when set, wins over the separate fields for every part it names (see
// ParseURL); the fields, then the defaults, fill in the rest. That lets the
// URL carry the address while the password comes from a secret.
type Config struct {
	Server `yaml:",inline"`

	Schema      string `yaml:"schema" envconfig:"SCHEMA" default:"weft" desc:"schema holding the queue tables; created if missing"`
	TablePrefix string `yaml:"tablePrefix" envconfig:"TABLE_PREFIX" default:"queue_" desc:"prefix of the queue tables' names (messages, groups, dead_letters, acked, schema_version)"`

	Pool    `yaml:",inline"`
	Session `yaml:",inline"`

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

// The connection settings Config embeds: where to connect and as whom
// (URL, Host, Port, User, Password, Database), and the connect and
// statement timeouts and TLS (ConnectTimeout, StatementTimeout, SSLMode,
// SSLRootCert). Their struct tags document each field.
type (
	Server  = pgsetup.Server
	Session = pgsetup.Session
)

// Pool sizes the transport's connection pool. It is storage/postgres's Pool
// but for the descriptions, which say that the listener's connection comes
// on top.
type Pool struct {
	MaxConns        int           `yaml:"maxConns" envconfig:"MAX_CONNS" default:"10" desc:"maximum connections in the pool (the listener uses one more of its own)"`
	MinConns        int           `yaml:"minConns" envconfig:"MIN_CONNS" default:"0" desc:"connections the pool keeps open even when idle"`
	MaxConnLifetime time.Duration `yaml:"maxConnLifetime" envconfig:"MAX_CONN_LIFETIME" default:"1h" desc:"a pooled connection older than this is closed and replaced"`
	MaxConnIdleTime time.Duration `yaml:"maxConnIdleTime" envconfig:"MAX_CONN_IDLE_TIME" default:"30m" desc:"a pooled connection idle for longer than this is closed"`
}

// Defaults of Config, also written in its struct tags.
const (
	DefaultHost              = pgsetup.DefaultHost
	DefaultPort              = pgsetup.DefaultPort
	DefaultDatabase          = pgsetup.DefaultDatabase
	DefaultSchema            = "weft"
	DefaultTablePrefix       = "queue_"
	DefaultMaxConns          = pgsetup.DefaultMaxConns
	DefaultMaxConnLifetime   = pgsetup.DefaultMaxConnLifetime
	DefaultMaxConnIdleTime   = pgsetup.DefaultMaxConnIdleTime
	DefaultConnectTimeout    = pgsetup.DefaultConnectTimeout
	DefaultSSLMode           = pgsetup.DefaultSSLMode
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
const maxPrefixLen = pgsetup.MaxIdentLen - len("schema_version")

// settings are c's connection settings, as pgsetup takes them.
func (c Config) settings() pgsetup.Settings {
	return pgsetup.Settings{Server: c.Server, Pool: pgsetup.Pool(c.Pool), Session: c.Session}
}

func (c *Config) setSettings(s pgsetup.Settings) {
	c.Server, c.Pool, c.Session = s.Server, Pool(s.Pool), s.Session
}

// withDefaults fills every zero field with its default. Negative values are
// left alone for Validate to report.
func (c Config) withDefaults() Config {
	c.setSettings(c.settings().WithDefaults())
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
	set(&c.Schema, DefaultSchema)
	set(&c.TablePrefix, DefaultTablePrefix)
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if m, err := parseMode(string(c.Mode)); err == nil {
		c.Mode = m
	}
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

func newFieldError(field, msg string) error { return &FieldError{Field: field, Msg: msg} }

// resolve returns the effective configuration (the URL's parts over the
// fields, then defaults) and the URL's parameters that go to pgx as they are.
// On a bad URL it still returns the fields with defaults, so String can show
// what was meant.
func (c Config) resolve() (Config, map[string]string, error) {
	var own []func(*Config)
	s, extra, err := c.settings().Resolve(func(name, v string) (bool, error) {
		set, err := queueParam(name, v)
		if set != nil {
			own = append(own, set)
		}
		return set != nil, err
	})
	if err != nil {
		err = newFieldError("url", err.Error())
	} else {
		for _, set := range own {
			set(&c)
		}
	}
	c.setSettings(s)
	return c.withDefaults(), extra, err
}

// Validate reports every invalid setting of the effective configuration (URL
// applied, zero fields counting as their defaults) at once, as errors.Join of
// *FieldError. It never connects and never includes the password.
func (c Config) Validate() error {
	c, _, urlErr := c.resolve()
	s := c.settings()
	return pgsetup.Collect(urlErr, newFieldError, s.ValidateConnection, c.validateNames, s.ValidatePool, c.validateQueue)
}

func (c Config) validateNames(bad pgsetup.Reporter) {
	if err := pgsetup.CheckSchema(c.Schema); err != nil {
		bad("schema", "%v", err)
	}
	if len(c.TablePrefix) > maxPrefixLen {
		bad("tablePrefix", "%q is %d characters long; at most %d leave room for the table names", c.TablePrefix, len(c.TablePrefix), maxPrefixLen)
	} else if err := pgsetup.CheckIdent(c.TablePrefix); err != nil {
		bad("tablePrefix", "%v", err)
	}
}

func (c Config) validateQueue(bad pgsetup.Reporter) {
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

// String renders the effective settings for logs, with the password masked,
// also inside the URL.
func (c Config) String() string {
	eff, _, _ := c.resolve()
	var b strings.Builder
	b.WriteString("pgqueue{")
	pgsetup.WriteConnection(&b, c.URL, eff.settings())
	fmt.Fprintf(&b, " schema=%s tablePrefix=%s maxConns=%d minConns=%d connectTimeout=%v",
		pgsetup.QuoteIfNeeded(eff.Schema), pgsetup.QuoteIfNeeded(eff.TablePrefix), eff.MaxConns, eff.MinConns, eff.ConnectTimeout)
	if eff.StatementTimeout != 0 {
		fmt.Fprintf(&b, " statementTimeout=%v", eff.StatementTimeout)
	}
	fmt.Fprintf(&b, " mode=%s pollInterval=%v fallbackThreshold=%v visibilityTimeout=%v maxMessageSize=%d retention=%v deadLetterRetention=%v}",
		pgsetup.QuoteIfNeeded(string(eff.Mode)), eff.PollInterval, eff.FallbackThreshold, eff.VisibilityTimeout, eff.MaxMessageSize, eff.Retention, eff.DeadLetterRetention)
	return b.String()
}

// GoString keeps %#v from printing the password field by field.
func (c Config) GoString() string { return c.String() }
