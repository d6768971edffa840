package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/examples"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/integration/internal/chain"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/lambdatest"
	"github.com/weftio/weft/internal/testenv"
	storagememory "github.com/weftio/weft/storage/memory"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/sqs"
)

// The Lambda tests' emulator (scripts/rie.sh env) and region.
const (
	rieVar       = "WEFT_TEST_RIE"
	lambdaRegion = "us-east-1"
)

// need returns the environment variable, or skips (fails when
// integration tests are required) without it.
func need(t *testing.T, name, how string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if testenv.Required() {
			t.Fatalf("%s is not set (%s) and TEST_REQUIRE_INTEGRATION=1", name, how)
		}
		t.Skipf("%s is not set (%s)", name, how)
	}
	return v
}

// lambdaRoles are the roles run as functions.
var lambdaRoles = []config.Role{config.RoleStateEngine, config.RoleExecutor, config.RoleTagEngine}

// buildLambdaBinaries builds each role as a bootstrap binary, as the
// Makefile's lambda target does, into dir/<role>/bootstrap.
func buildLambdaBinaries(t testing.TB, storage string) string {
	t.Helper()
	dir := t.TempDir()
	for role, pkg := range map[config.Role]string{
		config.RoleExecutor:    "./internal/pfexecutor",
		config.RoleStateEngine: "../functions/state-engine",
		config.RoleTagEngine:   "../functions/tag-engine",
	} {
		out := filepath.Join(dir, string(role), "bootstrap")
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc weft_custom weft_lambda weft_"+storage, "-o", out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", role, err, b)
		}
	}
	return dir
}

// lambdaDeployment is the roles under emulators, fed by event source
// mappings from ElasticMQ.
type lambdaDeployment struct {
	t        *testing.T
	sqs      *awssqs.Client
	cfg      sqs.Config
	mappings map[config.Role][]*lambdatest.Mapping
	emu      map[config.Role]*lambdatest.Emulator
}

// sqsClient is a client of the test's SQS server.
func sqsClient(endpoint string) *awssqs.Client {
	return awssqs.New(awssqs.Options{Region: lambdaRegion, BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

// roleTopics lists what each role consumes, as a template's mappings say.
func roleTopics(t testing.TB, cfg *config.Config, reg *weft.Registry, role config.Role) []functions.Subscription {
	t.Helper()
	mem := storagememory.New()
	probe, err := sqs.New(context.Background(), sqs.Config{Endpoint: "http://127.0.0.1:1", QueuePrefix: "probe-"})
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	fns, err := bootstrap.Roles{Config: cfg, Registry: reg, Transport: probe, Store: mem, Tags: mem,
		Sink: func(context.Context, core.Envelope, *core.Event) error { return nil }}.Functions([]config.Role{role})
	if err != nil {
		t.Fatal(err)
	}
	var subs []functions.Subscription
	for _, fn := range fns {
		subs = append(subs, fn.Subscriptions()...)
	}
	return subs
}

// TestLambdaEmulated runs the roles as Lambda functions: each role's
// bootstrap under the Runtime Interface Emulator, its queues on ElasticMQ
// polled by event source mappings that behave like Lambda's, state on
// PostgreSQL. The three examples complete; chains of slow tasks complete
// although the executor's batches run into its deadline (the messages it
// could not start are reported failed and come again: nothing is lost,
// and no invocation times out); a poison message is dead-lettered with the
// reason while the rest of its batch completes.
func TestLambdaEmulated(t *testing.T) {
	endpoint := testenv.URL(t, testenv.SQSEndpoint)
	rie := need(t, rieVar, `eval "$(scripts/rie.sh env)"`)
	const st = "postgres"
	dir := buildLambdaBinaries(t, st)
	reg, err := knRegistry(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	env := settings(t, st, "sqs")
	prefix := env["WEFT_SQS_QUEUE_PREFIX"]
	env["WEFT_SQS_VISIBILITY_TIMEOUT"] = "20s"
	env["WEFT_LOG_LEVEL"] = "warn"
	env["WEFT_WORKFLOWS"] = strings.Join(reg.Workflows(), ",")
	env["WEFT_SERVICES"] = strings.Join(reg.Services(), ",")
	cfg := load(t, env)

	// The queues a template would make: made by subscribing once.
	setup, err := sqs.New(context.Background(), sqs.Config{Endpoint: endpoint, Region: lambdaRegion, QueuePrefix: prefix,
		AccessKeyID: "test", SecretAccessKey: "test", CreateQueues: true, VisibilityTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer setup.Close()
	sc := sqsClient(endpoint)
	qcfg := setup.Config()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	const executorTimeout = 3 * time.Second
	timeouts := map[config.Role]time.Duration{config.RoleStateEngine: 30 * time.Second, config.RoleExecutor: executorTimeout, config.RoleTagEngine: 30 * time.Second}
	d := &lambdaDeployment{t: t, sqs: sc, cfg: qcfg, mappings: map[config.Role][]*lambdatest.Mapping{}, emu: map[config.Role]*lambdatest.Emulator{}}
	var wg sync.WaitGroup
	runCtx, stop := context.WithCancel(ctx)
	defer func() { stop(); wg.Wait() }()
	for _, role := range lambdaRoles {
		roleEnv := map[string]string{}
		for k, v := range env {
			roleEnv[k] = v
		}
		if role == config.RoleExecutor {
			roleEnv["WEFT_TEST_CHAIN_PAUSE"] = "700ms"
			roleEnv["WEFT_WORKER_CONCURRENCY"] = "1"
		}
		roleEnv["AWS_REGION"], roleEnv["AWS_ACCESS_KEY_ID"], roleEnv["AWS_SECRET_ACCESS_KEY"] = lambdaRegion, "test", "test"
		e := lambdatest.Start(t, rie, filepath.Join(dir, string(role), "bootstrap"), "weft-"+string(role), timeouts[role], roleEnv)
		d.emu[role] = e
		queues := map[string]bool{}
		for _, s := range roleTopics(t, cfg, reg, role) {
			sub, err := setup.Subscribe(ctx, s.Topic, transport.SubscribeOptions{Group: "lambda", Keyed: s.Keyed})
			if err != nil {
				t.Fatalf("make the queue of %s: %v", s.Topic, err)
			}
			_ = sub.Close()
			queues[qcfg.QueueName(s.Topic)] = true
		}
		if role == config.RoleStateEngine {
			name := qcfg.DelayQueueName()
			if _, err := sc.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name)}); err != nil {
				t.Fatalf("make the delay queue: %v", err)
			}
			queues[name] = true
		}
		for name := range queues {
			url, err := sc.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(name)})
			if err != nil {
				t.Fatalf("queue %s: %v", name, err)
			}
			m := &lambdatest.Mapping{Client: sc, QueueURL: aws.ToString(url.QueueUrl), QueueName: name, Region: lambdaRegion, BatchSize: 10,
				Window: 300 * time.Millisecond, Invoke: e.Invoke, Logf: t.Logf}
			d.mappings[role] = append(d.mappings[role], m)
			wg.Go(func() { m.Run(runCtx) })
		}
	}
	if _, ok := d.mappings[config.RoleStateEngine]; !ok {
		t.Fatal("no mapping for the state engine")
	}

	// The client: the SQS transport with its own response queue, and the
	// deployment's storage.
	stores, err := bootstrap.OpenStorage(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer stores.Close()
	ctr, err := sqs.New(ctx, sqs.Config{Endpoint: endpoint, Region: lambdaRegion, QueuePrefix: prefix, AccessKeyID: "test", SecretAccessKey: "test",
		CreateQueues: true, DelayPump: true, WaitTime: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer ctr.Close()
	c, err := client.New(ctx, client.Config{Name: "lambda-client-" + testenv.Suffix(), Transport: ctr, Store: stores.KeyValue, Tags: stores.KeySet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var narrative bytes.Buffer
	if err := examples.RunAll(ctx, c, &narrative); err != nil {
		t.Fatalf("examples on Lambda: %v\n%s", err, narrative.String())
	}

	// A poison message among the executor's tasks, then chains of slow
	// tasks whose batches cannot finish within the executor's deadline.
	poisonTopic := core.Topic(core.PrefixTaskExecutor, chain.Step.Service())
	dlq, err := ctr.Subscribe(ctx, core.DeadLetterTopic(poisonTopic), transport.SubscribeOptions{Group: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer dlq.Close()
	if err := ctr.PublishRaw(ctx, poisonTopic, "", []byte("this is no envelope")); err != nil {
		t.Fatal(err)
	}
	const chains, steps = 12, 3
	var handles []*client.Handle[chain.Output]
	for range chains {
		h, err := client.Dispatch(ctx, c, chain.Run, chain.Input{Steps: steps})
		if err != nil {
			t.Fatal(err)
		}
		handles = append(handles, h)
	}
	for i, h := range handles {
		got, err := h.Await(ctx)
		if err != nil {
			t.Fatalf("chain %d (%s): %v", i, h.WorkflowID, err)
		}
		if want := chain.Expected(steps); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("chain %s = %v, want %v", h.WorkflowID, got, want)
		}
	}
	dctx, dcancel := context.WithTimeout(ctx, time.Minute)
	defer dcancel()
	del, err := dlq.Receive(dctx)
	if err != nil {
		t.Fatalf("no dead-letter entry for the poison message: %v", err)
	}
	entry, err := core.DecodeEnvelope(del.Body())
	if err != nil || !strings.Contains(entry.DeadLetterReason, "undecodable envelope") {
		t.Errorf("dead-letter entry %+v (%v): want the reason", entry, err)
	}
	_ = del.Ack(dctx)

	var failed, invocations int64
	for _, m := range d.mappings[config.RoleExecutor] {
		failed += m.Stats.Failed.Load()
		invocations += m.Stats.Invocations.Load()
	}
	if failed == 0 {
		t.Errorf("the executor reported no message left for later in %d invocations: its batches of %d tasks of 700 ms never reached the deadline of %v?", invocations, 10, executorTimeout)
	}
	// An invocation the handler could not end in time (a loaded machine
	// stalls it past the margin) is Lambda's whole-batch failure: the
	// batch comes back and nothing is lost, which the completed chains
	// prove; the answers in time with messages left for later, counted
	// above, prove the handler keeps the deadline. They are reported.
	var timedOut []string
	for role, e := range d.emu {
		if n := e.Timeouts(); n > 0 {
			timedOut = append(timedOut, fmt.Sprintf("%s %d", role, n))
		}
	}
	for role, ms := range d.mappings {
		for _, m := range ms {
			if n := m.Stats.Errors.Load(); n > 0 {
				t.Errorf("%s: %d invocations of %s failed as a whole", m.QueueName, n, role)
			}
		}
	}
	t.Logf("executor: %d invocations, %d messages left for later; invocations that timed out: %v", invocations, failed, timedOut)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("the test ran out of time")
	}
}
