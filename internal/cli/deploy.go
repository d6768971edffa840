package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/config"
)

// Deployer puts a program's roles on a platform (deploy <target>) and takes
// them off again (undeploy <target>). A target's package registers it from
// an init function, so a binary has only the targets its main imports and
// this package links no platform's client.
type Deployer interface {
	// Deploy creates or updates the platform's functions of the roles and
	// reports on req.Out what it did. req.Args are the flags after the
	// target's name; -h prints them and returns flag.ErrHelp.
	Deploy(ctx context.Context, req DeployRequest) error
	// Undeploy removes what Deploy made; what is missing already is no
	// error.
	Undeploy(ctx context.Context, req DeployRequest) error
}

// DeployRequest is what a deploy or undeploy command hands its target.
type DeployRequest struct {
	// Program names the binary in messages ("weft", "greeter").
	Program string
	// Command is "deploy <target>" or "undeploy <target>", for the flag
	// set's name and messages.
	Command string
	// Args are the command line after the target's name.
	Args []string
	// Roles, when set, are the only roles the binary runs (a role binary):
	// WEFT_ROLES defaults to them and may name no other.
	Roles []config.Role
	// Registry returns the program's services and workflows.
	Registry func() (*weft.Registry, error)
	Out, Err io.Writer
}

// SelectRoles returns the roles WEFT_ROLES names (cfg.Roles), as a process
// would run them: within the binary's own roles, and for "all" the event
// listener only when sink says an event sink is configured.
func (r DeployRequest) SelectRoles(cfg *config.Config, sink bool) ([]config.Role, error) {
	return selectRoles(r.Program, r.Roles, cfg, sink)
}

// deployPackages names the package that builds each known target in, for
// the error when one is missing.
var deployPackages = map[string]string{
	config.RuntimePulsarFunctions: "github.com/weftio/weft/app/pulsarfunctions",
}

var (
	deployersMu sync.RWMutex
	deployers   = map[string]Deployer{}
)

// RegisterDeployer makes the deploy target name available; it panics on a
// second one of a name.
func RegisterDeployer(name string, d Deployer) {
	deployersMu.Lock()
	defer deployersMu.Unlock()
	if _, dup := deployers[name]; dup || name == "" || d == nil {
		panic(fmt.Sprintf("cli: deploy target %q registered twice, or without a name or a Deployer", name))
	}
	deployers[name] = d
}

// deployTargets lists the targets built into this binary.
func deployTargets() []string {
	deployersMu.RLock()
	defer deployersMu.RUnlock()
	names := make([]string, 0, len(deployers))
	for n := range deployers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// deployer returns the target named, or an error saying what to import or
// which targets there are.
func deployer(name string) (Deployer, error) {
	deployersMu.RLock()
	d, ok := deployers[name]
	deployersMu.RUnlock()
	switch {
	case ok:
		return d, nil
	case deployPackages[name] != "":
		return nil, fmt.Errorf("the %s deploy target is not built into this binary: import _ %q", name, deployPackages[name])
	}
	return nil, fmt.Errorf("%q is not a deploy target (%s)", name, strings.Join(slices.Sorted(maps.Keys(deployPackages)), ", "))
}

// runDeploy implements `deploy <target> [flags]` and, with undeploy,
// `undeploy <target> [flags]`.
func runDeploy(ctx context.Context, p Program, undeploy bool, args []string, out, errOut io.Writer) error {
	cmd := "deploy"
	if undeploy {
		cmd = "undeploy"
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("%s takes a target: %s <target> [flags] (built into this binary: %s)", cmd, cmd, listOrNone(deployTargets()))
	}
	d, err := deployer(args[0])
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	req := DeployRequest{Program: p.Name, Command: cmd + " " + args[0], Args: args[1:], Roles: p.Roles,
		Registry: func() (*weft.Registry, error) { return p.registry(io.Discard) }, Out: out, Err: errOut}
	if undeploy {
		err = d.Undeploy(ctx, req)
	} else {
		err = d.Deploy(ctx, req)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return fmt.Errorf("%s: %w", req.Command, err)
	}
	return err
}
