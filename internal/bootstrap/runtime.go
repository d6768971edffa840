package bootstrap

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/triggers"
	"github.com/weftio/weft/transport"
)

// Launcher drives the roles of a process on one platform. The worker
// runtime is built in; the others register themselves when their package
// is imported (see RegisterLauncher).
type Launcher struct {
	// Name is the WEFT_RUNTIME value.
	Name string
	// Detect reports whether the process was started by the platform (its
	// arguments or environment say so unambiguously).
	Detect func(args []string, getenv func(string) string) bool
	// Setup reads what the platform passed on the command line.
	Setup func(args []string) (Platform, error)
}

// Platform is one started runtime.
type Platform interface {
	// Lookup returns a setting the platform gives (a Pulsar Function's
	// user config, its broker URL), consulted before the environment.
	Lookup(key string) (string, bool)
	// Keys lists the WEFT_* settings Lookup knows, so unknown ones are
	// refused like unknown environment variables.
	Keys() []string
	// Run runs the functions until ctx ends, then stops gracefully.
	Run(ctx context.Context, p *Running) error
}

// Running is what a platform runs.
type Running struct {
	Config    *config.Config
	Functions []functions.Function
	Transport transport.Transport
	Logger    *slog.Logger
	// Ready, when set, is called once every function takes messages.
	Ready func()
	// Check, when set, tells whether the storage and the transport answer
	// (a readiness probe's question).
	Check func(ctx context.Context) error
	// Triggers maps the CloudEvents of users' own types to commands (nil:
	// none configured).
	Triggers *triggers.Mapper
}

// runtimePackages names the package that builds each runtime in, for the
// error when one is missing.
var runtimePackages = map[string]string{
	config.RuntimePulsarFunctions: "github.com/weftio/weft/app/pulsarfunctions",
	config.RuntimeKnative:         "github.com/weftio/weft/app/knative",
	config.RuntimeLambda:          "github.com/weftio/weft/app/lambda",
}

var (
	runtimesMu sync.RWMutex
	runtimes   = map[string]Launcher{config.RuntimeWorker: workerRuntime}
)

// RegisterLauncher makes a runtime available; it panics on a second one of
// a name.
func RegisterLauncher(r Launcher) {
	runtimesMu.Lock()
	defer runtimesMu.Unlock()
	if _, dup := runtimes[r.Name]; dup || r.Name == "" || r.Setup == nil {
		panic(fmt.Sprintf("bootstrap: runtime %q registered twice, or without a name or Setup", r.Name))
	}
	runtimes[r.Name] = r
}

// SelectLauncher returns the runtime named (WEFT_RUNTIME), or, when name is
// empty, the one whose platform started the process, else the worker.
func SelectLauncher(name string, args []string) (Launcher, error) {
	runtimesMu.RLock()
	defer runtimesMu.RUnlock()
	if name == "" {
		var found []string
		for n, r := range runtimes {
			if r.Detect != nil && r.Detect(args, os.Getenv) {
				found = append(found, n)
			}
		}
		sort.Strings(found)
		switch len(found) {
		case 0:
			name = detectUnlinked(args)
		case 1:
			return runtimes[found[0]], nil
		default:
			return Launcher{}, fmt.Errorf("WEFT_RUNTIME: the platform is ambiguous (%v all match); set WEFT_RUNTIME", found)
		}
	}
	if r, ok := runtimes[name]; ok {
		return r, nil
	}
	if pkg, ok := runtimePackages[name]; ok {
		return Launcher{}, fmt.Errorf("WEFT_RUNTIME: the %s runtime is not built into this binary: import _ %q in its main package", name, pkg)
	}
	return Launcher{}, fmt.Errorf("WEFT_RUNTIME: %q is not a runtime (worker, pulsar-functions, knative, lambda)", name)
}

// detectUnlinked names the runtime of a platform that started the process
// although its runtime is not built in, so the error says so instead of
// running as a worker where nobody expects one; "worker" otherwise.
func detectUnlinked(args []string) string {
	for _, a := range args {
		flag, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (flag == "instance-conf" || flag == "instance-conf-path") {
			return config.RuntimePulsarFunctions
		}
	}
	switch {
	case os.Getenv("AWS_LAMBDA_RUNTIME_API") != "":
		return config.RuntimeLambda
	case os.Getenv("K_SERVICE") != "":
		return config.RuntimeKnative
	}
	return config.RuntimeWorker
}

// Triggers compiles the configured triggers against the registry's code
// (nil when none are configured); the error names every trigger at fault.
func Triggers(cfg *config.Config, reg triggers.InputChecker, source string) (*triggers.Mapper, error) {
	if len(cfg.Triggers) == 0 {
		return nil, nil
	}
	m, err := triggers.Compile(cfg.Triggers, reg, source)
	if err != nil {
		return nil, fmt.Errorf("WEFT_TRIGGERS (triggers):\n%w", err)
	}
	return m, nil
}
