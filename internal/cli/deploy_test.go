package cli

import (
	"context"
	"errors"
	"flag"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/weftio/weft/internal/config"
)

// recordingDeployer is a deploy target that records its requests and
// answers with err.
type recordingDeployer struct {
	mu   sync.Mutex
	reqs []DeployRequest
	err  error
}

func (d *recordingDeployer) record(req DeployRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reqs = append(d.reqs, req)
	return d.err
}

func (d *recordingDeployer) Deploy(_ context.Context, req DeployRequest) error { return d.record(req) }
func (d *recordingDeployer) Undeploy(_ context.Context, req DeployRequest) error {
	return d.record(req)
}

var (
	testTarget    = &recordingDeployer{}
	failingTarget = &recordingDeployer{err: errors.New("the broker said no")}
	helpTarget    = &recordingDeployer{err: flag.ErrHelp}
)

func init() {
	RegisterDeployer("test-target", testTarget)
	RegisterDeployer("failing-target", failingTarget)
	RegisterDeployer("help-target", helpTarget)
}

func TestDeployTargets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy"}, "deploy takes a target: deploy <target> [flags] (built into this binary: failing-target, help-target, test-target)"},
		{[]string{"undeploy", "-x"}, "undeploy takes a target"},
		// Not imported by this test binary: the message says what to import.
		{[]string{"deploy", "pulsar-functions"}, `the pulsar-functions deploy target is not built into this binary: import _ "github.com/weftio/weft/app/pulsarfunctions"`},
		{[]string{"undeploy", "pulsar-functions"}, `the pulsar-functions deploy target is not built into this binary`},
		{[]string{"deploy", "heroku"}, `"heroku" is not a deploy target (pulsar-functions)`},
	} {
		code, _, errOut := cli(ctx, c.args...)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 1 and %q", c.args, code, errOut, c.want)
		}
	}
	_, out, _ := cli(ctx, "help")
	for _, w := range []string{"  deploy <target> [flags]", "  undeploy <target> [flags]", "deploy and undeploy targets built into this binary: failing-target, help-target, test-target.",
		"pass secrets as *_FILE paths"} {
		if !strings.Contains(out, w) {
			t.Errorf("usage lacks %q:\n%s", w, out)
		}
	}
}

// TestDeployRequest: a target gets the flags after its name, the
// program's name, roles and registry; its errors name the command, and -h
// is no failure.
func TestDeployRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := examplesProgram
	p.Roles = []config.Role{config.RoleExecutor}
	testTarget.mu.Lock()
	before := len(testTarget.reqs)
	testTarget.mu.Unlock()
	var out, errOut syncBuffer
	if code := Run(ctx, p, []string{"deploy", "test-target", "-dir", "bin"}, &out, &errOut); code != 0 {
		t.Fatalf("deploy test-target: exit %d, stderr %q", code, errOut.String())
	}
	if code := Run(ctx, p, []string{"undeploy", "test-target"}, &out, &errOut); code != 0 {
		t.Fatalf("undeploy test-target: exit %d, stderr %q", code, errOut.String())
	}
	testTarget.mu.Lock()
	reqs := slices.Clone(testTarget.reqs[before:])
	testTarget.mu.Unlock()
	var deploy, undeploy *DeployRequest
	for i := range reqs {
		switch {
		case reqs[i].Command == "deploy test-target" && slices.Equal(reqs[i].Args, []string{"-dir", "bin"}):
			deploy = &reqs[i]
		case reqs[i].Command == "undeploy test-target" && len(reqs[i].Args) == 0:
			undeploy = &reqs[i]
		}
	}
	if deploy == nil || undeploy == nil {
		t.Fatalf("requests %+v: want a deploy with -dir bin and an undeploy without flags", reqs)
	}
	if deploy.Program != "weft" || !slices.Equal(deploy.Roles, p.Roles) || deploy.Out != &out || deploy.Err != &errOut {
		t.Errorf("deploy request %+v: want program weft, roles %v and the command's writers", deploy, p.Roles)
	}
	reg, err := deploy.Registry()
	if err != nil || !slices.Contains(reg.Workflows(), "TripBooking") {
		t.Errorf("the request's registry: %v, %v; want the program's (the examples)", reg, err)
	}
}

func TestDeployerErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if code, _, errOut := cli(ctx, "undeploy", "failing-target"); code != 1 || !strings.Contains(errOut, "weft: undeploy failing-target: the broker said no") {
		t.Errorf("failing target: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := cli(ctx, "deploy", "help-target", "-h"); code != 0 || errOut != "" {
		t.Errorf("-h: exit %d, stderr %q; want 0 and no error", code, errOut)
	}
	defer func() {
		if recover() == nil {
			t.Error("a second deploy target of one name did not panic")
		}
	}()
	RegisterDeployer("failing-target", failingTarget)
}

func TestSelectRoles(t *testing.T) {
	t.Parallel()
	load := func(roles string) *config.Config {
		cfg, err := config.Load(config.Source{Lookup: func(k string) (string, bool) {
			if k == "WEFT_ROLES" {
				return roles, true
			}
			return "", false
		}})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	req := DeployRequest{Program: "weft"}
	if got, err := req.SelectRoles(load("all"), false); err != nil || slices.Contains(got, config.RoleEventListener) || len(got) != 3 {
		t.Errorf("all without a sink: %v, %v; want the three roles but the event listener", got, err)
	}
	if got, err := req.SelectRoles(load("all"), true); err != nil || len(got) != 4 {
		t.Errorf("all with a sink: %v, %v; want all four", got, err)
	}
	if got, err := req.SelectRoles(load("event-listener"), false); err != nil || !slices.Equal(got, []config.Role{config.RoleEventListener}) {
		t.Errorf("event-listener named: %v, %v; want it (its build then says it lacks a sink)", got, err)
	}
	req.Roles = []config.Role{config.RoleTagEngine}
	if _, err := req.SelectRoles(load("executor"), false); err == nil || !strings.Contains(err.Error(), "weft runs the tag-engine role only, not executor") {
		t.Errorf("a tag-engine binary asked for the executor: %v", err)
	}
}
