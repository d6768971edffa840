package redis

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Config is how to reach the server and where to keep the data. The zero
// value of every field means its default (the `default` tag), so a Config
// read from YAML or the environment and one built in code behave the same.
//
// URL, when set, takes precedence over the separate fields for every part it
// specifies (host, port, username, password, database, TLS by its scheme,
// and any query parameter); the fields fill in the rest. That rule is the
// only one that works with loaders which fill defaults from the tags: they
// cannot tell a defaulted host from one the user typed, so a field can never
// be allowed to beat the URL. It also lets the URL carry the address while
// the password comes from a secret (password, or a *_FILE variable).
type Config struct {
	URL string `yaml:"url" envconfig:"URL" desc:"single-URL form redis://[user[:password]@]host[:port][/database][?param=value] (rediss:// for TLS); its parts take precedence over the separate fields, params use the YAML names below"`

	Host     string `yaml:"host" envconfig:"HOST" default:"127.0.0.1" desc:"server host name or IP address"`
	Port     int    `yaml:"port" envconfig:"PORT" default:"6379" desc:"server TCP port"`
	Username string `yaml:"username" envconfig:"USERNAME" desc:"ACL user (Redis 6+); empty means the default user"`
	Password string `yaml:"password" envconfig:"PASSWORD" desc:"password (secret, never printed)"`
	Database int    `yaml:"database" envconfig:"DATABASE" default:"0" desc:"database index selected on every connection"`

	KeyPrefix string `yaml:"keyPrefix" envconfig:"KEY_PREFIX" default:"weft:" desc:"namespace put before every key, so several deployments can share one database"`

	DialTimeout  time.Duration `yaml:"dialTimeout" envconfig:"DIAL_TIMEOUT" default:"5s" desc:"bound on opening one connection, and on the first connect and ping at startup"`
	ReadTimeout  time.Duration `yaml:"readTimeout" envconfig:"READ_TIMEOUT" default:"3s" desc:"socket timeout waiting for one reply; a hung server fails calls after this"`
	WriteTimeout time.Duration `yaml:"writeTimeout" envconfig:"WRITE_TIMEOUT" default:"3s" desc:"socket timeout sending one request"`

	PoolSize     int `yaml:"poolSize" envconfig:"POOL_SIZE" default:"0" desc:"connections in the pool (0: the go-redis default, 10 per CPU)"`
	MinIdleConns int `yaml:"minIdleConns" envconfig:"MIN_IDLE_CONNS" default:"0" desc:"idle connections kept open ahead of need"`

	TLS                   bool   `yaml:"tls" envconfig:"TLS" default:"false" desc:"encrypt connections with TLS (set by a rediss:// url)"`
	TLSCAFile             string `yaml:"tlsCAFile" envconfig:"TLS_CA_FILE" desc:"PEM file of the CA that signed the server certificate (default: the system roots); needs tls"`
	TLSInsecureSkipVerify bool   `yaml:"tlsInsecureSkipVerify" envconfig:"TLS_INSECURE_SKIP_VERIFY" default:"false" desc:"encrypt without verifying the server certificate (tests only); needs tls"`
	TLSServerName         string `yaml:"tlsServerName" envconfig:"TLS_SERVER_NAME" desc:"name to verify the server certificate against (default: host); needs tls"`
}

// Defaults. The timeouts are the ones Redis clients commonly use: 3 s of
// socket timeout still leaves room for multi-megabyte values.
const (
	DefaultHost         = "127.0.0.1"
	DefaultPort         = 6379
	DefaultKeyPrefix    = "weft:"
	DefaultDialTimeout  = 5 * time.Second
	DefaultReadTimeout  = 3 * time.Second
	DefaultWriteTimeout = 3 * time.Second
)

// FieldError is one invalid setting. Field is the YAML name, so a caller
// embedding Config can prefix its own path ("storage.redis.port").
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return "redis: " + e.Field + ": " + e.Problem }

// FieldName is the YAML name of the invalid setting.
func (e *FieldError) FieldName() string { return e.Field }

// Validate reports every invalid setting of the effective configuration (URL
// applied, defaults filled in), each as a *FieldError joined with
// errors.Join. It does no I/O: an unreadable tlsCAFile is reported by New.
func (c Config) Validate() error {
	_, err := c.resolve()
	return err
}

// resolve returns the effective configuration: the URL's parts over the
// fields, then defaults for whatever is still zero. It validates the result
// and returns it even when invalid, so String can show what was meant.
func (c Config) resolve() (Config, error) {
	r := c
	var errs []error
	if c.URL != "" {
		u, parts, err := parseURL(c.URL)
		if err != nil {
			errs = append(errs, err)
		} else {
			if c.TLS && !parts.tls {
				errs = append(errs, &FieldError{Field: "tls", Problem: "true, but url uses redis://: use rediss:// for TLS"})
			}
			r = overlay(r, u)
			// Zero is a real database and a scheme always says whether TLS
			// is on, so these two parts apply even when they are zero.
			if parts.database {
				r.Database = u.Database
			}
			r.TLS = parts.tls
		}
		r.URL = ""
	}
	r = r.withDefaults()
	errs = append(errs, r.check()...)
	return r, errors.Join(errs...)
}

// overlay copies every non-zero field of top onto base.
func overlay(base, top Config) Config {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	setInt := func(dst *int, v int) {
		if v != 0 {
			*dst = v
		}
	}
	setDur := func(dst *time.Duration, v time.Duration) {
		if v != 0 {
			*dst = v
		}
	}
	setBool := func(dst *bool, v bool) {
		if v {
			*dst = v
		}
	}
	set(&base.Host, top.Host)
	setInt(&base.Port, top.Port)
	set(&base.Username, top.Username)
	set(&base.Password, top.Password)
	setInt(&base.Database, top.Database)
	set(&base.KeyPrefix, top.KeyPrefix)
	setDur(&base.DialTimeout, top.DialTimeout)
	setDur(&base.ReadTimeout, top.ReadTimeout)
	setDur(&base.WriteTimeout, top.WriteTimeout)
	setInt(&base.PoolSize, top.PoolSize)
	setInt(&base.MinIdleConns, top.MinIdleConns)
	setBool(&base.TLS, top.TLS)
	set(&base.TLSCAFile, top.TLSCAFile)
	setBool(&base.TLSInsecureSkipVerify, top.TLSInsecureSkipVerify)
	set(&base.TLSServerName, top.TLSServerName)
	return base
}

// withDefaults fills every zero field with its default.
func (c Config) withDefaults() Config {
	return overlay(Config{
		Host:         DefaultHost,
		Port:         DefaultPort,
		KeyPrefix:    DefaultKeyPrefix,
		DialTimeout:  DefaultDialTimeout,
		ReadTimeout:  DefaultReadTimeout,
		WriteTimeout: DefaultWriteTimeout,
	}, c)
}

// check validates a configuration that already has its defaults.
func (c Config) check() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	if !validHost(c.Host) {
		bad("host", "%q is not a host name or IP address (no port, IPv6 without brackets)", c.Host)
	}
	if c.Port < 1 || c.Port > 65535 {
		bad("port", "%d is outside 1..65535", c.Port)
	}
	if c.Username != "" && c.Password == "" {
		bad("password", "required when username is set: Redis authenticates a user with its password")
	}
	if c.Database < 0 {
		bad("database", "%d is negative", c.Database)
	}
	for _, f := range []struct {
		field string
		d     time.Duration
	}{
		{"dialTimeout", c.DialTimeout},
		{"readTimeout", c.ReadTimeout},
		{"writeTimeout", c.WriteTimeout},
	} {
		// go-redis reads -1 as "no timeout", which would let a dead server
		// hang every call; weft always wants a bound.
		if f.d < 0 {
			bad(f.field, "%v is negative", f.d)
		}
	}
	if c.PoolSize < 0 {
		bad("poolSize", "%d is negative", c.PoolSize)
	}
	if c.MinIdleConns < 0 {
		bad("minIdleConns", "%d is negative", c.MinIdleConns)
	}
	if c.PoolSize > 0 && c.MinIdleConns > c.PoolSize {
		bad("minIdleConns", "%d is more than poolSize %d", c.MinIdleConns, c.PoolSize)
	}
	if !c.TLS {
		// A TLS setting without TLS is a configuration that does not do what
		// its author thinks: say so rather than connect in clear text.
		if c.TLSCAFile != "" {
			bad("tlsCAFile", "set, but tls is false: set tls: true or use a rediss:// url")
		}
		if c.TLSInsecureSkipVerify {
			bad("tlsInsecureSkipVerify", "set, but tls is false: set tls: true or use a rediss:// url")
		}
		if c.TLSServerName != "" {
			bad("tlsServerName", "set, but tls is false: set tls: true or use a rediss:// url")
		}
	}
	if c.TLSInsecureSkipVerify && c.TLSCAFile != "" {
		bad("tlsCAFile", "set, but tlsInsecureSkipVerify turns verification off, so it would be ignored")
	}
	return errs
}

// validHost accepts host names and IP addresses; the driver joins it with
// the port itself, so IPv6 comes without brackets.
func validHost(h string) bool {
	if h == "" || strings.ContainsAny(h, " \t\r\n/@?#[]") {
		return false
	}
	if strings.Contains(h, ":") {
		return net.ParseIP(h) != nil
	}
	return true
}

// addr is host:port for dialling and for error messages.
func (c Config) addr() string { return net.JoinHostPort(c.Host, fmt.Sprint(c.Port)) }

// user names the user in error messages; Redis calls the implicit one
// "default".
func (c Config) user() string {
	if c.Username == "" {
		return "default"
	}
	return c.Username
}
