// Package config reads weft's configuration: defaults, then an optional
// YAML file, then WEFT_* environment variables (and *_FILE variables for
// secrets), and validates the result, naming the setting behind every
// error.
package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"go.yaml.in/yaml/v3"

	"github.com/weftio/weft/internal/redact"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/mysql"
	"github.com/weftio/weft/storage/postgres"
	"github.com/weftio/weft/storage/redis"
	"github.com/weftio/weft/transport/pgqueue"
	"github.com/weftio/weft/transport/pulsar"
)

// Prefix of every environment variable.
const Prefix = "WEFT"

// Config is the whole configuration of a weft process.
type Config struct {
	Transport   string              `yaml:"transport" envconfig:"TRANSPORT" default:"memory" desc:"the broker between the roles: memory (one process), pulsar or pgqueue"`
	Storage     string              `yaml:"storage" envconfig:"STORAGE" default:"memory" desc:"where workflow states live: memory, redis, postgres or mysql"`
	Compression string              `yaml:"compression" envconfig:"STORAGE_COMPRESSION" default:"none" desc:"compression of stored states: none, gzip, deflate or bzip2 (reads detect the format)"`
	Cache       storage.CacheConfig `yaml:"cache" envconfig:"STORAGE_CACHE"`
	Redis       redis.Config        `yaml:"redis" envconfig:"REDIS"`
	MySQL       mysql.Config        `yaml:"mysql" envconfig:"MYSQL"`
	Postgres    postgres.Config     `yaml:"postgres" envconfig:"POSTGRES"`
	Pulsar      pulsar.Config       `yaml:"pulsar" envconfig:"PULSAR"`
	PGQueue     pgqueue.Config      `yaml:"pgqueue" envconfig:"PGQUEUE"`
	Engine      Engine              `yaml:"engine" envconfig:"ENGINE"`
	Worker      Worker              `yaml:"worker" envconfig:"WORKER"`
	Events      Events              `yaml:"events" envconfig:"EVENTS"`
	Log         Log                 `yaml:"log" envconfig:"LOG"`
	Dev         Dev                 `yaml:"dev" envconfig:"DEV"`
}

// MinDevToken is the shortest dev server token accepted.
const MinDevToken = 16

// Dev configures weft dev's HTTP API and the commands that drive it.
type Dev struct {
	Addr  string `yaml:"addr" envconfig:"ADDR" default:"127.0.0.1:8233" desc:"listen address of weft dev, and the address the remote commands talk to"`
	Token string `yaml:"token" envconfig:"TOKEN" secret:"true" desc:"bearer token every API request must carry (required to bind weft dev to an address that is not loopback; at least 16 characters)"`
}

// Engine configures the state engine.
type Engine struct {
	Retention  time.Duration `yaml:"retention" envconfig:"RETENTION" default:"168h" desc:"how long the result record of an ended workflow is kept"`
	StateCache int           `yaml:"stateCache" envconfig:"STATE_CACHE" default:"4096" desc:"decoded states kept between messages (negative: none)"`
}

// Worker configures the long-running runtime.
type Worker struct {
	Concurrency   int           `yaml:"concurrency" envconfig:"CONCURRENCY" default:"8" desc:"messages handled at once per role"`
	ShutdownGrace time.Duration `yaml:"shutdownGrace" envconfig:"SHUTDOWN_GRACE" default:"30s" desc:"time in-flight messages get to finish on shutdown"`
}

// Events configures lifecycle events.
type Events struct {
	Sink    string        `yaml:"sink" envconfig:"SINK" desc:"URL of an HTTP CloudEvents sink that gets every lifecycle event (default: $K_SINK when set; empty: events off)"`
	Timeout time.Duration `yaml:"timeout" envconfig:"TIMEOUT" default:"10s" desc:"bound on one delivery to the sink; slower deliveries are retried"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level" envconfig:"LEVEL" default:"info" desc:"debug, info, warn or error"`
	Format string `yaml:"format" envconfig:"FORMAT" default:"text" desc:"text or json"`
}

// Source reads the environment and files; tests substitute their own.
type Source struct {
	// File is a YAML file to read ("" to read none; WEFT_CONFIG_FILE names
	// one when File is empty).
	File string
	// Lookup reads an environment variable (default os.LookupEnv).
	Lookup func(string) (string, bool)
	// ReadFile reads files (default os.ReadFile).
	ReadFile func(string) ([]byte, error)
}

// FieldError is one invalid setting.
type FieldError struct {
	Env, Path string
	Err       error
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s (%s): %v", e.Env, e.Path, e.Err) }

// Load builds the configuration. The error joins one FieldError per
// invalid setting.
func Load(src Source) (*Config, error) {
	if src.Lookup == nil {
		src.Lookup = os.LookupEnv
	}
	if src.ReadFile == nil {
		src.ReadFile = os.ReadFile
	}
	cfg := &Config{}
	fs := fields(reflect.ValueOf(cfg), Prefix, "")
	var errs []error
	for _, f := range fs {
		if f.Def != "" {
			if err := setString(f.Value, f.Def); err != nil {
				panic(fmt.Sprintf("config: bad default for %s: %v", f.Env, err)) // a programming error
			}
		}
	}
	file := src.File
	if file == "" {
		file, _ = src.Lookup(Prefix + "_CONFIG_FILE")
	}
	if file != "" {
		b, err := src.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read configuration file: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("configuration file %s: %w", file, err)
		}
	}
	for _, f := range fs {
		v, ok := src.Lookup(f.Env)
		if !ok {
			path, fok := src.Lookup(f.Env + "_FILE")
			if !fok {
				continue
			}
			b, err := src.ReadFile(path)
			if err != nil {
				errs = append(errs, &FieldError{f.Env + "_FILE", f.Path, err})
				continue
			}
			v = strings.TrimRight(string(b), "\r\n")
		}
		if err := setString(f.Value, v); err != nil {
			// Parse errors quote the value too.
			msg := fmt.Sprintf("cannot use %s: %v", strconv.Quote(redact.URL(v)), redact.Text(err.Error()))
			if f.Secret {
				msg = "cannot use the value given (a secret, not shown)"
			}
			errs = append(errs, &FieldError{f.Env, f.Path, errors.New(msg)})
		}
	}
	cfg.inheritQueueConnection()
	errs = append(errs, cfg.validate()...)
	if len(errs) > 0 {
		return cfg, errors.Join(errs...)
	}
	return cfg, nil
}

// LoadDev reads the dev server's settings the way Load does, reporting
// only their errors: the commands that drive a dev server need nothing
// else, and must not fail on a storage setting they never use.
func LoadDev(src Source) (Dev, error) {
	cfg, err := Load(src)
	if cfg == nil {
		return Dev{}, err
	}
	var mine []error
	for _, e := range unjoin(err) {
		var fe *FieldError
		if errors.As(e, &fe) && strings.HasPrefix(fe.Env, Prefix+"_DEV_") {
			mine = append(mine, e)
		}
	}
	return cfg.Dev, errors.Join(mine...)
}

// inheritQueueConnection lets the PostgreSQL queue use the PostgreSQL
// storage's server when none of its own connection settings is given, so a
// PostgreSQL-only deployment configures one connection (and, in one
// database, gets state writes and messages in one transaction).
func (c *Config) inheritQueueConnection() {
	q := &c.PGQueue
	if c.Transport != "pgqueue" || c.Storage != "postgres" {
		return
	}
	if q.URL != "" || q.User != "" || q.Password != "" || q.Host != pgqueue.DefaultHost ||
		q.Port != pgqueue.DefaultPort || q.Database != pgqueue.DefaultDatabase {
		return
	}
	p := c.Postgres
	q.URL, q.Host, q.Port, q.User, q.Password, q.Database = p.URL, p.Host, p.Port, p.User, p.Password, p.Database
	q.SSLMode, q.SSLRootCert, q.ConnectTimeout = p.SSLMode, p.SSLRootCert, p.ConnectTimeout
	q.SSLCert, q.SSLKey = p.SSLCert, p.SSLKey
}

// Unknown lists WEFT_* environment variables that match no setting (a typo
// would otherwise be silently ignored).
func Unknown(environ []string) []string {
	known := map[string]bool{Prefix + "_CONFIG_FILE": true}
	for _, f := range fields(reflect.ValueOf(&Config{}), Prefix, "") {
		known[f.Env], known[f.Env+"_FILE"] = true, true
	}
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, Prefix+"_") && !strings.HasPrefix(k, Prefix+"_TEST_") && !known[k] {
			out = append(out, k)
		}
	}
	return out
}

// Print renders the effective configuration, one setting per line, with
// secrets masked.
func (c *Config) Print() string {
	var b strings.Builder
	for _, f := range fields(reflect.ValueOf(c), Prefix, "") {
		fmt.Fprintf(&b, "%-40s %-34s %s\n", f.Path, f.Env, display(f))
	}
	return b.String()
}

// Usage documents every environment variable with its default.
func Usage() string {
	var b strings.Builder
	if err := envconfig.Usagef(Prefix, &Config{}, &b, "{{range .}}{{usage_key .}}\t{{usage_default .}}\t{{usage_description .}}\n{{end}}"); err != nil {
		return err.Error()
	}
	return b.String()
}

// driverErrors turns a driver's validation errors (which name fields by
// their YAML name) into FieldErrors naming the environment variable too.
func (c *Config) driverErrors(section string, err error) []error {
	if err == nil {
		return nil
	}
	byPath := map[string]string{}
	for _, f := range fields(reflect.ValueOf(c), Prefix, "") {
		byPath[f.Path] = f.Env
	}
	var out []error
	for _, e := range unjoin(err) {
		var named interface{ FieldName() string }
		path := section
		if errors.As(e, &named) {
			path = section + "." + named.FieldName()
		}
		env := byPath[path]
		if env == "" {
			env = Prefix + "_" + strings.ToUpper(section)
		}
		out = append(out, &FieldError{env, path, e})
	}
	return out
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

func (c *Config) validate() []error {
	var errs []error
	bad := func(env, path string, format string, args ...any) {
		errs = append(errs, &FieldError{env, path, fmt.Errorf(format, args...)})
	}
	switch c.Transport {
	case "memory", "pulsar", "pgqueue":
	default:
		bad("WEFT_TRANSPORT", "transport", "%q is not one of memory, pulsar, pgqueue", c.Transport)
	}
	switch c.Storage {
	case "memory", "redis", "postgres", "mysql":
	default:
		bad("WEFT_STORAGE", "storage", "%q is not one of memory, redis, postgres, mysql", c.Storage)
	}
	if _, err := storage.ParseCompression(strings.ReplaceAll(c.Compression, "none", "")); err != nil {
		bad("WEFT_STORAGE_COMPRESSION", "compression", "%v", err)
	}
	switch c.Storage {
	case "redis":
		errs = append(errs, c.driverErrors("redis", c.Redis.Validate())...)
	case "mysql":
		errs = append(errs, c.driverErrors("mysql", c.MySQL.Validate())...)
	case "postgres":
		errs = append(errs, c.driverErrors("postgres", c.Postgres.Validate())...)
	}
	switch c.Transport {
	case "pulsar":
		errs = append(errs, c.driverErrors("pulsar", c.Pulsar.Validate())...)
	case "pgqueue":
		errs = append(errs, c.driverErrors("pgqueue", c.PGQueue.Validate())...)
	}
	if c.Cache.MaximumSize < 0 {
		bad("WEFT_STORAGE_CACHE_MAXIMUM_SIZE", "cache.maximumSize", "must not be negative")
	}
	if c.Engine.Retention <= 0 {
		bad("WEFT_ENGINE_RETENTION", "engine.retention", "must be positive")
	}
	if c.Events.Sink != "" && !strings.HasPrefix(c.Events.Sink, "http://") && !strings.HasPrefix(c.Events.Sink, "https://") {
		bad("WEFT_EVENTS_SINK", "events.sink", "%q is not an http(s) URL", redact.URL(c.Events.Sink))
	}
	if c.Worker.Concurrency <= 0 {
		bad("WEFT_WORKER_CONCURRENCY", "worker.concurrency", "must be positive")
	}
	if c.Worker.ShutdownGrace < 0 {
		bad("WEFT_WORKER_SHUTDOWN_GRACE", "worker.shutdownGrace", "must not be negative")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("WEFT_LOG_LEVEL", "log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	if t := c.Dev.Token; t != "" {
		// The messages never quote the token.
		if len(t) < MinDevToken {
			bad("WEFT_DEV_TOKEN", "dev.token", "is shorter than %d characters (e.g. openssl rand -hex 32 makes one)", MinDevToken)
		} else if strings.IndexFunc(t, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			bad("WEFT_DEV_TOKEN", "dev.token", "holds a space, a control character or a non-ASCII character (it goes in an HTTP header)")
		}
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("WEFT_LOG_FORMAT", "log.format", "%q is not one of text, json", c.Log.Format)
	}
	return errs
}
