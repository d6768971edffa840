package pulsar

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/weftio/weft/internal/redact"
)

// admin is the little of Pulsar's REST admin API the transport needs.
type admin struct {
	base  string // without a trailing slash
	shown string // base for messages, its secrets masked
	http  *http.Client
	token func() (string, error)
}

func newAdmin(c Config) (*admin, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if strings.HasPrefix(c.AdminURL, "https:") {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	a := &admin{
		base:  strings.TrimRight(c.AdminURL, "/"),
		shown: redact.URL(strings.TrimRight(c.AdminURL, "/")),
		http:  &http.Client{Transport: tr, Timeout: c.OperationTimeout},
	}
	switch {
	case c.Token != "":
		tok := c.Token
		a.token = func() (string, error) { return tok, nil }
	case c.TokenFile != "":
		file := c.TokenFile
		a.token = func() (string, error) {
			b, err := os.ReadFile(file)
			if err != nil {
				return "", fmt.Errorf("read Config.TokenFile: %w", err)
			}
			return strings.TrimSpace(string(b)), nil
		}
	}
	return a, nil
}

// do sends a request and returns the status code and the body (read up to
// 64 KiB, for error messages).
func (a *admin) do(ctx context.Context, method, path string, body any) (int, string, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, "", err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != nil {
		tok, err := a.token()
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(msg), nil
}

// exists reports whether GET path answers 200.
func (a *admin) exists(ctx context.Context, path string) bool {
	code, _, err := a.do(ctx, http.MethodGet, path, nil)
	return err == nil && code == http.StatusOK
}

// explain says what an admin call's failure means: the broker answers an
// authentication problem with a bare status.
func (a *admin) explain(code int, body string) string {
	switch code {
	case http.StatusUnauthorized:
		if a.token == nil {
			return "the broker requires authentication: set token or tokenFile"
		}
		return "the broker refused the token (check token or tokenFile: expired, or signed with another key?)"
	case http.StatusForbidden:
		return "the token's role may not do this (it must administer the tenant, or be a superuser): " + reason(body)
	}
	return reason(body)
}

// reason shortens an error body: the broker's {"reason": ...} carries a
// Java stack trace after the message.
func reason(body string) string {
	var r struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal([]byte(body), &r) == nil && r.Reason != "" {
		body = r.Reason
	}
	body = strings.TrimSpace(body)
	if i := strings.Index(body, "\n\nStacktrace:"); i >= 0 {
		body = body[:i]
	}
	if i := strings.Index(body, "\nStacktrace:"); i >= 0 {
		body = body[:i]
	}
	if len(body) > 300 {
		body = body[:300] + "..."
	}
	return strings.Join(strings.Fields(body), " ")
}

// ensureNamespace creates tenant/namespace, and the tenant first if the
// broker says it does not exist; a namespace it creates gets the retention
// policy ret (unless zero). Existing ones are left as they are.
func (a *admin) ensureNamespace(ctx context.Context, tenant, namespace string, ret retention) error {
	path := "/admin/v2/namespaces/" + url.PathEscape(tenant) + "/" + url.PathEscape(namespace)
	for try := 0; ; try++ {
		code, msg, err := a.do(ctx, http.MethodPut, path, nil)
		if err != nil {
			return fmt.Errorf("pulsar: create namespace %s/%s at %s: %w", tenant, namespace, a.shown, err)
		}
		switch {
		case code/100 == 2:
			return a.setRetention(ctx, path, ret)
		case code == http.StatusConflict: // already there
			return nil
		case code == http.StatusNotFound && try == 0:
			if err := a.ensureTenant(ctx, tenant); err != nil {
				return err
			}
		case a.exists(ctx, path):
			// Created concurrently: the broker can report the race as a
			// server error rather than a conflict.
			return nil
		default:
			return fmt.Errorf("pulsar: create namespace %s/%s at %s: HTTP %d: %s", tenant, namespace, a.shown, code, a.explain(code, msg))
		}
	}
}

// retention is a namespace retention policy: acknowledged messages and
// messages of topics without subscriptions are kept for Minutes or up to
// SizeMB per topic, whichever is reached first.
type retention struct {
	Minutes int `json:"retentionTimeInMinutes"`
	SizeMB  int `json:"retentionSizeInMB"`
}

// setRetention applies ret to the namespace at path (nothing when zero).
func (a *admin) setRetention(ctx context.Context, path string, ret retention) error {
	if ret.Minutes == 0 && ret.SizeMB == 0 {
		return nil
	}
	code, msg, err := a.do(ctx, http.MethodPost, path+"/retention", ret)
	if err != nil {
		return fmt.Errorf("pulsar: set retention of %s at %s: %w", path, a.shown, err)
	}
	if code/100 != 2 {
		return fmt.Errorf("pulsar: set retention of %s at %s: HTTP %d: %s", path, a.shown, code, a.explain(code, msg))
	}
	return nil
}

// ensureTenant creates tenant, allowed on every cluster the broker knows.
func (a *admin) ensureTenant(ctx context.Context, tenant string) error {
	code, msg, err := a.do(ctx, http.MethodGet, "/admin/v2/clusters", nil)
	if err != nil {
		return fmt.Errorf("pulsar: list clusters at %s: %w", a.shown, err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("pulsar: list clusters at %s: HTTP %d: %s", a.shown, code, a.explain(code, msg))
	}
	var clusters []string
	if err := json.Unmarshal([]byte(msg), &clusters); err != nil {
		return fmt.Errorf("pulsar: list clusters at %s: %w", a.shown, err)
	}
	body := map[string]any{"allowedClusters": clusters, "adminRoles": []string{}}
	path := "/admin/v2/tenants/" + url.PathEscape(tenant)
	code, msg, err = a.do(ctx, http.MethodPut, path, body)
	if err != nil {
		return fmt.Errorf("pulsar: create tenant %s at %s: %w", tenant, a.shown, err)
	}
	if code/100 != 2 && code != http.StatusConflict && !a.exists(ctx, path) {
		return fmt.Errorf("pulsar: create tenant %s at %s: HTTP %d: %s", tenant, a.shown, code, a.explain(code, msg))
	}
	return nil
}

// deleteNamespace deletes tenant/namespace with its topics (the broker must
// allow forced deletion, as scripts/pulsar.sh's does).
func (a *admin) deleteNamespace(ctx context.Context, tenant, namespace string) error {
	path := "/admin/v2/namespaces/" + url.PathEscape(tenant) + "/" + url.PathEscape(namespace) + "?force=true"
	code, msg, err := a.do(ctx, http.MethodDelete, path, nil)
	if err != nil {
		return fmt.Errorf("pulsar: delete namespace %s/%s at %s: %w", tenant, namespace, a.shown, err)
	}
	if code/100 != 2 && code != http.StatusNotFound {
		return fmt.Errorf("pulsar: delete namespace %s/%s at %s: HTTP %d: %s", tenant, namespace, a.shown, code, a.explain(code, msg))
	}
	return nil
}

// subscriptions lists the subscriptions of the Pulsar topic full
// (persistent://tenant/namespace/local); a topic that does not exist has
// none.
func (a *admin) subscriptions(ctx context.Context, full string) ([]string, error) {
	path := "/admin/v2/persistent/" + strings.TrimPrefix(full, "persistent://") + "/subscriptions"
	code, body, err := a.do(ctx, http.MethodGet, path, nil)
	switch {
	case err != nil:
		return nil, fmt.Errorf("pulsar: list the subscriptions of %s at %s: %w", full, a.shown, err)
	case code == http.StatusNotFound:
		return nil, nil
	case code != http.StatusOK:
		return nil, fmt.Errorf("pulsar: list the subscriptions of %s at %s: HTTP %d: %s", full, a.shown, code, a.explain(code, body))
	}
	var subs []string
	if err := json.Unmarshal([]byte(body), &subs); err != nil {
		return nil, fmt.Errorf("pulsar: list the subscriptions of %s at %s: %w", full, a.shown, err)
	}
	return subs, nil
}

// EnsureNamespace creates tenant/namespace through c's admin URL (with its
// TLS settings and token) when missing, and the tenant first when that is
// missing too, with no retention policy of its own: what a namespace
// holding no weft topic needs, such as the one Pulsar Functions are
// registered in. Existing ones are left as they are.
func EnsureNamespace(ctx context.Context, c Config, tenant, namespace string) error {
	c = c.withDefaults()
	if c.AdminURL == "" {
		return fmt.Errorf("pulsar: create namespace %s/%s: no admin URL (WEFT_PULSAR_ADMIN_URL)", tenant, namespace)
	}
	a, err := newAdmin(c)
	if err != nil {
		return err
	}
	return a.ensureNamespace(ctx, tenant, namespace, retention{})
}
