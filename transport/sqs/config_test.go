package sqs_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/transport/sqs"
)

func TestValidateNamesFields(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		cfg   sqs.Config
		field string
	}{
		{"endpoint not a URL", sqs.Config{Endpoint: "127.0.0.1:9324"}, "endpoint"},
		{"endpoint scheme", sqs.Config{Endpoint: "ftp://h:1"}, "endpoint"},
		{"endpoint credentials", sqs.Config{Endpoint: "http://k:s@h:1"}, "endpoint"},
		{"key without secret", sqs.Config{AccessKeyID: "AKIA"}, "secretAccessKey"},
		{"secret without key", sqs.Config{SecretAccessKey: "s"}, "accessKeyID"},
		{"prefix characters", sqs.Config{QueuePrefix: "weft."}, "queuePrefix"},
		{"prefix separator", sqs.Config{QueuePrefix: "weft__"}, "queuePrefix"},
		{"prefix length", sqs.Config{QueuePrefix: strings.Repeat("p", 41)}, "queuePrefix"},
		{"visibility negative", sqs.Config{VisibilityTimeout: -time.Second}, "visibilityTimeout"},
		{"visibility sub-second", sqs.Config{VisibilityTimeout: time.Millisecond}, "visibilityTimeout"},
		{"visibility over 12h", sqs.Config{VisibilityTimeout: 13 * time.Hour}, "visibilityTimeout"},
		{"wait over 20s", sqs.Config{WaitTime: 21 * time.Second}, "waitTime"},
		{"wait sub-second", sqs.Config{WaitTime: time.Millisecond}, "waitTime"},
		{"size over 1 MiB", sqs.Config{MaxMessageSize: 1<<20 + 1}, "maxMessageSize"},
		{"size tiny", sqs.Config{MaxMessageSize: 10}, "maxMessageSize"},
		{"redrive", sqs.Config{RedriveMaxReceives: -1}, "redriveMaxReceives"},
		{"fifo prefix empty", sqs.Config{FifoPrefixes: sqs.Prefixes{""}}, "fifoPrefixes"},
		{"fifo prefix topic", sqs.Config{FifoPrefixes: sqs.Prefixes{"workflow-engine:W"}}, "fifoPrefixes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			var fe interface{ FieldName() string }
			if !errors.As(err, &fe) || fe.FieldName() != tc.field {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tc.field)
			}
			if _, err := sqs.New(context.Background(), tc.cfg); err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("New: %v, want the error naming %s", err, tc.field)
			}
		})
	}
	if err := (&sqs.Config{}).Validate(); err != nil {
		t.Errorf("the zero Config is invalid: %v", err)
	}
	if err := (&sqs.Config{Endpoint: "https://sqs.eu-west-1.amazonaws.com", AccessKeyID: "AKIA", SecretAccessKey: "s",
		QueuePrefix: "prod_weft-", FifoPrefixes: sqs.Prefixes{}}).Validate(); err != nil {
		t.Errorf("a valid Config is refused: %v", err)
	}
}

// TestDefaults: DefaultConfig, the zero Config once opened, and the
// default tags the configuration loader applies agree.
func TestDefaults(t *testing.T) {
	t.Parallel()
	d := sqs.DefaultConfig()
	want := sqs.Config{QueuePrefix: "weft-", CreateQueues: true, VisibilityTimeout: 30 * time.Second, WaitTime: 20 * time.Second,
		MaxMessageSize: 262144, RedriveMaxReceives: 20, DelayPump: true,
		FifoPrefixes: sqs.Prefixes{"workflow-cmd", "workflow-engine", "workflow-task-executor", "workflow-tag", "task-tag"}}
	d.Logger, d.Now = nil, nil
	if !reflect.DeepEqual(d, want) {
		t.Errorf("DefaultConfig() = %v, want %v", d, want)
	}
	for _, p := range d.FifoPrefixes {
		if !core.IsKeyedPrefix(p) {
			t.Errorf("default FIFO prefix %s is not keyed", p)
		}
	}
	for _, p := range []string{core.PrefixWorkflowCmd, core.PrefixWorkflowEngine, core.PrefixWorkflowDelay, core.PrefixWorkflowTaskExecutor,
		core.PrefixWorkflowTaskRetry, core.PrefixTaskExecutor, core.PrefixTaskRetry, core.PrefixWorkflowTag, core.PrefixTaskTag,
		core.PrefixWorkflowEvents, core.PrefixTaskEvents, core.PrefixResponse} {
		if core.IsKeyedPrefix(p) != d.IsFifo(core.Topic(p, "E")) {
			t.Errorf("prefix %s: keyed %v, FIFO by default %v", p, core.IsKeyedPrefix(p), d.IsFifo(core.Topic(p, "E")))
		}
	}

	c, err := config.Load(config.Source{Lookup: lookup(map[string]string{"WEFT_TRANSPORT": "sqs"})})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got := *config.SettingsOf[sqs.Config](c, "sqs")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("loaded defaults %v, want %v", got, want)
	}
}

func TestLoadFromEnvironment(t *testing.T) {
	t.Parallel()
	c, err := config.Load(config.Source{Lookup: lookup(map[string]string{
		"WEFT_TRANSPORT":             "sqs",
		"WEFT_SQS_REGION":            "eu-west-1",
		"WEFT_SQS_ENDPOINT":          "http://127.0.0.1:9324",
		"WEFT_SQS_ACCESS_KEY_ID":     "AKIAEXAMPLE",
		"WEFT_SQS_SECRET_ACCESS_KEY": "hunter2-secret",
		"WEFT_SQS_QUEUE_PREFIX":      "prod-",
		"WEFT_SQS_CREATE_QUEUES":     "false",
		"WEFT_SQS_WAIT_TIME":         "5s",
		"WEFT_SQS_DELAY_PUMP":        "false",
		"WEFT_SQS_FIFO_PREFIXES":     "none",
	})})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got := config.SettingsOf[sqs.Config](c, "sqs")
	if got.Region != "eu-west-1" || got.QueuePrefix != "prod-" || got.CreateQueues || got.DelayPump || got.WaitTime != 5*time.Second ||
		got.FifoPrefixes == nil || len(got.FifoPrefixes) != 0 {
		t.Errorf("loaded %v", got)
	}
	if p := c.Print(); strings.Contains(p, "hunter2") {
		t.Errorf("Print shows the secret access key:\n%s", p)
	}
	for _, s := range []string{got.String(), fmt.Sprintf("%v", *got), fmt.Sprintf("%+v", *got), fmt.Sprintf("%#v", *got)} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("the secret access key is printed: %s", s)
		}
	}

	c, err = config.Load(config.Source{Lookup: lookup(map[string]string{"WEFT_TRANSPORT": "sqs", "WEFT_SQS_WAIT_TIME": "30s"})})
	if err == nil || !strings.Contains(err.Error(), "waitTime") {
		t.Errorf("Load with a 30s wait: %v, want an error naming waitTime", err)
	}
	_ = c
}

func TestPrefixesDecode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]sqs.Prefixes{
		"":                          {},
		"none":                      {},
		"workflow-engine":           {"workflow-engine"},
		" workflow-cmd , task-tag ": {"workflow-cmd", "task-tag"},
	} {
		var p sqs.Prefixes
		if err := p.Decode(in); err != nil || p == nil || !reflect.DeepEqual(p, want) {
			t.Errorf("Decode(%q) = %#v, %v; want %#v", in, p, err, want)
		}
	}
	if s := (sqs.Prefixes{}).String(); s != "none" {
		t.Errorf("String of no prefixes = %q, want none", s)
	}
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}
