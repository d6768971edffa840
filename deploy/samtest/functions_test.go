package samtest

import (
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/examples"
	"github.com/weftio/weft/internal/config"
	_ "github.com/weftio/weft/storage/mysql"    // its settings: WEFT_MYSQL_*
	_ "github.com/weftio/weft/storage/postgres" // WEFT_POSTGRES_*
	_ "github.com/weftio/weft/storage/redis"    // WEFT_REDIS_*
)

// The Lambda runtime reads the storage URL at start from the variable's
// secret (Secrets Manager) or SecureString parameter (SSM) named by these.
var urlSources = []string{"_SECRET_ARN", "_SSM_PARAMETER"}

// present lists the roles the stack runs.
func (s *stack) present() []role {
	var out []role
	for _, r := range roles {
		if !r.needsEvents || s.param("EventsSink") != "" {
			out = append(out, r)
		}
	}
	return out
}

func (s *stack) env(function string) map[string]string {
	out := map[string]string{}
	for k, v := range asMap(asMap(s.props(function)["Environment"])["Variables"]) {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// TestFunctions: one function per role, built by the Makefile for arm64
// on provided.al2023, with the settings of a Lambda deployment on SQS.
func TestFunctions(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, sc.override)
			var want []string
			for _, r := range s.present() {
				want = append(want, r.function)
			}
			sort.Strings(want)
			if got := s.ofType("AWS::Serverless::Function"); !slices.Equal(got, want) {
				t.Errorf("functions %v, want %v", got, want)
			}
			for _, r := range s.present() {
				checkFunction(t, s, r)
			}
		})
	}
}

func checkFunction(t *testing.T, s *stack, r role) {
	t.Helper()
	p := s.props(r.function)
	if asMap(s.resources[r.function]["Metadata"])["BuildMethod"] != "makefile" {
		t.Errorf("%s: Metadata %v, want BuildMethod makefile", r.function, s.resources[r.function]["Metadata"])
	}
	timeout := "FunctionTimeout"
	if r.name == "executor" {
		timeout = "ExecutorTimeout"
	}
	if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" || fmt.Sprint(p["Architectures"]) != "[arm64]" || p["Timeout"] != s.param(timeout) {
		t.Errorf("%s: Runtime %v, Handler %v, Architectures %v, Timeout %v: want provided.al2023, bootstrap, arm64 and %s",
			r.function, p["Runtime"], p["Handler"], p["Architectures"], p["Timeout"], timeout)
	}
	vpc := asMap(p["VpcConfig"])
	if subnets := s.params["SubnetIds"].([]string); slices.Equal(subnets, []string{""}) != (vpc == nil) ||
		vpc != nil && (!slices.Equal(strList(vpc["SubnetIds"]), subnets) || !slices.Equal(strList(vpc["SecurityGroupIds"]), s.params["SecurityGroupIds"].([]string))) {
		t.Errorf("%s: VpcConfig %v with SubnetIds %v", r.function, vpc, subnets)
	}
	env := s.env(r.function)
	events := fmt.Sprint(s.param("EventsSink") != "")
	want := map[string]string{
		"WEFT_RUNTIME": "lambda", "WEFT_TRANSPORT": "sqs", "WEFT_SQS_QUEUE_PREFIX": s.param("QueuePrefix"),
		"WEFT_SQS_CREATE_QUEUES": "false", "WEFT_SQS_DELAY_PUMP": "false",
		"WEFT_WORKFLOWS": strings.Join(s.params["Workflows"].([]string), ","), "WEFT_SERVICES": strings.Join(s.params["Services"].([]string), ","),
		"WEFT_EVENTS_ENABLED": events, "WEFT_LOG_LEVEL": s.param("LogLevel"), "WEFT_LOG_FORMAT": "json",
	}
	if r.storage {
		want["WEFT_STORAGE"] = s.param("Storage")
		setting := "WEFT_" + strings.ToUpper(s.param("Storage")) + "_URL"
		if s.param("StorageUrlSecretArn") != "" {
			want[setting+"_SECRET_ARN"] = s.param("StorageUrlSecretArn")
		} else {
			want[setting+"_SSM_PARAMETER"] = s.param("StorageUrlSsmParameter")
		}
	} else {
		// The event listener keeps nothing: no storage, no storage URL.
		want["WEFT_STORAGE"] = "memory"
		want["WEFT_EVENTS_SINK"] = s.param("EventsSink")
	}
	if !maps.Equal(env, want) {
		t.Errorf("%s: environment\n%v\nwant\n%v", r.function, env, want)
	}
}

// TestSettings: what the functions are given are weft's settings: every
// variable a setting (those of the SQS transport aside, which its package
// checks), each storage URL variable the URL setting of its storage, and
// the parameters' choices values weft takes.
func TestSettings(t *testing.T) {
	t.Parallel()
	s := newStack(t, scenarios[0].override)
	names := map[string]bool{}
	for _, sc := range scenarios {
		s := newStack(t, sc.override)
		for _, r := range s.present() {
			for k := range s.env(r.function) {
				names[k] = true
			}
		}
	}
	for _, st := range strs(asList(s.parameters["Storage"]["AllowedValues"])) {
		if _, ok := config.Lookup(config.KindStorage, st); !ok {
			t.Errorf("Storage allows %s, which is no storage driver", st)
		}
		for _, src := range urlSources {
			names["WEFT_"+strings.ToUpper(st)+"_URL"+src] = true
		}
	}
	var environ []string
	for k := range names {
		if strings.HasPrefix(k, "WEFT_SQS_") {
			continue
		}
		for _, src := range urlSources {
			if base, ok := strings.CutSuffix(k, src); ok {
				if known, _ := config.Variable(base); !known {
					t.Errorf("%s names the source of %s, which is no weft setting", k, base)
				}
				k = ""
			}
		}
		if k != "" {
			environ = append(environ, k+"=x")
		}
	}
	sort.Strings(environ)
	for _, err := range config.UnknownErrors(environ) {
		t.Error(err)
	}
	for _, level := range strs(asList(s.parameters["LogLevel"]["AllowedValues"])) {
		if _, err := config.Load(config.Source{Lookup: func(k string) (string, bool) {
			if k == "WEFT_LOG_LEVEL" {
				return level, true
			}
			return "", false
		}}); err != nil {
			t.Errorf("LogLevel %s: %v", level, err)
		}
	}
}

// TestStorageURL: the storage URL is given as exactly one of a secret and
// a parameter, for any storage, and only that one reaches the functions.
func TestStorageURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		secret, ssm string
		holds       bool
	}{{"", "", false}, {secretArn, "", true}, {"", ssmParameter, true}, {secretArn, ssmParameter, false}} {
		s := newStack(t, map[string]string{"StorageUrlSecretArn": c.secret, "StorageUrlSsmParameter": c.ssm})
		if s.rulesHold() != c.holds {
			t.Errorf("secret %q, parameter %q: the rules hold %v, want %v", c.secret, c.ssm, !c.holds, c.holds)
		}
	}
	for _, c := range []struct {
		subnets, groups string
		holds           bool
	}{{"subnet-1", "", false}, {"", "sg-1", false}, {"subnet-1,subnet-2", "sg-1", true}} {
		s := newStack(t, map[string]string{"StorageUrlSecretArn": secretArn, "SubnetIds": c.subnets, "SecurityGroupIds": c.groups})
		if s.rulesHold() != c.holds {
			t.Errorf("subnets %q, security groups %q: the rules hold %v, want %v", c.subnets, c.groups, !c.holds, c.holds)
		}
	}
	base := newStack(t, scenarios[0].override)
	for _, st := range strs(asList(base.parameters["Storage"]["AllowedValues"])) {
		for _, src := range []map[string]string{{"StorageUrlSecretArn": secretArn}, {"StorageUrlSsmParameter": ssmParameter}} {
			o := maps.Clone(src)
			o["Storage"] = st
			s := newStack(t, o)
			for _, r := range s.present() {
				checkFunction(t, s, r)
			}
		}
	}
}

// TestExamples: the defaults are the bundled examples' workflows and
// services, which the role binaries run.
func TestExamples(t *testing.T) {
	t.Parallel()
	reg := weft.NewRegistry()
	if err := examples.Register(reg, io.Discard); err != nil {
		t.Fatal(err)
	}
	s := newStack(t, scenarios[0].override)
	for _, c := range []struct {
		param string
		want  []string
	}{{"Workflows", reg.Workflows()}, {"Services", reg.Services()}} {
		got := slices.Sorted(slices.Values(s.params[c.param].([]string)))
		if want := slices.Sorted(slices.Values(c.want)); !slices.Equal(got, want) {
			t.Errorf("%s defaults to %v, the examples have %v", c.param, got, want)
		}
	}
}

// TestMakeTargets: sam build finds build-<LogicalId> for every function,
// which builds its role's binary as the function's bootstrap for arm64
// with the SQS transport, the Lambda runtime and every storage the
// template allows; make lambda builds all four.
func TestMakeTargets(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	s := newStack(t, scenarios[0].override)
	tags := "lambda.norpc weft_custom weft_sqs weft_lambda"
	for _, st := range strs(asList(s.parameters["Storage"]["AllowedValues"])) {
		tags += " weft_" + st
	}
	makeN := func(args ...string) string {
		out, err := exec.Command("make", append([]string{"-C", "../..", "-n", "-s"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	for _, r := range roles {
		out := makeN("build-"+r.function, "ARTIFACTS_DIR=/artifacts/"+r.function)
		for _, want := range []string{"GOOS=linux GOARCH=arm64 CGO_ENABLED=0", "-tags '" + tags + "'",
			"-o /artifacts/" + r.function + "/bootstrap ./functions/" + r.name, "cmd/weft-linkfix"} {
			if !strings.Contains(out, want) {
				t.Errorf("make build-%s does not run %q:\n%s", r.function, want, out)
			}
		}
	}
	out := makeN("lambda", "GOARCH=amd64")
	for _, r := range roles {
		if want := "GOARCH=amd64 CGO_ENABLED=0"; !strings.Contains(out, want) || !strings.Contains(out, "-o bin/lambda/"+r.name+"/bootstrap ./functions/"+r.name) {
			t.Errorf("make lambda does not build bin/lambda/%s/bootstrap for amd64:\n%s", r.name, out)
		}
	}
}

// TestSamConfig: plain sam build and sam deploy work on the template: they
// expand its loops, build in the repository and may create its roles.
func TestSamConfig(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../samconfig.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[default.global.parameters]\n", "\nlanguage_extensions = true\n", "[default.build.parameters]\n",
		"\nbuild_in_source = true\n", `capabilities = "CAPABILITY_IAM CAPABILITY_AUTO_EXPAND"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("samconfig.toml lacks %q", want)
		}
	}
}
