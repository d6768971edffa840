package pfdeploy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/cli"
	"github.com/weftio/weft/internal/config"
	storagememory "github.com/weftio/weft/storage/memory"
	transportmemory "github.com/weftio/weft/transport/memory"
	"github.com/weftio/weft/transport/pulsar"
)

// function is one role's Pulsar Function as deploy makes it.
type function struct {
	role   config.Role
	binary string
	config utils.FunctionConfig
}

// fqfn is the function's tenant/namespace/name.
func (f function) fqfn() string {
	return f.config.Tenant + "/" + f.config.Namespace + "/" + f.config.Name
}

// plan builds the function of every role the configuration selects.
// Nothing here talks to the broker.
func plan(req cli.DeployRequest, o options, e env, s settings, executable func() (string, error)) ([]function, error) {
	cfg := s.cfg
	roles, err := req.SelectRoles(cfg, cfg.Events.Sink != "")
	if err != nil {
		return nil, err
	}
	if err := checkStorage(cfg, roles); err != nil {
		return nil, err
	}
	tenant, namespace, err := location(o, s.pulsar)
	if err != nil {
		return nil, err
	}
	par, err := parseParallelism(o.parallelism, roles)
	if err != nil {
		return nil, err
	}
	bins, err := binaries(o, roles, executable)
	if err != nil {
		return nil, err
	}
	reg, err := req.Registry()
	if err != nil {
		return nil, err
	}
	// The roles' own functions say what they consume and which consumer
	// group they join: built on in-memory drivers, only to be asked.
	tr, store := transportmemory.New(), storagememory.New()
	defer tr.Close()
	defer store.Close()
	rs := bootstrap.Roles{Config: cfg, Registry: reg, Transport: tr, Store: store, Tags: store}
	if cfg.Events.Sink != "" {
		rs.Sink = listingSink
	}
	fns, err := rs.Functions(roles)
	if err != nil {
		return nil, err
	}
	workflows, services := rs.Names()
	out := make([]function, len(roles))
	for i, role := range roles {
		var inputs []string
		for _, sub := range fns[i].Subscriptions() {
			inputs = append(inputs, pulsar.TopicName(s.pulsar.Tenant, s.pulsar.Namespace, sub.Topic))
		}
		slices.Sort(inputs)
		uc := map[string]any{}
		for k, v := range userConfig(e, s, role, workflows, services) {
			uc[k] = v
		}
		file := filepath.Base(bins[role])
		out[i] = function{role: role, binary: bins[role], config: utils.FunctionConfig{
			Tenant: tenant, Namespace: namespace, Name: o.prefix + string(role),
			Runtime: utils.GoRuntime, Go: &file,
			Inputs: slices.Compact(inputs),
			// AutoAck is sent whether set or not: left false, nothing
			// would be acknowledged.
			AutoAck:              true,
			ProcessingGuarantees: "ATLEAST_ONCE",
			// The consumer group a worker of the role joins, so workers
			// and functions share the backlog and can replace each other.
			SubName: fns[i].Name(),
			// A message published before the function first subscribes
			// must reach it, and a redeploy must keep what is pending.
			SubscriptionPosition: "Earliest",
			CleanupSubscription:  false,
			Parallelism:          par[role],
			LogTopic:             o.logTopic,
			UserConfig:           uc,
		}}
	}
	return out, nil
}

// pulsarName is what Pulsar accepts in tenant, namespace and function names.
var pulsarName = regexp.MustCompile(`^[-=:.\w]+$`)

// location returns the functions' tenant and namespace: the flags', else
// the transport's.
func location(o options, pc *pulsar.Config) (tenant, namespace string, err error) {
	tenant, namespace = o.tenant, o.namespace
	if tenant == "" {
		tenant = pc.Tenant
	}
	if namespace == "" {
		namespace = pc.Namespace
	}
	for _, c := range []struct{ flag, v string }{{"-tenant", tenant}, {"-namespace", namespace}, {"-prefix", o.prefix}} {
		if !pulsarName.MatchString(c.v) && (c.v != "" || c.flag != "-prefix") {
			return "", "", fmt.Errorf("%s %q: only letters, digits and - _ = : . are allowed", c.flag, c.v)
		}
	}
	return tenant, namespace, nil
}

// listingSink stands in for the event sink while the roles are built to be
// asked what they consume; it is never called.
func listingSink(context.Context, core.Envelope, *core.Event) error {
	return errors.New("pfdeploy: the stand-in event sink of a deploy was called")
}
