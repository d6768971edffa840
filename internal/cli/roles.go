package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
)

// runRoles runs the roles named by WEFT_ROLES on a runtime: the one named
// (worker, for the worker command), else WEFT_RUNTIME's, else the platform
// that started the process, else the worker.
func runRoles(ctx context.Context, p Program, runtime string, args []string, out, errOut io.Writer) error {
	for _, r := range p.Roles {
		if !slices.Contains(config.AllRoles, r) {
			return fmt.Errorf("%s is built to run the role %q, which is not one of executor, state-engine, tag-engine, event-listener", p.Name, r)
		}
	}
	if runtime == "" {
		runtime = os.Getenv(config.Prefix + "_RUNTIME")
	}
	l, err := bootstrap.SelectLauncher(runtime, args)
	if err != nil {
		return err
	}
	plat, err := l.Setup(args)
	if err != nil {
		return fmt.Errorf("%s runtime: %w", l.Name, err)
	}
	lookup := func(k string) (string, bool) {
		if v, ok := plat.Lookup(k); ok {
			return v, true
		}
		if v, ok := os.LookupEnv(k); ok || k != config.Prefix+"_ROLES" || len(p.Roles) == 0 {
			return v, ok
		}
		return joinRoles(p.Roles), true
	}
	cfg, err := config.Load(config.Source{Lookup: lookup})
	if unknown := config.UnknownErrors(append(os.Environ(), plat.Keys()...)); len(unknown) > 0 {
		err = errors.Join(append([]error{err}, unknown...)...)
	}
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	sink, err := bootstrap.EventSink(cfg)
	if err != nil {
		return err
	}
	roles, err := selectRoles(p.Name, p.Roles, cfg, sink != nil)
	if err != nil {
		return err
	}
	if cfg.Transport == "memory" && len(roles) < len(config.AllRoles) && !allRoles(cfg) {
		return errors.New("WEFT_ROLES: the memory transport connects the roles of one process only, so it runs them all; " +
			"to split roles across processes, configure a broker (WEFT_TRANSPORT)")
	}
	reg, err := p.registry(out)
	if err != nil {
		return err
	}
	mapper, err := bootstrap.Triggers(cfg, reg, "weft/"+p.Name)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	logger := bootstrap.Logger(cfg)
	stores, err := bootstrap.OpenStorage(ctx, cfg)
	if err != nil {
		return err
	}
	defer stores.Close()
	tr, err := bootstrap.OpenTransportWith(ctx, cfg, logger, stores)
	if err != nil {
		return err
	}
	defer tr.Close()
	var sessions *weft.Sessions
	if len(reg.Workflows()) > 0 {
		sessions = reg.NewSessions(0)
		defer sessions.Close()
	}
	rs := bootstrap.Roles{Config: cfg, Registry: reg, Transport: tr, Store: stores.KeyValue, Tags: stores.KeySet,
		Sink: sink, Logger: logger, Sessions: sessions, Triggers: mapper}
	fns, err := rs.Functions(roles)
	if err != nil {
		return err
	}
	workflows, services := rs.Names()
	fmt.Fprintf(out, "%s: %s on the %s runtime (%s transport, %s storage; workflows: %s; services: %s); SIGTERM or Ctrl-C stops it\n",
		p.Name, joinRoles(roles), l.Name, cfg.Transport, cfg.Storage, listOrNone(workflows), listOrNone(services))
	ready := func() { fmt.Fprintf(out, "%s: ready\n", p.Name) }
	check := func(ctx context.Context) error { return bootstrap.Check(ctx, stores, tr) }
	return plat.Run(ctx, &bootstrap.Running{Config: cfg, Functions: fns, Transport: tr, Logger: logger, Ready: ready, Check: check, Triggers: mapper})
}

// selectRoles returns the roles WEFT_ROLES names (cfg.Roles, validated by
// Load), which a role binary's own roles must include; "all" means the
// roles there is work for, so the event listener only when sink says
// events go to a sink.
func selectRoles(program string, own []config.Role, cfg *config.Config, sink bool) ([]config.Role, error) {
	roles, err := config.ParseRoles(cfg.Roles)
	if err != nil {
		return nil, fmt.Errorf("WEFT_ROLES: %w", err)
	}
	for _, r := range roles {
		if len(own) > 0 && !slices.Contains(own, r) {
			return nil, fmt.Errorf("WEFT_ROLES: %s runs the %s role only, not %s", program, joinRoles(own), r)
		}
	}
	if allRoles(cfg) && !sink {
		roles = slices.DeleteFunc(roles, func(r config.Role) bool { return r == config.RoleEventListener })
	}
	return roles, nil
}

// allRoles reports whether WEFT_ROLES asks for every role.
func allRoles(cfg *config.Config) bool {
	r := strings.TrimSpace(cfg.Roles)
	return r == "" || r == "all"
}

func joinRoles(roles []config.Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return strings.Join(names, ",")
}
