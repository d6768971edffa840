package pfdeploy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin"
	adminconfig "github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/weftio/weft"
	"github.com/weftio/weft/app"
	_ "github.com/weftio/weft/app/pulsarfunctions"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/examples"
	"github.com/weftio/weft/examples/fanout"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/linkfix"
	"github.com/weftio/weft/internal/testenv"
	"github.com/weftio/weft/transport/pulsar"
)

// roleTopics are the topic prefixes each role consumes, per workflow and
// per service (DESIGN §2).
var roleTopics = map[string]struct{ workflow, service []string }{
	"state-engine":   {[]string{"workflow-cmd", "workflow-engine", "workflow-delay"}, nil},
	"tag-engine":     {[]string{"workflow-tag"}, []string{"task-tag"}},
	"executor":       {[]string{"workflow-task-executor", "workflow-task-retry"}, []string{"task-executor", "task-retry"}},
	"event-listener": {[]string{"workflow-events"}, []string{"task-events"}},
}

// TestDeployOnFunctionsWorker deploys the role binaries to the test
// broker's functions worker (scripts/pulsar.sh), checks what the worker
// holds, waits for every instance to run, runs a workflow through them,
// redeploys (an update, then a replacement when the inputs change),
// undeploys, undeploys again, and deploys once more.
func TestDeployOnFunctionsWorker(t *testing.T) {
	brokerURL := testenv.URL(t, testenv.PulsarURL)
	adminURL := testenv.URL(t, testenv.PulsarAdminURL)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	adm, err := pulsaradmin.NewClient(&pulsaradmin.Config{WebServiceURL: adminURL, PulsarAPIVersion: adminconfig.V3})
	if err != nil {
		t.Fatal(err)
	}
	tenant, ns := "weft-test", "pfd-"+testenv.Suffix()
	createNamespace(t, adminURL, tenant, ns)

	if _, err := bootstrap.SelectLauncher(config.RuntimePulsarFunctions, nil); err != nil {
		t.Fatalf("the deployed binaries run on the pulsar-functions runtime, which app/pulsarfunctions must register: %v", err)
	}
	redisURL := testenv.URL(t, testenv.RedisURL)
	dir := buildRoles(t)
	env := map[string]string{
		"WEFT_PULSAR_URL": brokerURL, "WEFT_PULSAR_ADMIN_URL": adminURL,
		"WEFT_PULSAR_TENANT": tenant, "WEFT_PULSAR_NAMESPACE": ns,
		"WEFT_STORAGE": "redis", "WEFT_REDIS_URL": redisURL, "WEFT_REDIS_KEY_PREFIX": ns + ":",
		"WEFT_EVENTS_SINK": "http://127.0.0.1:1/events", "WEFT_LOG_LEVEL": "debug",
		"WEFT_ROLES": "", "WEFT_WORKFLOWS": "", "WEFT_SERVICES": "",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	reg := weft.NewRegistry()
	if err := examples.Register(reg, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	runIn := func(ctx context.Context, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := app.Run(ctx, reg, args, &out, &errOut)
		t.Logf("%s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
		return code, out.String(), errOut.String()
	}
	run := func(args ...string) (int, string, string) { return runIn(ctx, args...) }
	t.Cleanup(func() { // before the environment is restored
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		runIn(ctx, "undeploy", "pulsar-functions")
	})
	roles := []string{"state-engine", "tag-engine", "executor", "event-listener"}
	fqfn := func(role string) string { return tenant + "/" + ns + "/weft-" + role }

	// Deploy: created, and running.
	code, out, _ := run("deploy", "pulsar-functions", "-dir", dir, "-parallelism", "1,executor=2", "-wait", "5m")
	for _, r := range roles {
		n := 1
		if r == "executor" {
			n = 2
		}
		if !strings.Contains(out, fqfn(r)+": created") || !strings.Contains(out, fmt.Sprintf("%s: %d of %d instances running", fqfn(r), n, n)) {
			t.Errorf("deploy -wait 5m: exit %d; want %s created and its %d instances running", code, fqfn(r), n)
		}
		checkFunction(t, adm, tenant, ns, r, n, reg.Workflows(), reg.Services(), brokerURL)
	}
	if code != 0 {
		t.Fatalf("deploy: exit %d", code)
	}
	// The functions serve workflows: the state engine, the executor's
	// tasks and the answer to the client all go through them.
	if sum := runFanOut(ctx, t, reg); sum != 385 {
		t.Errorf("FanOut(10) through the deployed functions = %d, want 385", sum)
	}

	// Redeploy: the same inputs, so an update in place.
	code, out, _ = run("deploy", "pulsar-functions", "-dir", dir, "-parallelism", "2", "-wait", "0")
	for _, r := range roles {
		if code != 0 || !strings.Contains(out, fqfn(r)+": updated") {
			t.Errorf("redeploy: exit %d; %s not reported updated", code, fqfn(r))
		}
		checkFunction(t, adm, tenant, ns, r, 2, reg.Workflows(), reg.Services(), brokerURL)
	}

	// Fewer workflows: Pulsar cannot change inputs in place, so the
	// function is replaced.
	t.Setenv("WEFT_ROLES", "state-engine")
	t.Setenv("WEFT_WORKFLOWS", "FanOut")
	code, out, _ = run("deploy", "pulsar-functions", "-dir", dir, "-wait", "0")
	if code != 0 || !strings.Contains(out, fqfn("state-engine")+": replaced") || !strings.Contains(out, "no longer consumed: ") {
		t.Errorf("deploy with WEFT_WORKFLOWS=FanOut: exit %d, want state-engine replaced and the dropped topics named", code)
	}
	checkFunction(t, adm, tenant, ns, "state-engine", 1, []string{"FanOut"}, reg.Services(), brokerURL)
	t.Setenv("WEFT_ROLES", "")
	t.Setenv("WEFT_WORKFLOWS", "")

	// Undeploy removes all four; a second time finds none.
	code, out, _ = run("undeploy", "pulsar-functions")
	for _, r := range roles {
		if code != 0 || !strings.Contains(out, fqfn(r)+": removed") {
			t.Errorf("undeploy: exit %d; %s not reported removed", code, fqfn(r))
		}
		if _, err := adm.Functions().GetFunction(tenant, ns, "weft-"+r); !isNotFound(err) {
			t.Errorf("after undeploy, GetFunction %s: %v, want 404", fqfn(r), err)
		}
	}
	code, out, _ = run("undeploy", "pulsar-functions")
	for _, r := range roles {
		if code != 0 || !strings.Contains(out, fqfn(r)+": not deployed") {
			t.Errorf("second undeploy: exit %d; %s not reported absent", code, fqfn(r))
		}
	}
	// And a function deleted before can be created again (the broker
	// keeps its old packages).
	code, out, _ = run("deploy", "pulsar-functions", "-dir", dir, "-wait", "0")
	if code != 0 || !strings.Contains(out, fqfn("executor")+": created") {
		t.Errorf("deploy after undeploy: exit %d, want the functions created again", code)
	}

	// Functions placed in a namespace of their own that does not exist
	// yet: deploy creates it.
	fnNS := ns + "-fn"
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, adminURL+"/admin/v2/namespaces/"+tenant+"/"+fnNS+"?force=true", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
	t.Setenv("WEFT_ROLES", "tag-engine")
	code, out, _ = run("deploy", "pulsar-functions", "-dir", dir, "-namespace", fnNS, "-wait", "0")
	if code != 0 || !strings.Contains(out, tenant+"/"+fnNS+"/weft-tag-engine: created") {
		t.Errorf("deploy into the missing namespace %s: exit %d, want the tag engine created there", fnNS, code)
	}
	if _, err := adm.Functions().GetFunction(tenant, fnNS, "weft-tag-engine"); err != nil {
		t.Errorf("GetFunction %s/%s/weft-tag-engine: %v", tenant, fnNS, err)
	}
	if code, out, _ = run("undeploy", "pulsar-functions", "-namespace", fnNS); code != 0 || !strings.Contains(out, "weft-tag-engine: removed") {
		t.Errorf("undeploy from %s: exit %d", fnNS, code)
	}
}

// runFanOut runs the FanOut workflow (the sum of the squares of 1..10)
// from a client on the configured transport and storage.
func runFanOut(ctx context.Context, t *testing.T, reg *weft.Registry) int {
	t.Helper()
	cfg, err := config.Load(config.Source{Lookup: func(k string) (string, bool) {
		if k == "WEFT_TRANSPORT" {
			return "pulsar", true
		}
		return os.LookupEnv(k)
	}})
	if err != nil {
		t.Fatalf("client configuration: %v", err)
	}
	stores, err := bootstrap.OpenStorage(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer stores.Close()
	tr, err := bootstrap.OpenTransport(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	c, err := client.New(ctx, client.Config{Name: "pfdeploy-test", Transport: tr, Store: stores.KeyValue, Registry: reg})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer c.Close()
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	sum, err := client.Run(rctx, c, fanout.SumOfSquares, 10)
	if err != nil {
		t.Fatalf("FanOut through the deployed functions: %v", err)
	}
	return sum
}

// checkFunction compares what the worker holds for role's function with
// what deploy must have given it.
func checkFunction(t *testing.T, adm pulsaradmin.Client, tenant, ns, role string, parallelism int, workflows, services []string, brokerURL string) {
	t.Helper()
	fc, err := adm.Functions().GetFunction(tenant, ns, "weft-"+role)
	if err != nil {
		t.Errorf("GetFunction %s: %v", role, err)
		return
	}
	var want []string
	for _, p := range roleTopics[role].workflow {
		for _, w := range workflows {
			want = append(want, pulsar.TopicName(tenant, ns, p+":"+w))
		}
	}
	for _, p := range roleTopics[role].service {
		for _, s := range services {
			want = append(want, pulsar.TopicName(tenant, ns, p+":"+s))
		}
	}
	slices.Sort(want)
	got := slices.Clone(fc.Inputs)
	for topic := range fc.InputSpecs {
		if !slices.Contains(got, topic) {
			got = append(got, topic)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s inputs:\n got %q\nwant %q", role, got, want)
	}
	if fc.SubName != role || fc.Parallelism != parallelism || fc.Runtime != "GO" || !fc.AutoAck ||
		fc.ProcessingGuarantees != "ATLEAST_ONCE" || fc.CleanupSubscription || fc.SubscriptionPosition != "Earliest" {
		t.Errorf("%s: subscription %q parallelism %d runtime %q autoAck %v guarantees %q cleanup %v position %q",
			role, fc.SubName, fc.Parallelism, fc.Runtime, fc.AutoAck, fc.ProcessingGuarantees, fc.CleanupSubscription, fc.SubscriptionPosition)
	}
	uc := fc.UserConfig
	for k, v := range map[string]string{"WEFT_ROLES": role, "WEFT_RUNTIME": "pulsar-functions", "WEFT_TRANSPORT": "pulsar",
		"WEFT_PULSAR_URL": brokerURL, "WEFT_PULSAR_NAMESPACE": ns, "WEFT_STORAGE": "redis",
		"WEFT_WORKFLOWS": strings.Join(workflows, ","), "WEFT_SERVICES": strings.Join(services, ",")} {
		if uc[k] != v {
			t.Errorf("%s: userConfig[%s] = %v, want %q", role, k, uc[k], v)
		}
	}
	for k := range uc {
		if strings.HasPrefix(k, "WEFT_TEST_") || !strings.HasPrefix(k, "WEFT_") {
			t.Errorf("%s: userConfig holds %s, which is no setting of a function", role, k)
		}
	}
	if _, ok := uc["WEFT_EVENTS_SINK"]; ok != (role == "event-listener") {
		t.Errorf("%s: userConfig has WEFT_EVENTS_SINK = %v; only the event listener hands events to the sink", role, ok)
	}
}

// buildRoles builds the four role binaries for the broker's host, as
// `make functions` does, into a temporary folder.
func buildRoles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join("..", "..")
	flags, err := linkfix.BuildFlags(context.Background(), root, filepath.Join(t.TempDir(), "linkfix"))
	if err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{"build"}, flags...), "-trimpath", "-tags", "weft_custom weft_pulsar weft_redis", "-o", dir+string(filepath.Separator),
		"./functions/executor", "./functions/state-engine", "./functions/tag-engine", "./functions/event-listener")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the role binaries: %v\n%s", err, out)
	}
	return dir
}

// createNamespace makes tenant/ns for the test and deletes it, with its
// topics, when the test ends.
func createNamespace(t *testing.T, adminURL, tenant, ns string) {
	t.Helper()
	adm, err := pulsaradmin.NewClient(&pulsaradmin.Config{WebServiceURL: adminURL}) // tenants and namespaces are v2
	if err != nil {
		t.Fatal(err)
	}
	clusters, err := adm.Clusters().List()
	if err != nil {
		t.Fatalf("list clusters: %v", err)
	}
	if err := adm.Tenants().Create(utils.TenantData{Name: tenant, AllowedClusters: clusters}); err != nil && !isConflict(err) {
		t.Fatalf("create tenant %s: %v", tenant, err)
	}
	if err := adm.Namespaces().CreateNamespace(tenant + "/" + ns); err != nil {
		t.Fatalf("create namespace %s/%s: %v", tenant, ns, err)
	}
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, adminURL+"/admin/v2/namespaces/"+tenant+"/"+ns+"?force=true", nil)
		if resp, err := http.DefaultClient.Do(req); err != nil {
			t.Logf("cleanup: delete namespace: %v", err)
		} else {
			resp.Body.Close()
		}
	})
}

func isNotFound(err error) bool {
	var re rest.Error
	return errors.As(err, &re) && re.Code == http.StatusNotFound
}

func isConflict(err error) bool {
	var re rest.Error
	return errors.As(err, &re) && re.Code == http.StatusConflict
}
