package config

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/transport"
)

// Kind says what a driver provides.
type Kind string

// The kinds of drivers.
const (
	KindStorage   Kind = "storage"
	KindTransport Kind = "transport"
)

// Driver is a storage or transport backend built into this binary. A
// driver's package registers it from an init function (as database/sql
// drivers do), so a binary links only the backends its main imports, and
// its settings exist only when it is linked.
type Driver struct {
	// Name selects the driver (WEFT_STORAGE or WEFT_TRANSPORT) and names
	// its settings: the YAML section and the WEFT_<NAME>_ variables.
	Name string
	Kind Kind
	// Settings returns a pointer to a new, zero settings struct whose
	// fields carry yaml, envconfig, default and desc tags like Config's.
	Settings func() any
	// Validate checks the settings; errors with a FieldName() method name
	// the field by its YAML name.
	Validate func(settings any) error
	// Inherit, when set, lets the settings take over the connection of the
	// storage driver in use (storage is its name, from its settings) when
	// they name no connection of their own: the PostgreSQL queue shares
	// the PostgreSQL storage's server.
	Inherit func(settings any, storage string, from any)
	// OpenStorage (KindStorage) or OpenTransport (KindTransport) connects.
	OpenStorage   func(ctx context.Context, settings any, o Open) (storage.KeyValue, storage.KeySet, func() error, error)
	OpenTransport func(ctx context.Context, settings any, o Open) (transport.Transport, error)
}

// Open is what a driver gets besides its settings.
type Open struct {
	Logger *slog.Logger
	// Store and Tags are the process's storage, for a transport that keeps
	// messages there (nil when the caller opened none).
	Store storage.KeyValue
	Tags  storage.KeySet
}

// knownDrivers are weft's drivers by name, with the package that builds
// each into a binary: naming one that is not linked gets an error saying
// what to import.
var knownDrivers = map[string]struct {
	Kind Kind
	Pkg  string
}{
	"redis":    {KindStorage, "github.com/weftio/weft/storage/redis"},
	"postgres": {KindStorage, "github.com/weftio/weft/storage/postgres"},
	"mysql":    {KindStorage, "github.com/weftio/weft/storage/mysql"},
	"pulsar":   {KindTransport, "github.com/weftio/weft/transport/pulsar"},
	"pgqueue":  {KindTransport, "github.com/weftio/weft/transport/pgqueue"},
	"knative":  {KindTransport, "github.com/weftio/weft/transport/knative"},
	"sqs":      {KindTransport, "github.com/weftio/weft/transport/sqs"},
}

var (
	driversMu sync.RWMutex
	drivers   = map[string]Driver{}
)

// Register makes a driver available. It panics on a programming error: a
// second driver of one name, or one lacking what its kind needs.
func Register(d Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	switch {
	case d.Name == "" || d.Name == "memory" || strings.ToLower(d.Name) != d.Name:
		panic(fmt.Sprintf("config: driver name %q is reserved or not lower case", d.Name))
	case drivers[d.Name].Name != "":
		panic("config: driver " + d.Name + " registered twice")
	case d.Settings == nil || d.Validate == nil:
		panic("config: driver " + d.Name + " lacks Settings or Validate")
	case d.Kind == KindStorage && d.OpenStorage == nil, d.Kind == KindTransport && d.OpenTransport == nil,
		d.Kind != KindStorage && d.Kind != KindTransport:
		panic("config: driver " + d.Name + " has no opener of its kind")
	}
	drivers[d.Name] = d
}

// Drivers lists the registered drivers by name.
func Drivers() []Driver {
	driversMu.RLock()
	defer driversMu.RUnlock()
	out := make([]Driver, 0, len(drivers))
	for _, d := range drivers {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the registered driver of kind named name.
func Lookup(kind Kind, name string) (Driver, bool) {
	driversMu.RLock()
	defer driversMu.RUnlock()
	d, ok := drivers[name]
	return d, ok && d.Kind == kind
}

// notBuiltIn explains why name cannot be used as a driver of kind.
func notBuiltIn(kind Kind, name string) error {
	var linked, missing []string
	for _, d := range Drivers() {
		if d.Kind == kind {
			linked = append(linked, d.Name)
		}
	}
	for n, k := range knownDrivers {
		if k.Kind == kind && !slices.Contains(linked, n) {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	if k, ok := knownDrivers[name]; ok && k.Kind == kind {
		return fmt.Errorf("the %s %s driver is not built into this binary: import _ %q in its main package", name, kind, k.Pkg)
	}
	msg := fmt.Sprintf("%q is not one of memory", name)
	for _, n := range linked {
		msg += ", " + n
	}
	if len(missing) > 0 {
		msg += " (not built into this binary: " + strings.Join(missing, ", ") + ")"
	}
	return fmt.Errorf("%s", msg)
}

// Settings returns the settings of the named driver (a pointer to the
// struct its Settings function makes), or nil when it is not built in.
func (c *Config) Settings(name string) any { return c.sections[name] }

// SettingsOf returns the named driver's settings as *T, or nil.
func SettingsOf[T any](c *Config, name string) *T {
	s, _ := c.sections[name].(*T)
	return s
}
