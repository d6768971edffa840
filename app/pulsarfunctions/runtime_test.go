package pulsarfunctions

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/weftio/weft/app"
	"github.com/weftio/weft/internal/config"
)

// instanceConf is what a functions worker passes a state engine instance.
func instanceConf(t *testing.T, user map[string]any) string {
	t.Helper()
	uc, err := json.Marshal(user)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := json.Marshal(map[string]any{
		"pulsarServiceURL": "pulsar://127.0.0.1:1", "tenant": "public", "nameSpace": "default", "name": "weft-state-engine",
		"runtime": 3, "parallelism": 1, "subscriptionName": "state-engine", "userConfig": string(uc),
		"clientAuthenticationPlugin":     "org.apache.pulsar.client.impl.auth.AuthenticationToken",
		"clientAuthenticationParameters": "token:s3cr3t-jwt",
		"sourceInputSpecs": map[string]string{
			"persistent://tenant-a/ns-b/workflow-cmd:Trip": `{"schemaType":""}`,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(conf)
}

// The instance's settings: the broker and namespace from the instance
// config, the token from its authentication, and the user config over
// them; its WEFT_* keys are checked like variables.
func TestSettingsFromTheInstanceConfig(t *testing.T) {
	plat, err := setup([]string{"-instance-conf", instanceConf(t, map[string]any{"WEFT_STORAGE": "redis", "WEFT_WORKER_CONCURRENCY": 3,
		"WEFT_PULSAR_NAMESPACE": "ns-b", "mine": "x"})})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"WEFT_TRANSPORT": "pulsar", "WEFT_PULSAR_URL": "pulsar://127.0.0.1:1", "WEFT_PULSAR_TENANT": "tenant-a",
		"WEFT_PULSAR_NAMESPACE": "ns-b", "WEFT_PULSAR_TOKEN": "s3cr3t-jwt", "WEFT_STORAGE": "redis", "WEFT_WORKER_CONCURRENCY": "3",
		"WEFT_RUNTIME": "pulsar-functions",
	} {
		if got, ok := plat.Lookup(k); !ok || got != want {
			t.Errorf("Lookup(%s) = %q, %v; want %q", k, got, ok, want)
		}
	}
	keys := plat.Keys()
	slices.Sort(keys)
	if want := []string{"WEFT_PULSAR_NAMESPACE=ns-b", "WEFT_STORAGE=redis", "WEFT_WORKER_CONCURRENCY=3", "mine=x"}; !slices.Equal(keys, want) {
		t.Errorf("Keys = %q, want %q", keys, want)
	}
	if len(config.UnknownErrors(keys)) != 0 {
		t.Errorf("the user config's settings are refused: %v", config.UnknownErrors(keys))
	}
}

// A binary started by the worker runs as the function's instance without
// being told to, and a user config with a typo stops it before it
// connects, naming the key but not the token.
func TestDetectedAndCheckedAtStartUp(t *testing.T) {
	var out, errOut bytes.Buffer
	code := app.Run(context.Background(), nil, []string{"-instance-conf", instanceConf(t, map[string]any{"WEFT_STROAGE": "redis"})},
		&out, &errOut, app.Roles("state-engine"))
	if code != 1 || !strings.Contains(errOut.String(), "WEFT_STROAGE (-): not a weft setting") || strings.Contains(errOut.String()+out.String(), "s3cr3t") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
	var out2, errOut2 bytes.Buffer
	code = app.Run(context.Background(), nil, []string{"-instance-conf", "{not json"}, &out2, &errOut2, app.Roles("state-engine"))
	if code != 1 || !strings.Contains(errOut2.String(), "pulsar-functions runtime:") {
		t.Errorf("bad instance config: exit %d, stderr %q", code, errOut2.String())
	}
}
