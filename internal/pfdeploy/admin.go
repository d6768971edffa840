package pfdeploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"
	adminconfig "github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"

	"github.com/weftio/weft/internal/redact"
	"github.com/weftio/weft/transport/pulsar"
)

// client is the functions API of the admin URL, with what its errors need.
type client struct {
	fns  admin.Functions
	pkgs admin.Packages
	// shown is the admin URL for messages, its secrets masked.
	shown string
	// authenticated says whether a token is sent, for the 401 message.
	authenticated bool
	// prepare runs once before the first function is created: the
	// topics' namespace must exist (see ensureNamespace).
	prepare  func(context.Context) error
	prepared bool
}

// newClient connects to pc's admin URL as the transport does: its TLS
// settings, and the token of Token or TokenFile (re-read on every request,
// so a rotated file is picked up).
func newClient(pc *pulsar.Config) (*client, error) {
	base := strings.TrimRight(pc.AdminURL, "/")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if strings.HasPrefix(base, "https:") {
		tc, err := pc.AdminTLSConfig()
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	auth := &authTransport{next: tr}
	switch {
	case pc.Token != "":
		tok := pc.Token
		auth.token = func() (string, error) { return tok, nil }
	case pc.TokenFile != "":
		file := pc.TokenFile
		auth.token = func() (string, error) {
			b, err := os.ReadFile(file)
			if err != nil {
				return "", fmt.Errorf("read WEFT_PULSAR_TOKEN_FILE_PATH: %w", err)
			}
			return strings.TrimSpace(string(b)), nil
		}
	}
	c, err := admin.NewPulsarClientWithAuthProvider(&adminconfig.Config{WebServiceURL: base, PulsarAPIVersion: adminconfig.V3}, auth)
	if err != nil {
		return nil, fmt.Errorf("admin client for %s: %w", redact.URL(base), redact.Error(err))
	}
	return &client{fns: c.Functions(), pkgs: c.Packages(), shown: redact.URL(base), authenticated: auth.token != nil}, nil
}

// authTransport sends the token on every request. It is pulsaradmin's
// auth.Provider, so the admin client takes it as its transport.
type authTransport struct {
	next  http.RoundTripper
	token func() (string, error)
}

func (a *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if a.token == nil {
		return a.next.RoundTrip(req)
	}
	tok, err := a.token()
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+tok)
	return a.next.RoundTrip(req)
}

func (a *authTransport) Transport() http.RoundTripper       { return a.next }
func (a *authTransport) WithTransport(rt http.RoundTripper) { a.next = rt }

// notFound reports whether the broker answered 404.
func notFound(err error) bool {
	var re rest.Error
	return errors.As(err, &re) && re.Code == http.StatusNotFound
}

// explain turns an admin call's error into one that says what failed and
// why, without a token or password: the broker's reason without its Java
// stack trace, and what a bare 401 or 403 means.
func (c *client) explain(what string, err error) error {
	var re rest.Error
	if !errors.As(err, &re) {
		return fmt.Errorf("%s at %s: %w", what, c.shown, redact.Error(err))
	}
	msg := reason(re.Reason)
	switch re.Code {
	case http.StatusUnauthorized:
		msg = "the broker requires authentication: set WEFT_PULSAR_TOKEN or WEFT_PULSAR_TOKEN_FILE_PATH"
		if c.authenticated {
			msg = "the broker refused the token of WEFT_PULSAR_TOKEN or WEFT_PULSAR_TOKEN_FILE_PATH (expired, or signed with another key?)"
		}
	case http.StatusForbidden:
		msg = "the token's role may not manage functions in this namespace (it must administer the tenant): " + msg
	}
	return fmt.Errorf("%s at %s: HTTP %d: %s", what, c.shown, re.Code, redact.Text(msg))
}

// reason shortens a broker's error text: {"reason": ...} bodies, and the
// Java stack traces some carry.
func reason(body string) string {
	var r struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal([]byte(body), &r) == nil && r.Reason != "" {
		body = r.Reason
	}
	if i := strings.Index(body, "\nStacktrace:"); i >= 0 {
		body = body[:i]
	}
	body = strings.Join(strings.Fields(body), " ")
	if len(body) > 300 {
		body = body[:300] + "..."
	}
	return body
}
