package pulsarfunctions

import (
	"strings"
	"testing"
)

func TestTransportConfig(t *testing.T) {
	t.Parallel()
	base := func(inputs ...Input) *InstanceConfig {
		return &InstanceConfig{ServiceURL: "pulsar+ssl://b:6651", Tenant: "t", Namespace: "n", Name: "f", Inputs: inputs,
			TLSTrustCertsFilePath: "/ca.pem", TLSHostnameVerificationEnable: true}
	}
	c := base(Input{Topic: "persistent://acme/prod/workflow-cmd:Trip"}, Input{Topic: "persistent://acme/prod/task-.*", Regex: true})
	c.AuthPlugin, c.AuthParams = tokenPlugin, "token:s3cr3t"
	cfg, err := c.TransportConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.URL != c.ServiceURL || cfg.Tenant != "acme" || cfg.Namespace != "prod" || cfg.Token != "s3cr3t" ||
		cfg.TLSTrustCertsFile != "/ca.pem" || cfg.TLSSkipHostnameVerification || cfg.AdminURL != "" {
		t.Errorf("TransportConfig = %v", cfg)
	}

	// Short names complete as Pulsar completes them.
	// Short names complete as Pulsar completes them; host names go
	// unverified unless the worker asks for it, as for a Java instance.
	short := base(Input{Topic: "workflow-cmd:Trip"})
	short.TLSHostnameVerificationEnable = false
	cfg, err = short.TransportConfig()
	if err != nil || cfg.Tenant != "public" || cfg.Namespace != "default" || !cfg.TLSSkipHostnameVerification {
		t.Errorf("short name: %v, %v", cfg, err)
	}

	for params, want := range map[string][2]string{
		"token:abc":       {"abc", ""},
		"abc":             {"abc", ""},
		`{"token":"abc"}`: {"abc", ""},
		"file:///etc/tok": {"", "/etc/tok"},
		"file:/etc/tok":   {"", "/etc/tok"},
	} {
		c := base(Input{Topic: "persistent://t/n/x:y"})
		c.AuthPlugin, c.AuthParams = "token", params
		cfg, err := c.TransportConfig()
		if err != nil || cfg.Token != want[0] || cfg.TokenFile != want[1] {
			t.Errorf("params %q: token %q file %q (%v), want %q", params, cfg.Token, cfg.TokenFile, err, want)
		}
	}

	for _, tc := range []struct {
		c    *InstanceConfig
		want string
	}{
		{base(Input{Topic: "persistent://a/b/x"}, Input{Topic: "persistent://a/c/y"}), "input topics lie in a/b and a/c"},
		{base(Input{Topic: "persistent://a/.*/x", Regex: true}), "cannot tell its tenant and namespace"},
		{base(Input{Topic: "non-persistent://a/b/x"}), "cannot tell its tenant and namespace"},
		{func() *InstanceConfig {
			c := base(Input{Topic: "x"})
			c.AuthPlugin, c.AuthParams = "org.apache.pulsar.client.impl.auth.AuthenticationTls", "tlsCertFile:/c,tlsKeyFile:/k"
			return c
		}(), "AuthenticationTls\" is not supported"},
		{func() *InstanceConfig {
			c := base(Input{Topic: "x"})
			c.AuthPlugin, c.AuthParams = tokenPlugin, `{"tok":"s3cr3t"}`
			return c
		}(), "without a \"token\" string"},
	} {
		_, err := tc.c.TransportConfig()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.c.Inputs, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") || err != nil && strings.Contains(err.Error(), "tlsKeyFile") {
			t.Errorf("error shows the parameters: %v", err)
		}
	}
}
