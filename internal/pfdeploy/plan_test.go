package pfdeploy

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/examples/greeter"
	"github.com/weftio/weft/internal/cli"
	"github.com/weftio/weft/internal/config"
	_ "github.com/weftio/weft/storage/redis" // WEFT_STORAGE=redis
)

// greeterReq is a deploy of the greeter's program: service Greeter,
// workflow Greeting.
func greeterReq(args ...string) cli.DeployRequest {
	return cli.DeployRequest{Program: "greeter", Command: "deploy pulsar-functions", Args: args,
		Registry: func() (*weft.Registry, error) {
			reg := weft.NewRegistry()
			return reg, greeter.Register(reg)
		}, Out: io.Discard, Err: io.Discard}
}

// baseEnv is a valid deploying environment plus extra.
func baseEnv(extra ...string) []string {
	return append([]string{
		"WEFT_PULSAR_URL=pulsar://broker:6650",
		"WEFT_PULSAR_ADMIN_URL=http://broker:8080",
		"WEFT_PULSAR_TENANT=acme",
		"WEFT_PULSAR_NAMESPACE=flows",
		"WEFT_STORAGE=redis",
		"WEFT_REDIS_URL=redis://redis:6379/0",
		"HOME=/home/someone",
	}, extra...)
}

// testBinary is an executable Linux program: the test binary itself.
func testBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// planOf runs deploy's steps up to the functions it would create.
func planOf(t *testing.T, req cli.DeployRequest, environ []string) ([]function, settings, error) {
	t.Helper()
	o, err := parseFlags(req, false)
	if err != nil {
		return nil, settings{}, err
	}
	e := newEnv(environ)
	s, err := load(e, req.Roles)
	if err != nil {
		return nil, s, err
	}
	exe := testBinary(t)
	fns, err := plan(req, o, e, s, func() (string, error) { return exe, nil })
	return fns, s, err
}

func byRole(fns []function) map[config.Role]function {
	m := map[config.Role]function{}
	for _, f := range fns {
		m[f.role] = f
	}
	return m
}

// TestInputsAreTheRolesSubscriptions: every function consumes exactly its
// role's topics, in the transport's tenant and namespace, and joins the
// consumer group a worker of the role joins.
func TestInputsAreTheRolesSubscriptions(t *testing.T) {
	t.Parallel()
	fns, _, err := planOf(t, greeterReq(), baseEnv("WEFT_EVENTS_SINK=http://sink:9000/events"))
	if err != nil {
		t.Fatal(err)
	}
	topic := func(s string) string { return "persistent://acme/flows/" + s }
	want := map[config.Role][]string{
		config.RoleStateEngine:   {topic("workflow-cmd:Greeting"), topic("workflow-delay:Greeting"), topic("workflow-engine:Greeting")},
		config.RoleTagEngine:     {topic("task-tag:Greeter"), topic("workflow-tag:Greeting")},
		config.RoleExecutor:      {topic("task-executor:Greeter"), topic("task-retry:Greeter"), topic("workflow-task-executor:Greeting"), topic("workflow-task-retry:Greeting")},
		config.RoleEventListener: {topic("task-events:Greeter"), topic("workflow-events:Greeting")},
	}
	got := byRole(fns)
	if len(fns) != len(want) {
		t.Fatalf("%d functions, want one per role: %v", len(fns), fns)
	}
	exe := testBinary(t)
	for role, inputs := range want {
		f, ok := got[role]
		if !ok {
			t.Errorf("no function for %s", role)
			continue
		}
		c := f.config
		if !slices.Equal(c.Inputs, inputs) {
			t.Errorf("%s inputs:\n got %q\nwant %q", role, c.Inputs, inputs)
		}
		if c.SubName != string(role) || c.Name != "weft-"+string(role) || c.Tenant != "acme" || c.Namespace != "flows" {
			t.Errorf("%s: subscription %q, function %s/%s/%s; want subscription %s, function acme/flows/weft-%s",
				role, c.SubName, c.Tenant, c.Namespace, c.Name, role, role)
		}
		if c.Runtime != "GO" || !c.AutoAck || c.ProcessingGuarantees != "ATLEAST_ONCE" || c.SubscriptionPosition != "Earliest" ||
			c.CleanupSubscription || c.Parallelism != 1 || c.Output != "" || c.MaxMessageRetries != nil || c.RetainKeyOrdering {
			t.Errorf("%s: runtime %q autoAck %v guarantees %q position %q cleanup %v parallelism %d output %q retries %v keyOrdering %v",
				role, c.Runtime, c.AutoAck, c.ProcessingGuarantees, c.SubscriptionPosition, c.CleanupSubscription, c.Parallelism,
				c.Output, c.MaxMessageRetries, c.RetainKeyOrdering)
		}
		if f.binary != exe || c.Go == nil || *c.Go != filepath.Base(exe) {
			t.Errorf("%s: binary %q (go %v), want this program %q by default", role, f.binary, c.Go, exe)
		}
	}
}

func TestFlagsPlaceTheFunctionsNotTheTopics(t *testing.T) {
	t.Parallel()
	fns, _, err := planOf(t, greeterReq("-tenant", "ops", "-namespace", "fns", "-prefix", "greeter-", "-log-topic", "logs",
		"-parallelism", "2,executor=5"), baseEnv())
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 3 {
		t.Fatalf("%d functions, want 3: the event listener only when a sink is set", len(fns))
	}
	for _, f := range fns {
		c := f.config
		want := 2
		if f.role == config.RoleExecutor {
			want = 5
		}
		if c.Tenant != "ops" || c.Namespace != "fns" || c.Name != "greeter-"+string(f.role) || c.Parallelism != want || c.LogTopic != "logs" {
			t.Errorf("%s: %s/%s/%s parallelism %d log topic %q; want ops/fns/greeter-%s, %d, logs",
				f.role, c.Tenant, c.Namespace, c.Name, c.Parallelism, c.LogTopic, f.role, want)
		}
		for _, in := range c.Inputs {
			if !strings.HasPrefix(in, "persistent://acme/flows/") {
				t.Errorf("%s consumes %s, want the transport's acme/flows topics", f.role, in)
			}
		}
	}
}

func TestRoleSelection(t *testing.T) {
	t.Parallel()
	roles := func(fns []function) []config.Role {
		var out []config.Role
		for _, f := range fns {
			out = append(out, f.role)
		}
		return out
	}
	fns, _, err := planOf(t, greeterReq(), baseEnv("WEFT_ROLES=executor,tag-engine"))
	if err != nil || !slices.Equal(roles(fns), []config.Role{config.RoleTagEngine, config.RoleExecutor}) {
		t.Errorf("WEFT_ROLES=executor,tag-engine: roles %v, %v", roles(fns), err)
	}
	// A role binary deploys its own role by default, and no other.
	req := greeterReq()
	req.Roles = []config.Role{config.RoleStateEngine}
	fns, _, err = planOf(t, req, baseEnv())
	if err != nil || !slices.Equal(roles(fns), []config.Role{config.RoleStateEngine}) {
		t.Errorf("state-engine binary: roles %v, %v", roles(fns), err)
	}
	if _, _, err := planOf(t, req, baseEnv("WEFT_ROLES=executor")); err == nil || !strings.Contains(err.Error(), "runs the state-engine role only") {
		t.Errorf("state-engine binary with WEFT_ROLES=executor: %v", err)
	}
}

func TestUserConfig(t *testing.T) {
	t.Parallel()
	env := baseEnv("WEFT_LOG_LEVEL=debug", "WEFT_RUNTIME=worker", "WEFT_WORKFLOWS=Greeting",
		"WEFT_DEV_TOKEN=0123456789abcdef0123", "WEFT_TEST_PULSAR_URL=pulsar://x:1", "NOT_WEFT=1",
		"WEFT_REDIS_PASSWORD_FILE=/run/secrets/nowhere-"+t.Name(), "WEFT_EVENTS_SINK=http://sink:9000/events?token=s3cret")
	fns, s, err := planOf(t, greeterReq(), env)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.notes) != 1 || !strings.Contains(s.notes[0], "WEFT_REDIS_PASSWORD_FILE") {
		t.Errorf("notes %q, want one about the password file this machine lacks", s.notes)
	}
	for _, f := range fns {
		want := map[string]any{
			"WEFT_PULSAR_URL": "pulsar://broker:6650", "WEFT_PULSAR_ADMIN_URL": "http://broker:8080",
			"WEFT_PULSAR_TENANT": "acme", "WEFT_PULSAR_NAMESPACE": "flows",
			"WEFT_STORAGE": "redis", "WEFT_REDIS_URL": "redis://redis:6379/0",
			"WEFT_REDIS_PASSWORD_FILE": "/run/secrets/nowhere-" + t.Name(), // a path for the worker's hosts
			"WEFT_LOG_LEVEL":           "debug",
			"WEFT_ROLES":               string(f.role), "WEFT_RUNTIME": "pulsar-functions", "WEFT_TRANSPORT": "pulsar",
			"WEFT_WORKFLOWS": "Greeting", "WEFT_SERVICES": "Greeter",
		}
		if f.role == config.RoleEventListener {
			want["WEFT_EVENTS_SINK"] = "http://sink:9000/events?token=s3cret"
		} else {
			want["WEFT_EVENTS_ENABLED"] = "true"
		}
		for k, v := range want {
			if got, ok := f.config.UserConfig[k]; !ok || got != v {
				t.Errorf("%s: userConfig[%s] = %v (present %v), want %q", f.role, k, got, ok, v)
			}
		}
		for k := range f.config.UserConfig {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: userConfig has %s, which it should not", f.role, k)
			}
		}
	}
}

func TestShownMasksSecrets(t *testing.T) {
	t.Parallel()
	uc := map[string]any{
		"WEFT_PULSAR_TOKEN":      "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig",
		"WEFT_REDIS_PASSWORD":    "hunter2hunter2",
		"WEFT_REDIS_URL":         "redis://weft:pa55word@redis:6379/0",
		"WEFT_EVENTS_SINK":       "http://sink/in?token=t0ken-value",
		"WEFT_POSTGRES_URL":      "host=db password=pgs3cret dbname=app",
		"WEFT_PULSAR_TOKEN_FILE": "/run/secrets/pulsar-token",
		"WEFT_ROLES":             "executor",
	}
	text := strings.Join(shown(uc), "\n")
	for _, secret := range []string{"eyJhbGciOiJIUzI1NiJ9", "hunter2", "pa55word", "t0ken-value", "pgs3cret"} {
		if strings.Contains(text, secret) {
			t.Errorf("shown userConfig holds the secret %q:\n%s", secret, text)
		}
	}
	for _, kept := range []string{"WEFT_ROLES=executor", "WEFT_PULSAR_TOKEN_FILE=/run/secrets/pulsar-token", "redis:6379/0", "WEFT_PULSAR_TOKEN=xxxxx"} {
		if !strings.Contains(text, kept) {
			t.Errorf("shown userConfig lacks %q:\n%s", kept, text)
		}
	}
}
