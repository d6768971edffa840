package pulsarfunctions

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/weftio/weft/transport/pulsar"
)

// TransportConfig is the configuration of weft's Pulsar transport for this
// instance: the broker of pulsarServiceURL with the config's token
// authentication and TLS settings, in the namespace of the input topics
// (weft's roles publish to topics of the namespace they consume from).
// AdminURL stays empty even when the worker passes its web service URL: a
// function's credentials rarely allow the namespace administration the
// transport does with one. Set Logger (and any tuning) before pulsar.New.
func (c *InstanceConfig) TransportConfig() (pulsar.Config, error) {
	tenant, namespace, err := c.inputNamespace()
	if err != nil {
		return pulsar.Config{}, err
	}
	cfg := pulsar.Config{
		URL:               c.ServiceURL,
		Tenant:            tenant,
		Namespace:         namespace,
		TLSTrustCertsFile: c.TLSTrustCertsFilePath,
		TLSAllowInsecure:  c.TLSAllowInsecureConnection,
		// Pulsar clients verify host names only when asked to; an
		// instance follows the worker's setting, as a Java instance does.
		TLSSkipHostnameVerification: !c.TLSHostnameVerificationEnable,
	}
	if err := c.authenticate(&cfg); err != nil {
		return pulsar.Config{}, err
	}
	return cfg, nil
}

// inputNamespace is the one namespace every input topic lies in.
func (c *InstanceConfig) inputNamespace() (tenant, namespace string, err error) {
	for _, in := range c.Inputs {
		full := in.Topic
		if !in.Regex {
			full = fullTopicName(in.Topic)
		}
		t, ns, ok := namespaceOf(full)
		if !ok {
			return "", "", fmt.Errorf("input topic %q: cannot tell its tenant and namespace (want persistent://<tenant>/<namespace>/<topic>)", in.Topic)
		}
		if tenant != "" && (t != tenant || ns != namespace) {
			return "", "", fmt.Errorf("input topics lie in %s/%s and %s/%s: weft's transport serves one namespace", tenant, namespace, t, ns)
		}
		tenant, namespace = t, ns
	}
	if tenant == "" {
		return "", "", fmt.Errorf("function %s has no input topic", c.FQFN())
	}
	return tenant, namespace, nil
}

// namespaceOf reads tenant and namespace off a full topic name, or off the
// literal prefix of a regex over full names.
func namespaceOf(full string) (tenant, namespace string, ok bool) {
	rest, found := strings.CutPrefix(full, "persistent://")
	if !found {
		return "", "", false
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || strings.ContainsAny(parts[0]+parts[1], `.*+?()[]{}|\^$`) {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// fullTopicName completes a short topic name as Pulsar does: "t" is
// persistent://public/default/t, "tenant/ns/t" is persistent://tenant/ns/t.
func fullTopicName(topic string) string {
	switch {
	case strings.Contains(topic, "://"):
		return topic
	case strings.Count(topic, "/") >= 2:
		return "persistent://" + topic
	}
	return "persistent://public/default/" + topic
}

// tokenPlugin is the Java class of token authentication; "token", the
// name Go clients use, is accepted too.
const tokenPlugin = "org.apache.pulsar.client.impl.auth.AuthenticationToken"

// authenticate maps the config's authentication plugin onto the
// transport's token settings. Errors never quote the parameters.
func (c *InstanceConfig) authenticate(cfg *pulsar.Config) error {
	switch c.AuthPlugin {
	case "":
		return nil
	case tokenPlugin, "token":
	default:
		return fmt.Errorf("clientAuthenticationPlugin %q is not supported: weft's Pulsar transport authenticates with tokens only (%s)", c.AuthPlugin, tokenPlugin)
	}
	p := strings.TrimSpace(c.AuthParams)
	switch {
	case strings.HasPrefix(p, "{"):
		var m struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal([]byte(p), &m); err != nil || m.Token == "" {
			return fmt.Errorf("clientAuthenticationParameters of %s: a JSON object without a \"token\" string", c.AuthPlugin)
		}
		cfg.Token = m.Token
	case strings.HasPrefix(p, "token:"):
		cfg.Token = strings.TrimPrefix(p, "token:")
	case strings.HasPrefix(p, "file://"):
		cfg.TokenFile = strings.TrimPrefix(p, "file://")
	case strings.HasPrefix(p, "file:"):
		cfg.TokenFile = strings.TrimPrefix(p, "file:")
	default:
		// The Java plugin takes bare parameters as the token itself.
		cfg.Token = p
	}
	if cfg.Token == "" && cfg.TokenFile == "" {
		return fmt.Errorf("clientAuthenticationParameters of %s hold no token", c.AuthPlugin)
	}
	return nil
}
