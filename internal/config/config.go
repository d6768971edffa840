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
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/weftio/weft/internal/redact"
	"github.com/weftio/weft/storage"
)

// Prefix of every environment variable.
const Prefix = "WEFT"

// Config is the whole configuration of a weft process. The settings of
// each storage and transport driver built into the binary (see Register)
// sit beside these, under the driver's name (Settings).
type Config struct {
	Transport     string              `yaml:"transport" envconfig:"TRANSPORT" default:"memory" desc:"the broker between the roles: memory (one process), pulsar, pgqueue or knative (a Knative Broker)"`
	Storage       string              `yaml:"storage" envconfig:"STORAGE" default:"memory" desc:"where workflow states live: memory, redis, postgres or mysql"`
	Compression   string              `yaml:"compression" envconfig:"STORAGE_COMPRESSION" default:"none" desc:"compression of stored states: none, gzip, deflate or bzip2 (reads detect the format)"`
	Cache         storage.CacheConfig `yaml:"cache" envconfig:"STORAGE_CACHE"`
	Roles         string              `yaml:"roles" envconfig:"ROLES" default:"all" desc:"roles this process runs: all, or a comma-separated list of executor, state-engine, tag-engine, event-listener"`
	Runtime       string              `yaml:"runtime" envconfig:"RUNTIME" desc:"platform the roles run on: worker, pulsar-functions, knative or lambda (empty: detected from the platform, else worker)"`
	Workflows     string              `yaml:"workflows" envconfig:"WORKFLOWS" desc:"comma-separated workflow names the roles serve (empty: every workflow registered in the binary)"`
	Services      string              `yaml:"services" envconfig:"SERVICES" desc:"comma-separated service names the roles serve (empty: every service registered in the binary)"`
	Engine        Engine              `yaml:"engine" envconfig:"ENGINE"`
	Worker        Worker              `yaml:"worker" envconfig:"WORKER"`
	Events        Events              `yaml:"events" envconfig:"EVENTS"`
	Log           Log                 `yaml:"log" envconfig:"LOG"`
	Dev           Dev                 `yaml:"dev" envconfig:"DEV"`
	Triggers      Triggers            `yaml:"triggers" envconfig:"TRIGGERS" desc:"user CloudEvent types mapped to commands (dispatch, signal, method, cancel): a list in the file, JSON in the variable"`
	TriggersTopic string              `yaml:"triggersTopic" envconfig:"TRIGGERS_TOPIC" desc:"a topic (prefix:name, e.g. triggers:user-events) of users' CloudEvents in structured JSON that the processes running the executor map by the triggers (empty: none)"`

	// sections holds each registered driver's settings by its name.
	sections map[string]any
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
	Retention    time.Duration `yaml:"retention" envconfig:"RETENTION" default:"168h" desc:"how long the result record of an ended workflow is kept"`
	StateCache   int           `yaml:"stateCache" envconfig:"STATE_CACHE" default:"4096" desc:"decoded states kept between messages (negative: none)"`
	FastPath     bool          `yaml:"fastPath" envconfig:"FAST_PATH" default:"true" desc:"a state engine whose binary has a workflow's code runs its workflow tasks in-process instead of through the broker"`
	MissingGrace time.Duration `yaml:"missingGrace" envconfig:"MISSING_GRACE" default:"1m" desc:"on a transport without per-key order (knative): how long a command for an instance with no state yet is delivered again, in case its dispatch is still on its way, before it is answered as one for an instance that does not exist"`
}

// Worker configures the long-running runtime.
type Worker struct {
	Concurrency   int           `yaml:"concurrency" envconfig:"CONCURRENCY" default:"8" desc:"messages handled at once per role"`
	ShutdownGrace time.Duration `yaml:"shutdownGrace" envconfig:"SHUTDOWN_GRACE" default:"30s" desc:"time in-flight messages get to finish on shutdown"`
	HealthAddr    string        `yaml:"healthAddr" envconfig:"HEALTH_ADDR" desc:"address the worker runtime serves /health/live and /health/ready on, for Kubernetes probes (empty: none)"`
}

// Events configures lifecycle events.
type Events struct {
	Enabled bool          `yaml:"enabled" envconfig:"ENABLED" default:"false" desc:"emit lifecycle events on the event topics for event listeners elsewhere (always on when sink is set)"`
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

// newConfig returns a configuration with a settings section for every
// registered driver.
func newConfig() *Config {
	c := &Config{sections: map[string]any{}}
	for _, d := range Drivers() {
		c.sections[d.Name] = d.Settings()
	}
	return c
}

// allFields lists every leaf setting: the core ones, then each driver's,
// in the order of the drivers' names.
func (c *Config) allFields() []field {
	fs := fields(reflect.ValueOf(c), Prefix, "")
	for _, name := range c.sectionNames() {
		fs = append(fs, fields(reflect.ValueOf(c.sections[name]), Prefix+"_"+envName(name), name)...)
	}
	return fs
}

func (c *Config) sectionNames() []string {
	names := make([]string, 0, len(c.sections))
	for n := range c.sections {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// envName is a driver name as it appears in variables (pgqueue: PGQUEUE).
func envName(driver string) string { return strings.ToUpper(driver) }

// Load builds the configuration. The error joins one FieldError per
// invalid setting.
func Load(src Source) (*Config, error) {
	if src.Lookup == nil {
		src.Lookup = os.LookupEnv
	}
	if src.ReadFile == nil {
		src.ReadFile = os.ReadFile
	}
	cfg := newConfig()
	fs := cfg.allFields()
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
		if err := cfg.decodeFile(b); err != nil {
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
	cfg.inherit()
	if len(cfg.Triggers) == 0 {
		cfg.Triggers = nil // "triggers: []" reads as none
	}
	errs = append(errs, cfg.validate()...)
	if len(errs) > 0 {
		return cfg, errors.Join(errs...)
	}
	return cfg, nil
}

// decodeFile reads a YAML document: each driver's section into its
// settings, the rest into the core settings. Unknown keys are errors.
func (c *Config) decodeFile(b []byte) error {
	var doc yaml.Node
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		// Let the strict decoder word the error.
		return strictDecode(root, c)
	}
	core := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		if sec, ok := c.sections[key.Value]; ok {
			if err := strictDecode(val, sec); err != nil {
				return fmt.Errorf("%s: %w", key.Value, err)
			}
			continue
		}
		if k, ok := knownDrivers[key.Value]; ok {
			return fmt.Errorf("line %d: section %s: %w", key.Line, key.Value, notBuiltIn(k.Kind, key.Value))
		}
		core.Content = append(core.Content, key, val)
	}
	return strictDecode(core, c)
}

// strictDecode decodes n into v refusing unknown keys (which yaml.Node's
// own Decode cannot do).
func strictDecode(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// MarshalYAML writes the core settings and every driver's section, so a
// configuration written out loads back the same.
func (c *Config) MarshalYAML() (any, error) {
	type plain Config // without this method
	var n yaml.Node
	if err := n.Encode((*plain)(c)); err != nil {
		return nil, err
	}
	for _, name := range c.sectionNames() {
		var v yaml.Node
		if err := v.Encode(c.sections[name]); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}, &v)
	}
	return &n, nil
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

// inherit lets the transport's settings take over the storage's
// connection where its driver says so (the PostgreSQL queue with the
// PostgreSQL storage: one connection to configure, and in one database,
// state writes and messages in one transaction).
func (c *Config) inherit() {
	d, ok := Lookup(KindTransport, c.Transport)
	if !ok || d.Inherit == nil {
		return
	}
	if from, ok := c.sections[c.Storage]; ok {
		d.Inherit(c.sections[c.Transport], c.Storage, from)
	}
}

// Unknown lists WEFT_* environment variables that match no setting (a typo
// would otherwise be silently ignored), the settings of a driver not built
// into this binary included.
func Unknown(environ []string) []string {
	var out []string
	for _, e := range UnknownErrors(environ) {
		out = append(out, e.(*FieldError).Env)
	}
	return out
}

// UnknownErrors is Unknown with the reason for each variable, as
// FieldErrors: a start-up refuses to run with any.
func UnknownErrors(environ []string) []error {
	known := map[string]bool{Prefix + "_CONFIG_FILE": true}
	for _, f := range newConfig().allFields() {
		known[f.Env], known[f.Env+"_FILE"] = true, true
	}
	var out []error
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, Prefix+"_") || strings.HasPrefix(k, Prefix+"_TEST_") || known[k] {
			continue
		}
		err := errors.New("not a weft setting (a typo?)")
		for name, d := range knownDrivers {
			if _, linked := Lookup(d.Kind, name); !linked && strings.HasPrefix(k, Prefix+"_"+envName(name)+"_") {
				err = fmt.Errorf("a setting of %w", notBuiltIn(d.Kind, name))
			}
		}
		out = append(out, &FieldError{Env: k, Path: "-", Err: err})
	}
	return out
}

// Print renders the effective configuration, one setting per line, with
// secrets masked.
func (c *Config) Print() string {
	var b strings.Builder
	for _, f := range c.allFields() {
		fmt.Fprintf(&b, "%-40s %-34s %s\n", f.Path, f.Env, display(f))
	}
	return b.String()
}

// Usage documents every environment variable with its default, the
// settings of the drivers built into this binary included: one line per
// variable, its name, default and description separated by tabs (the
// layout of envconfig's usage, without its template engine, whose
// reflection would keep the linker from dropping unused methods).
func Usage() string {
	var b strings.Builder
	for _, f := range newConfig().allFields() {
		fmt.Fprintf(&b, "%s\t%s\t%s\n", f.Env, f.Def, f.Desc)
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
	for _, f := range c.allFields() {
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
			env = Prefix + "_" + envName(section)
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
	for _, sel := range []struct {
		kind      Kind
		name, env string
	}{{KindTransport, c.Transport, "WEFT_TRANSPORT"}, {KindStorage, c.Storage, "WEFT_STORAGE"}} {
		if sel.name == "memory" {
			continue
		}
		d, ok := Lookup(sel.kind, sel.name)
		if !ok {
			bad(sel.env, string(sel.kind), "%v", notBuiltIn(sel.kind, sel.name))
			continue
		}
		errs = append(errs, c.driverErrors(sel.name, d.Validate(c.sections[sel.name]))...)
	}
	if _, err := storage.ParseCompression(strings.ReplaceAll(c.Compression, "none", "")); err != nil {
		bad("WEFT_STORAGE_COMPRESSION", "compression", "%v", err)
	}
	if _, err := ParseRoles(c.Roles); err != nil {
		bad("WEFT_ROLES", "roles", "%v", err)
	}
	switch c.Runtime {
	case "", RuntimeWorker, RuntimePulsarFunctions, RuntimeKnative, RuntimeLambda:
	default:
		bad("WEFT_RUNTIME", "runtime", "%q is not one of %s, %s, %s, %s (or empty: detected)", c.Runtime,
			RuntimeWorker, RuntimePulsarFunctions, RuntimeKnative, RuntimeLambda)
	}
	for _, l := range []struct{ env, path, v string }{{"WEFT_WORKFLOWS", "workflows", c.Workflows}, {"WEFT_SERVICES", "services", c.Services}} {
		for _, n := range List(l.v) {
			if strings.ContainsAny(n, " \t\n") {
				bad(l.env, l.path, "name %q holds white space", n)
			}
		}
	}
	if c.Cache.MaximumSize < 0 {
		bad("WEFT_STORAGE_CACHE_MAXIMUM_SIZE", "cache.maximumSize", "must not be negative")
	}
	if c.Engine.Retention <= 0 {
		bad("WEFT_ENGINE_RETENTION", "engine.retention", "must be positive")
	}
	if c.Engine.MissingGrace < 0 {
		bad("WEFT_ENGINE_MISSING_GRACE", "engine.missingGrace", "must not be negative")
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
