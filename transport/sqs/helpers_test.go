package sqs_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/weftio/weft/internal/testenv"
	"github.com/weftio/weft/transport/sqs"
)

// Integration tests need WEFT_TEST_SQS_ENDPOINT (scripts/elasticmq.sh up;
// eval "$(scripts/elasticmq.sh env)"); without it they skip, or fail under
// TEST_REQUIRE_INTEGRATION=1. Every test uses a queue prefix of its own,
// so parallel tests and runs never share a queue.

func endpoint(t testing.TB) string {
	t.Helper()
	return testenv.URL(t, testenv.SQSEndpoint)
}

// testConfig is a configuration for the test server with a fresh queue
// prefix, short long polls (so Close is quick) and logs in the test's.
func testConfig(t testing.TB) sqs.Config {
	t.Helper()
	cfg := sqs.DefaultConfig()
	cfg.Endpoint = endpoint(t)
	cfg.AccessKeyID, cfg.SecretAccessKey = "weft-test", "weft-test-secret"
	cfg.QueuePrefix = "t" + testenv.Suffix() + "-"
	cfg.WaitTime = time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Registered before any transport of the test opens, so it runs after
	// they are closed (cleanups run last first).
	t.Cleanup(func() { deleteQueues(t, cfg) })
	return cfg
}

// rawClient is an SQS client of the test server, for what the tests do
// behind the transport's back.
func rawClient(t testing.TB) *awssqs.Client {
	t.Helper()
	return awssqs.New(awssqs.Options{
		BaseEndpoint: aws.String(endpoint(t)),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("weft-test", "weft-test-secret", ""),
	})
}

// deleteQueues removes every queue of the configuration's prefix.
func deleteQueues(t testing.TB, cfg sqs.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := rawClient(t)
	pages := awssqs.NewListQueuesPaginator(c, &awssqs.ListQueuesInput{QueueNamePrefix: aws.String(cfg.QueuePrefix), MaxResults: aws.Int32(1000)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Logf("list the test's queues: %v", err)
			return
		}
		for _, u := range page.QueueUrls {
			if _, err := c.DeleteQueue(ctx, &awssqs.DeleteQueueInput{QueueUrl: aws.String(u)}); err != nil {
				t.Logf("delete queue %s: %v", u, err)
			}
		}
	}
}

func open(t testing.TB, cfg sqs.Config) *sqs.Transport {
	t.Helper()
	tr, err := sqs.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// testWriter routes the transport's logs to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}
