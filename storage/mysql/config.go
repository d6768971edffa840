package mysql

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"
)

// Config is how to reach the server and where to keep the data. The zero
// value of every field means its default (the `default` tag), so a Config
// read from YAML or the environment and one built in code behave the same.
//
// URL, when set, takes precedence over the separate fields for every part it
// specifies; the fields fill in the rest.
type Config struct {
	URL string `yaml:"url" envconfig:"URL" desc:"single-URL form mysql://user:password@host:port/database?param=value; params use the YAML names below and override the separate fields"`

	Host     string `yaml:"host" envconfig:"HOST" default:"127.0.0.1" desc:"server host name or IP address"`
	Port     int    `yaml:"port" envconfig:"PORT" default:"3306" desc:"server TCP port"`
	User     string `yaml:"user" envconfig:"USER" desc:"user name (required)"`
	Password string `yaml:"password" envconfig:"PASSWORD" desc:"password (secret, never printed)"`
	Database string `yaml:"database" envconfig:"DATABASE" default:"weft" desc:"database, created if missing"`

	KeyValueTable string `yaml:"keyValueTable" envconfig:"KEY_VALUE_TABLE" default:"key_value_storage" desc:"table of the key-value store, created if missing"`
	KeySetTable   string `yaml:"keySetTable" envconfig:"KEY_SET_TABLE" default:"key_set_storage" desc:"table of the key-set store, created if missing"`

	MaxOpenConns    int           `yaml:"maxOpenConns" envconfig:"MAX_OPEN_CONNS" default:"10" desc:"most connections open at once, in use or idle"`
	MaxIdleConns    int           `yaml:"maxIdleConns" envconfig:"MAX_IDLE_CONNS" default:"10" desc:"most idle connections kept in the pool"`
	ConnMaxLifetime time.Duration `yaml:"connMaxLifetime" envconfig:"CONN_MAX_LIFETIME" default:"30m" desc:"a connection is closed after this age (keep below the server's wait_timeout)"`
	ConnMaxIdleTime time.Duration `yaml:"connMaxIdleTime" envconfig:"CONN_MAX_IDLE_TIME" default:"10m" desc:"an idle connection is closed after this long"`

	ConnectTimeout time.Duration `yaml:"connectTimeout" envconfig:"CONNECT_TIMEOUT" default:"5s" desc:"bound on dialling one connection, and on the first connect and ping at startup"`
	ReadTimeout    time.Duration `yaml:"readTimeout" envconfig:"READ_TIMEOUT" default:"30s" desc:"bound on waiting for one server reply; a hung server fails calls after this"`
	WriteTimeout   time.Duration `yaml:"writeTimeout" envconfig:"WRITE_TIMEOUT" default:"30s" desc:"bound on sending one request"`

	TLS       string `yaml:"tls" envconfig:"TLS" desc:"false, true (verify the server, name included), skip-verify (encrypt, no verification) or preferred (TLS if the server offers it); empty: true when tlsCAFile is set, false otherwise"`
	TLSCAFile string `yaml:"tlsCAFile" envconfig:"TLS_CA_FILE" desc:"PEM file of the CA that signed the server certificate (default: the system roots); needs tls: true, the default when it is set"`
}

// Defaults. Pool sizes and lifetimes follow the Hikari defaults Infinitic
// users know; 30 s I/O timeouts leave room for multi-megabyte values.
const (
	DefaultHost            = "127.0.0.1"
	DefaultPort            = 3306
	DefaultDatabase        = "weft"
	DefaultKeyValueTable   = "key_value_storage"
	DefaultKeySetTable     = "key_set_storage"
	DefaultMaxOpenConns    = 10
	DefaultMaxIdleConns    = 10
	DefaultConnMaxLifetime = 30 * time.Minute
	DefaultConnMaxIdleTime = 10 * time.Minute
	DefaultConnectTimeout  = 5 * time.Second
	DefaultReadTimeout     = 30 * time.Second
	DefaultWriteTimeout    = 30 * time.Second
	// DefaultTLS is the tls setting when none is given and no tlsCAFile
	// is; with a tlsCAFile it is "true", so a CA file always means a
	// verified connection (a tag cannot say that, so tls has none).
	DefaultTLS = "false"
)

// schemaVersionTable records the layout version of every weft table in a
// database. Its name is fixed so that every weft version can find it.
const schemaVersionTable = "weft_schema_version"

// identifier is what database and table names must look like. They are
// interpolated into SQL (identifiers cannot be placeholders), so only names
// that need no quoting at all are accepted; 64 is the server's limit.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// FieldError is one invalid setting. Field is the YAML name, so a caller
// embedding Config can prefix its own path ("storage.mysql.port").
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return "mysql: " + e.Field + ": " + e.Problem }

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
// fields, then defaults for whatever is still zero. It validates the result.
func (c Config) resolve() (Config, error) {
	r := c
	var errs []error
	if c.URL != "" {
		u, err := ParseURL(c.URL)
		if err != nil {
			errs = append(errs, err)
		} else {
			r = overlay(r, u)
		}
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
	set(&base.Host, top.Host)
	setInt(&base.Port, top.Port)
	set(&base.User, top.User)
	set(&base.Password, top.Password)
	set(&base.Database, top.Database)
	set(&base.KeyValueTable, top.KeyValueTable)
	set(&base.KeySetTable, top.KeySetTable)
	setInt(&base.MaxOpenConns, top.MaxOpenConns)
	setInt(&base.MaxIdleConns, top.MaxIdleConns)
	setDur(&base.ConnMaxLifetime, top.ConnMaxLifetime)
	setDur(&base.ConnMaxIdleTime, top.ConnMaxIdleTime)
	setDur(&base.ConnectTimeout, top.ConnectTimeout)
	setDur(&base.ReadTimeout, top.ReadTimeout)
	setDur(&base.WriteTimeout, top.WriteTimeout)
	set(&base.TLS, top.TLS)
	set(&base.TLSCAFile, top.TLSCAFile)
	return base
}

// withDefaults fills every zero field with its default.
func (c Config) withDefaults() Config {
	if c.TLS == "" && c.TLSCAFile != "" {
		c.TLS = "true"
	}
	return overlay(Config{
		Host:            DefaultHost,
		Port:            DefaultPort,
		Database:        DefaultDatabase,
		KeyValueTable:   DefaultKeyValueTable,
		KeySetTable:     DefaultKeySetTable,
		MaxOpenConns:    DefaultMaxOpenConns,
		MaxIdleConns:    DefaultMaxIdleConns,
		ConnMaxLifetime: DefaultConnMaxLifetime,
		ConnMaxIdleTime: DefaultConnMaxIdleTime,
		ConnectTimeout:  DefaultConnectTimeout,
		ReadTimeout:     DefaultReadTimeout,
		WriteTimeout:    DefaultWriteTimeout,
		TLS:             DefaultTLS,
	}, c)
}

// check validates a configuration that already has its defaults.
func (c Config) check() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	if !validHost(c.Host) {
		bad("host", "%q is not a host name or IP address (IPv6 without brackets)", c.Host)
	}
	if c.Port < 1 || c.Port > 65535 {
		bad("port", "%d is outside 1..65535", c.Port)
	}
	if c.User == "" {
		bad("user", "required")
	}
	for _, f := range []struct{ field, name string }{
		{"database", c.Database},
		{"keyValueTable", c.KeyValueTable},
		{"keySetTable", c.KeySetTable},
	} {
		if !identifier.MatchString(f.name) {
			bad(f.field, "%q is not a safe identifier: use 1 to 64 letters, digits or underscores, not starting with a digit", f.name)
		} else if f.field != "database" && strings.EqualFold(f.name, schemaVersionTable) {
			bad(f.field, "%q is reserved for weft's schema versions", f.name)
		}
	}
	if strings.EqualFold(c.KeyValueTable, c.KeySetTable) {
		bad("keySetTable", "%q is also the keyValueTable: the two stores need their own tables", c.KeySetTable)
	}
	for _, f := range []struct {
		field string
		n     int
	}{{"maxOpenConns", c.MaxOpenConns}, {"maxIdleConns", c.MaxIdleConns}} {
		if f.n < 0 {
			bad(f.field, "%d is negative", f.n)
		}
	}
	for _, f := range []struct {
		field string
		d     time.Duration
	}{
		{"connMaxLifetime", c.ConnMaxLifetime},
		{"connMaxIdleTime", c.ConnMaxIdleTime},
		{"connectTimeout", c.ConnectTimeout},
		{"readTimeout", c.ReadTimeout},
		{"writeTimeout", c.WriteTimeout},
	} {
		if f.d < 0 {
			bad(f.field, "%v is negative", f.d)
		}
	}
	switch c.TLS {
	case "false", "true", "skip-verify", "preferred":
	default:
		bad("tls", "%q is not one of false, true, skip-verify, preferred", c.TLS)
	}
	if c.TLSCAFile != "" && c.TLS != "true" {
		bad("tlsCAFile", "set, but tls is %q: a CA file only matters when the server is verified (tls: true)", c.TLS)
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
