package pulsarfunctions

import (
	"errors"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func noEnv(string) string { return "" }

func TestParseArgsFixtures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want InstanceConfig
	}{{
		name: "flat config of the process runtime",
		args: []string{"-instance-conf", readFixture(t, "flat-process.json")},
		want: InstanceConfig{
			ServiceURL: "pulsar://127.0.0.1:6650",
			Tenant:     "public", Namespace: "default", Name: "state-engine",
			FuncID: "5d8c1f6e-3a35-4b8e-9c7e-1f2d3c4b5a69", FuncVersion: "0b6a4d7e-8f5c-4b3a-a1d2-9e8f7c6b5a43",
			ClusterName: "standalone", InstanceID: 2, ShardID: 2, Port: 41871, MetricsPort: 41872,
			MaxBufTuples: 1024, Parallelism: 2,
			Inputs: []Input{
				{Topic: "persistent://public/default/workflow-cmd:Trip", ReceiverQueueSize: 500, ConsumerProperties: map[string]string{"team": "travel"}},
				{Topic: "persistent://public/default/workflow-engine:Trip", ConsumerProperties: map[string]string{}},
			},
			SubscriptionName:     "public/default/state-engine",
			SubscriptionType:     Shared,
			SubscriptionPosition: Earliest,
			CleanupSubscription:  true,
			ProcessingGuarantee:  AtMostOnce,
			AutoAck:              true,
			LogTopic:             "persistent://public/default/state-engine-logs",
			UserConfig:           map[string]any{"greeting": "hello", "retries": 3.0, "nested": map[string]any{"on": true}},
			SecretsMap:           map[string]any{"dbPassword": map[string]any{"path": "weft/db", "key": "password"}},
			AuthPlugin:           "org.apache.pulsar.client.impl.auth.AuthenticationToken",
			AuthParams:           "token:eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig",
		},
	}, {
		name: "functionDetails wins over the flat keys",
		args: []string{"--instance-conf", readFixture(t, "function-details.json")},
		want: InstanceConfig{
			ServiceURL: "pulsar+ssl://broker.example:6651", WebServiceURL: "https://broker.example:8443",
			StateStorageServiceURL: "bk://127.0.0.1:4181",
			Tenant:                 "acme", Namespace: "travel", Name: "executor",
			FuncID: "f-1", FuncVersion: "v-1", ClusterName: "eu-1", Port: 9093, MetricsPort: 9094,
			ExpectedHealthCheckInterval: 30 * time.Second, MaxBufTuples: 1024, Parallelism: 3,
			Inputs: []Input{
				{Topic: "persistent://acme/travel/task-executor:Billing", ReceiverQueueSize: 64},
				{Topic: "persistent://acme/travel/task-retry:.*", Regex: true},
			},
			SubscriptionName:              "weft-executor",
			SubscriptionType:              Failover,
			SubscriptionPosition:          Earliest,
			CleanupSubscription:           true,
			Timeout:                       30 * time.Second,
			ProcessingGuarantee:           AtLeastOnce, // omitted: the default
			AutoAck:                       true,
			OutputTopic:                   "persistent://acme/travel/out",
			UserConfig:                    map[string]any{"region": "eu"},
			SecretsMap:                    map[string]any{},
			TLSTrustCertsFilePath:         "/etc/pulsar/ca.pem",
			TLSHostnameVerificationEnable: true,
			FromFunctionDetails:           true,
		},
	}, {
		name: "old flat config: single regex topic, old auth keys",
		args: []string{"-instance-conf", readFixture(t, "flat-old.json")},
		want: InstanceConfig{
			ServiceURL: "pulsar://broker-1:6650,broker-2:6650",
			Tenant:     "public", Namespace: "default", Name: "tag-engine",
			FuncID: "old-func", FuncVersion: "1", ClusterName: "standalone", Port: 40001, MetricsPort: 40002,
			MaxBufTuples: 1024, Parallelism: 1,
			Inputs:           []Input{{Topic: "persistent://public/default/workflow-tag:.*", Regex: true, ReceiverQueueSize: 100}},
			SubscriptionName: "tags",
			SubscriptionType: Failover,
			UserConfig:       map[string]any{},
			SecretsMap:       map[string]any{},
			AuthPlugin:       "org.apache.pulsar.client.impl.auth.AuthenticationToken",
			AuthParams:       "file:///etc/pulsar/token",
		},
	}, {
		name: "YAML file",
		args: []string{"-instance-conf-path", "testdata/instance.yaml"},
		want: InstanceConfig{
			ServiceURL: "pulsar://localhost:6650",
			Tenant:     "public", Namespace: "default", Name: "event-listener",
			ClusterName: "local", InstanceID: 1, ShardID: 1, ExpectedHealthCheckInterval: 5 * time.Second,
			Inputs:               []Input{{Topic: "persistent://public/default/workflow-events:Trip", ReceiverQueueSize: 10}},
			SubscriptionName:     "public/default/event-listener",
			SubscriptionPosition: Earliest,
			UserConfig:           map[string]any{"mode": "verbose", "limits": []any{1.0, 2.0}},
			SecretsMap:           map[string]any{},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseArgs(tc.args, noEnv, os.ReadFile)
			if err != nil {
				t.Fatalf("parseArgs: %v", err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got\n%+v\nwant\n%+v", *got, tc.want)
			}
		})
	}
}

func TestParseArgsForms(t *testing.T) {
	t.Parallel()
	const doc = `{"pulsarServiceURL":"pulsar://b:6650","tenant":"t","nameSpace":"n","name":"f","sourceSpecsTopic":"persistent://t/n/x:y"}`
	files := map[string]string{"conf.yaml": "pulsarServiceURL: pulsar://file:6650\ntenant: t\nnameSpace: n\nname: fromfile\nsourceSpecsTopic: persistent://t/n/x:y\n"}
	readFile := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	for _, tc := range []struct {
		name, wantName string
		args           []string
	}{
		{"single-dash flag", "f", []string{"-instance-conf", doc}},
		{"double-dash flag with =", "f", []string{"--instance-conf=" + doc}},
		{"JSON in single quotes (Kubernetes runtime without a shell)", "f", []string{"-instance-conf", "'" + doc + "'"}},
		{"both given: the file wins, as in the Go SDK", "fromfile", []string{"-instance-conf", doc, "-instance-conf-path", "conf.yaml"}},
	} {
		c, err := parseArgs(tc.args, noEnv, readFile)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.Name != tc.wantName {
			t.Errorf("%s: name %q, want %q", tc.name, c.Name, tc.wantName)
		}
	}
}

func TestParseArgsHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-help"}, {"--help"}, {"-h"}} {
		_, err := parseArgs(args, noEnv, os.ReadFile)
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(err.Error(), "-instance-conf-path") {
			t.Errorf("%v: %v, want flag.ErrHelp with the usage", args, err)
		}
	}
}

func TestShardIDFromPodName(t *testing.T) {
	t.Parallel()
	doc := `{"pulsarServiceURL":"pulsar://b:6650","instanceID":0,"tenant":"t","nameSpace":"n","name":"f","sourceSpecsTopic":"persistent://t/n/x:y"}`
	for pod, want := range map[string]int{"": 0, "pf-t-n-f-7": 7, "pf-t-n-f-12": 12, "not-a-statefulset-pod-abc": 0, "x--1": 1} {
		env := func(k string) string {
			if k == "POD_NAME" {
				return pod
			}
			return ""
		}
		c, err := parseArgs([]string{"-instance-conf", doc}, env, os.ReadFile)
		if err != nil {
			t.Fatal(err)
		}
		if c.ShardID != want || c.InstanceID != 0 {
			t.Errorf("POD_NAME %q: shard %d, instance %d; want shard %d, instance 0", pod, c.ShardID, c.InstanceID, want)
		}
	}
}

func TestParseArgsErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	base := `"pulsarServiceURL":"pulsar://b:6650","tenant":"t","nameSpace":"n","name":"f","sourceSpecsTopic":"persistent://t/n/x:y"`
	for _, tc := range []struct{ name, args, want string }{
		{"no flag", "", "neither -instance-conf nor -instance-conf-path"},
		{"unknown flag", "-bogus", "flag provided but not defined: -bogus"},
		{"not JSON", "-instance-conf=nope", "want a JSON object"},
		{"no service URL", `-instance-conf={"tenant":"t","nameSpace":"n","name":"f","sourceSpecsTopic":"x"}`, "pulsarServiceURL is empty"},
		{"no namespace", `-instance-conf={"pulsarServiceURL":"pulsar://b:6650","tenant":"t","name":"f","sourceSpecsTopic":"x"}`, "nameSpace is empty"},
		{"no input", `-instance-conf={"pulsarServiceURL":"pulsar://b:6650","tenant":"t","nameSpace":"n","name":"f"}`, "no input topic: sourceInputSpecs is empty"},
		{"no input in functionDetails", `-instance-conf={"pulsarServiceURL":"pulsar://b:6650","functionDetails":"{\"tenant\":\"t\",\"namespace\":\"n\",\"name\":\"f\"}"}`, "functionDetails.source.inputSpecs is empty"},
		{"bad guarantee", `-instance-conf={` + base + `,"processingGuarantees":7}`, "processingGuarantees is 7"},
		{"bad guarantee name", `-instance-conf={"pulsarServiceURL":"p","functionDetails":"{\"processingGuarantees\":\"SOMETIMES\"}"}`, "functionDetails.processingGuarantees is \"SOMETIMES\""},
		{"bad subscription type", `-instance-conf={"pulsarServiceURL":"p","functionDetails":"{\"source\":{\"subscriptionType\":\"EXCLUSIVE\"}}"}`, "functionDetails.source.subscriptionType"},
		{"bad port", `-instance-conf={` + base + `,"port":70000}`, "port is 70000"},
		{"port not a number", `-instance-conf={` + base + `,"port":"many"}`, "want an integer"},
		{"user config not an object", `-instance-conf={` + base + `,"userConfig":"[1]"}`, "userConfig does not hold a JSON object"},
		{"bad consumer spec", `-instance-conf={` + base + `,"sourceInputSpecs":{"persistent://t/n/a:b":"{nope"}}`, `sourceInputSpecs["persistent://t/n/a:b"] does not hold a ConsumerSpec`},
		{"negative queue", `-instance-conf={` + base + `,"sourceInputSpecs":{"persistent://t/n/a:b":"{\"receiverQueueSize\":{\"value\":-1}}"}}`, "receiverQueueSize is -1"},
		{"missing file", "-instance-conf-path=/nonexistent/conf.yaml", "read -instance-conf-path"},
	} {
		var args []string
		if tc.args != "" {
			args = []string{tc.args}
		}
		_, err := parseArgs(args, noEnv, os.ReadFile)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestEnumsByNameOrNumber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		doc  string
		want SubscriptionType
	}{
		{`"subscriptionType":2`, KeyShared},
		{`"subscriptionType":"2"`, KeyShared},
		{`"subscriptionType":"KEY_SHARED"`, KeyShared},
		{`"subscriptionType":null`, Shared},
	} {
		doc := `{"pulsarServiceURL":"p","tenant":"t","nameSpace":"n","name":"f","sourceSpecsTopic":"x",` + tc.doc + `}`
		c, err := decodeConf([]byte(doc), "")
		if err != nil || c.SubscriptionType != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.doc, c, err, tc.want)
		}
	}
}

func TestStringMasksSecrets(t *testing.T) {
	t.Parallel()
	c, err := parseArgs([]string{"-instance-conf", readFixture(t, "flat-process.json")}, noEnv, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	c.ServiceURL = "pulsar://user:hunter2@b:6650"
	s := c.String()
	for _, secret := range []string{"eyJhbGciOiJIUzI1NiJ9", "hunter2", "password"} {
		if strings.Contains(s, secret) {
			t.Errorf("String() shows %q: %s", secret, s)
		}
	}
	if !strings.Contains(s, "public/default/state-engine") {
		t.Errorf("String() lacks the function: %s", s)
	}
}

func TestDetect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"-instance-conf", "{}"}, true},
		{[]string{"--instance-conf={}"}, true},
		{[]string{"-instance-conf-path", "c.yaml"}, true},
		{[]string{"--instance-conf-path=c.yaml"}, true},
		{nil, false},
		{[]string{"serve", "-v"}, false},
		{[]string{"-instance-config", "x"}, false},
		{[]string{"instance-conf"}, false},
		{[]string{"--", "-instance-conf", "{}"}, false},
	} {
		if got := Detect(tc.args); got != tc.want {
			t.Errorf("Detect(%q) = %t, want %t", tc.args, got, tc.want)
		}
	}
}

// FuzzDecodeConf: no input makes the decoder panic, and what it accepts
// is a config the instance can run with.
func FuzzDecodeConf(f *testing.F) {
	for _, name := range []string{"flat-process.json", "function-details.json", "flat-old.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "")
	}
	f.Add(`{"functionDetails":{"source":{"inputSpecs":{"a":{}}}}}`, "pf-x-3")
	f.Add(`{"port":"1e3","instanceID":1.5}`, "")
	f.Fuzz(func(t *testing.T, doc, pod string) {
		c, err := decodeConf([]byte(doc), pod)
		if err != nil {
			return
		}
		if c.ServiceURL == "" || c.Tenant == "" || c.Namespace == "" || c.Name == "" || c.SubscriptionName == "" || len(c.Inputs) == 0 {
			t.Fatalf("accepted an incomplete config: %+v", c)
		}
		if c.Port < 0 || c.Port > 65535 || c.MetricsPort < 0 || c.MetricsPort > 65535 || c.ShardID < 0 {
			t.Fatalf("accepted ports %d, %d, shard %d", c.Port, c.MetricsPort, c.ShardID)
		}
		for _, s := range []string{c.ProcessingGuarantee.String(), c.SubscriptionType.String(), c.SubscriptionPosition.String()} {
			if s == "" || s[0] >= '0' && s[0] <= '9' || s[0] == '-' {
				t.Fatalf("accepted an enum out of range: %s", s)
			}
		}
		for i := 1; i < len(c.Inputs); i++ {
			if c.Inputs[i-1].Topic >= c.Inputs[i].Topic {
				t.Fatalf("inputs not sorted and unique: %v", c.Inputs)
			}
		}
		if c.UserConfig == nil || c.SecretsMap == nil {
			t.Fatal("nil user config or secrets map")
		}
	})
}
