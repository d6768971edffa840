//go:build linux

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/lambdatest"
	"github.com/weftio/weft/internal/linkfix"
	"github.com/weftio/weft/internal/testenv"
)

// lambdaEnv is what the Lambda benchmarks need: the SQS server, the
// emulator and PostgreSQL; they skip without them.
func lambdaEnv(b *testing.B) (endpoint, rie string, env map[string]string) {
	b.Helper()
	for _, v := range []string{testenv.SQSEndpoint, "WEFT_TEST_RIE", testenv.PostgresURL} {
		if os.Getenv(v) == "" {
			b.Skip(v + " is not set (make services-up; scripts/elasticmq.sh env; scripts/rie.sh env)")
		}
	}
	endpoint, rie = os.Getenv(testenv.SQSEndpoint), os.Getenv("WEFT_TEST_RIE")
	env = testenv.Settings(b, "postgres", "memory", "bench_la_"+testenv.Suffix())
	env["WEFT_TRANSPORT"] = "sqs"
	env["WEFT_SQS_ENDPOINT"] = endpoint
	env["WEFT_SQS_QUEUE_PREFIX"] = "bench" + testenv.Suffix() + "-"
	env["WEFT_WORKFLOWS"], env["WEFT_SERVICES"] = "FanOut", "Calculator"
	env["AWS_REGION"], env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = "us-east-1", "test", "test"
	return endpoint, rie, env
}

// buildLambdaRoles builds the role binaries as Lambda wants them (stripped,
// bootstrap, lambda.norpc) with the SQS transport and PostgreSQL.
func buildLambdaRoles(b *testing.B) map[string]string {
	b.Helper()
	dir := b.TempDir()
	flags, err := linkfix.BuildFlags(context.Background(), "..", filepath.Join(dir, ".linkfix"))
	if err != nil {
		b.Fatal(err)
	}
	bins := map[string]string{}
	for _, role := range []string{"state-engine", "executor", "tag-engine"} {
		out := filepath.Join(dir, role, "bootstrap")
		args := append(append([]string{"build"}, flags...), "-trimpath", "-ldflags=-s -w", "-tags", "lambda.norpc weft_custom weft_lambda weft_postgres", "-o", out, "../functions/"+role)
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if o, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", role, err, o)
		}
		bins[role] = out
	}
	return bins
}

// BenchmarkLambda runs the role binaries (SQS transport, PostgreSQL
// storage) under the Runtime Interface Emulator. ColdStart starts each
// one -bench.binary-starts times and reports its size, the init duration
// the emulator measures (process start until the runtime asks for its
// first invocation: configuration, storage and transport opened) and the
// time from the first invocation's post to its answer. Executor sends
// b.N SQS events of 10 tasks each to one executor (one execution
// environment: the emulator runs one invocation at a time) and reports
// invocations/s and tasks/s, each task's result published to SQS before
// the invocation answers.
func BenchmarkLambda(b *testing.B) {
	_, rie, env := lambdaEnv(b)
	bins := buildLambdaRoles(b)
	b.Run("ColdStart", func(b *testing.B) {
		for _, role := range []string{"state-engine", "executor", "tag-engine"} {
			b.Run(role, func(b *testing.B) {
				st, err := os.Stat(bins[role])
				if err != nil {
					b.Fatal(err)
				}
				var inits, firsts []float64
				for range max(*binaryStarts, 1) {
					e := lambdatest.Start(b, rie, bins[role], "weft-"+role, 30*time.Second, env)
					start := time.Now()
					if _, err := e.Invoke(context.Background(), []byte(`{"Records":[]}`)); err != nil {
						b.Fatalf("first invocation: %v\n%s", err, e.Output())
					}
					firsts = append(firsts, ms(time.Since(start)))
					d, ok := e.InitDuration()
					if !ok {
						b.Fatalf("the emulator reported no init duration:\n%s", e.Output())
					}
					inits = append(inits, ms(d))
					e.Stop()
				}
				slices.Sort(inits)
				slices.Sort(firsts)
				b.ReportMetric(float64(st.Size())/1e6, "MB")
				b.ReportMetric(median(inits), "init-ms")
				b.ReportMetric(slices.Max(inits), "init-max-ms")
				b.ReportMetric(median(firsts), "first-answer-ms")
			})
		}
	})
	b.Run("Executor", func(b *testing.B) {
		e := lambdatest.Start(b, rie, bins["executor"], "weft-executor", 30*time.Second, env)
		if _, err := e.Invoke(context.Background(), []byte(`{"Records":[]}`)); err != nil {
			b.Fatalf("warm-up: %v\n%s", err, e.Output())
		}
		const perEvent = 10
		client := "bench-" + testenv.Suffix()
		events := make([][]byte, b.N)
		for i := range events {
			events[i] = taskEvent(b, i, perEvent, client)
		}
		b.ResetTimer()
		start := time.Now()
		for _, ev := range events {
			out, err := e.Invoke(context.Background(), ev)
			if err != nil {
				b.Fatal(err)
			}
			if string(out) != `{"batchItemFailures":[]}` {
				b.Fatalf("answer %s", out)
			}
		}
		el := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(b.N)/el.Seconds(), "invocations/s")
		b.ReportMetric(float64(b.N*perEvent)/el.Seconds(), "tasks/s")
	})
}

// taskEvent is an SQS event of n Calculator.square tasks for the client,
// as the SQS transport would hand them over.
func taskEvent(b *testing.B, i, n int, client string) []byte {
	b.Helper()
	topic := core.Topic(core.PrefixTaskExecutor, "Calculator")
	var ev events.SQSEvent
	for j := range n {
		id := fmt.Sprintf("bench-task-%d-%d-%d", time.Now().UnixNano(), i, j)
		now := time.Now()
		env, err := core.BuildEnvelope(core.Out{Topic: topic, Key: id, Subject: id, Msg: &core.ExecuteTask{TaskID: id, Service: "Calculator", Method: "square",
			Input: json.RawMessage(`7`), Requester: &core.Requester{Client: client}}}, id, now, "bench", now)
		if err != nil {
			b.Fatal(err)
		}
		body, err := core.EncodeEnvelope(env)
		if err != nil {
			b.Fatal(err)
		}
		s, k := topic, id
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: id, ReceiptHandle: "rh-" + id, Body: string(body),
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}, EventSource: "aws:sqs",
			EventSourceARN:    "arn:aws:sqs:us-east-1:000000000000:queue",
			MessageAttributes: map[string]events.SQSMessageAttribute{"weft-topic": {StringValue: &s, DataType: "String"}, "weft-key": {StringValue: &k, DataType: "String"}}})
	}
	out, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	return out
}
