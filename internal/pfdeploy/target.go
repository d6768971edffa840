package pfdeploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/weftio/weft/internal/cli"
	"github.com/weftio/weft/transport/pulsar"
)

// Target is the pulsar-functions deploy target (cli.Deployer).
type Target struct {
	// Environ is the deploying environment (default os.Environ()).
	Environ func() []string
	// Executable is the binary deployed when neither -dir nor -binary is
	// given (default os.Executable).
	Executable func() (string, error)
}

func (t Target) env() env {
	if t.Environ == nil {
		return newEnv(os.Environ())
	}
	return newEnv(t.Environ())
}

// Deploy creates or updates the function of each role, then waits for
// their instances to run (-wait).
func (t Target) Deploy(ctx context.Context, req cli.DeployRequest) error {
	o, err := parseFlags(req, false)
	if err != nil {
		return err
	}
	e := t.env()
	s, err := load(e, req.Roles)
	if err != nil {
		return err
	}
	printNotes(req.Err, s.notes)
	exe := t.Executable
	if exe == nil {
		exe = os.Executable
	}
	fns, err := plan(req, o, e, s, exe)
	if err != nil {
		return err
	}
	c, err := newClient(s.pulsar)
	if err != nil {
		return err
	}
	c.prepare = func(ctx context.Context) error {
		if err := ensureNamespace(ctx, s.pulsar); err != nil {
			return err
		}
		// The functions' own namespace (-tenant, -namespace), when it is
		// not the topics'.
		if len(fns) > 0 && (fns[0].config.Tenant != s.pulsar.Tenant || fns[0].config.Namespace != s.pulsar.Namespace) {
			return pulsar.EnsureNamespace(ctx, *s.pulsar, fns[0].config.Tenant, fns[0].config.Namespace)
		}
		return nil
	}
	roles := make([]string, len(fns))
	for i, f := range fns {
		roles[i] = string(f.role)
	}
	fmt.Fprintf(req.Out, "%s: %s through %s\n", req.Command, strings.Join(roles, ", "), c.shown)
	for _, f := range fns {
		res, err := c.apply(ctx, f, s.pulsar.OperationTimeout)
		if err != nil {
			return err
		}
		report(req.Out, f, res)
	}
	if o.wait == 0 {
		return nil
	}
	fmt.Fprintf(req.Out, "waiting up to %v for the instances to run (-wait)\n", o.wait)
	return c.waitRunning(ctx, fns, o.wait, s.pulsar.OperationTimeout, req.Out)
}

// Undeploy deletes the function of each role WEFT_ROLES names ("all":
// every role, the event listener included, whether or not a sink is
// configured now). A function that is not there is skipped.
func (t Target) Undeploy(ctx context.Context, req cli.DeployRequest) error {
	o, err := parseFlags(req, true)
	if err != nil {
		return err
	}
	s, err := load(t.env(), req.Roles)
	if err != nil {
		return err
	}
	printNotes(req.Err, s.notes)
	roles, err := req.SelectRoles(s.cfg, true)
	if err != nil {
		return err
	}
	tenant, namespace, err := location(o, s.pulsar)
	if err != nil {
		return err
	}
	c, err := newClient(s.pulsar)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range roles {
		name := o.prefix + string(r)
		gone, err := c.remove(ctx, tenant, namespace, name, s.pulsar.OperationTimeout)
		if err != nil {
			errs = append(errs, err) // the other roles' functions still go
			continue
		}
		if gone {
			fmt.Fprintf(req.Out, "%s/%s/%s: not deployed\n", tenant, namespace, name)
		} else {
			fmt.Fprintf(req.Out, "%s/%s/%s: removed (its subscriptions stay, with their backlog)\n", tenant, namespace, name)
		}
	}
	return errors.Join(errs...)
}

func printNotes(w io.Writer, notes []string) {
	for _, n := range notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// report prints what was done to f: its inputs and the settings it runs
// with, secrets masked.
func report(w io.Writer, f function, res outcome) {
	fmt.Fprintf(w, "%s: %s (role %s, binary %s, parallelism %d, subscription %s)\n",
		f.fqfn(), res.action, f.role, f.binary, f.config.Parallelism, f.config.SubName)
	for _, t := range f.config.Inputs {
		fmt.Fprintf(w, "  input  %s\n", t)
	}
	for _, t := range res.dropped {
		fmt.Fprintf(w, "  no longer consumed: %s (its subscription %s stays: delete it if nothing else reads it)\n", t, f.config.SubName)
	}
	for _, kv := range shown(f.config.UserConfig) {
		fmt.Fprintf(w, "  config %s\n", kv)
	}
}

var _ cli.Deployer = Target{}
