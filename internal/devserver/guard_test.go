package devserver_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftio/weft/internal/devserver"
)

const token = "PWdevtoken-0123456789abcdef"

// send makes a request with the given headers ("Host" sets the host it is
// addressed to).
func send(t *testing.T, srv *httptest.Server, method, path string, headers map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader("1"))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q: %s", method, path, ct, b)
	}
	if strings.Contains(string(b), token) || strings.Contains(strings.Join(resp.Header.Values("WWW-Authenticate"), " "), token) {
		t.Errorf("%s %s: the answer shows the token: %s", method, path, b)
	}
	return reply{status: resp.StatusCode, raw: string(b)}
}

// TestTokenIsRequired: with a token, every request but the health check
// must carry it; reads too, as states hold inputs and results.
func TestTokenIsRequired(t *testing.T) {
	t.Parallel()
	srv := serverWith(t, devserver.Options{Token: token})
	for _, r := range []struct{ method, path string }{{"POST", "/v1/workflows/Echo/run"}, {"GET", "/v1/instances/x"},
		{"GET", "/v1/instances/x/result"}, {"POST", "/v1/instances/Gated/x/signals/open"}, {"POST", "/v1/instances/Gated/x/cancel"},
		{"POST", "/v1/instances/Gated/x/retry-tasks"}, {"PUT", "/v1/workflows/Echo/run"}, {"DELETE", "/v1/instances/x"}} {
		send(t, srv, r.method, r.path, nil).expect(t, http.StatusUnauthorized, `"error"`, "missing token")
		send(t, srv, r.method, r.path, map[string]string{"Authorization": "Bearer " + token + "x"}).expect(t, http.StatusUnauthorized, "wrong token")
		send(t, srv, r.method, r.path, map[string]string{"Authorization": "Bearer " + token[:len(token)-1]}).expect(t, http.StatusUnauthorized, "wrong token")
		send(t, srv, r.method, r.path, map[string]string{"Authorization": "Basic " + token}).expect(t, http.StatusUnauthorized, "missing token")
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/workflows/Echo/run", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	auth := map[string]string{"Authorization": "Bearer " + token}
	send(t, srv, "POST", "/v1/workflows/Echo/run?wait=1", auth).expect(t, http.StatusOK, `"result":2`)
	send(t, srv, "POST", "/v1/workflows/Echo/run?wait=1", map[string]string{"Authorization": "bearer  " + token}).expect(t, http.StatusOK)
	send(t, srv, "GET", "/v1/instances/never", auth).expect(t, http.StatusNotFound, "workflow_unknown")
	send(t, srv, "GET", "/healthz", nil).expect(t, http.StatusOK, `"status":"ok"`)
	// The token opens the API to requests addressed to any name.
	send(t, srv, "POST", "/v1/workflows/Echo/run?wait=1", map[string]string{"Authorization": "Bearer " + token, "Host": "weft.example:8233"}).expect(t, http.StatusOK)
}

// TestCrossOriginChangesAreRefused: a browser request from another origin
// cannot change anything, token or not; same-origin browser requests,
// clients that are not browsers and reads pass.
func TestCrossOriginChangesAreRefused(t *testing.T) {
	t.Parallel()
	for _, o := range []devserver.Options{{}, {Token: token}} {
		srv := serverWith(t, o)
		h := func(kv ...string) map[string]string {
			m := map[string]string{}
			if o.Token != "" {
				m["Authorization"] = "Bearer " + token
			}
			for i := 0; i < len(kv); i += 2 {
				m[kv[i]] = kv[i+1]
			}
			return m
		}
		for _, p := range []string{"/v1/workflows/Echo/run", "/v1/instances/Gated/x/signals/open", "/v1/instances/Gated/x/cancel"} {
			send(t, srv, "POST", p, h("Sec-Fetch-Site", "cross-site")).expect(t, http.StatusForbidden, "cross-origin")
			send(t, srv, "POST", p, h("Sec-Fetch-Site", "same-site")).expect(t, http.StatusForbidden, "cross-origin")
			send(t, srv, "POST", p, h("Origin", "http://evil.example")).expect(t, http.StatusForbidden, "cross-origin")
		}
		send(t, srv, "POST", "/v1/workflows/Echo/run?wait=1", h("Sec-Fetch-Site", "same-origin")).expect(t, http.StatusOK, `"result":2`)
		send(t, srv, "POST", "/v1/workflows/Echo/run?wait=1", h("Origin", srv.URL)).expect(t, http.StatusOK, `"result":2`)
		send(t, srv, "POST", "/v1/workflows/Echo/run?wait=1", h()).expect(t, http.StatusOK, `"result":2`)
		send(t, srv, "GET", "/v1/instances/never", h("Sec-Fetch-Site", "cross-site")).expect(t, http.StatusNotFound)
	}
}

// TestWithoutTokenOnlyLoopbackNames: without a token the API answers only
// requests addressed to a loopback name, so a page whose name was rebound
// to 127.0.0.1 (and is then its own origin) cannot use it.
func TestWithoutTokenOnlyLoopbackNames(t *testing.T) {
	t.Parallel()
	srv := server(t)
	for _, host := range []string{"evil.example:8233", "evil.example", "127.0.0.1.evil.example", "10.0.0.1:8233"} {
		send(t, srv, "GET", "/v1/instances/x", map[string]string{"Host": host}).expect(t, http.StatusForbidden, "loopback")
		send(t, srv, "POST", "/v1/workflows/Echo/run", map[string]string{"Host": host, "Origin": "http://" + host}).expect(t, http.StatusForbidden, "loopback")
	}
	for _, host := range []string{"localhost:8233", "127.0.0.1", "127.0.0.2:1", "[::1]:8233", "weft.localhost"} {
		send(t, srv, "POST", "/v1/workflows/Echo/run?wait=1", map[string]string{"Host": host}).expect(t, http.StatusOK, `"result":2`)
	}
}

func TestCheckListen(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:8233", "127.0.0.1:0", "[::1]:8233", "localhost:8233"} {
		if err := devserver.CheckListen(addr, ""); err != nil {
			t.Errorf("CheckListen(%q) without a token = %v", addr, err)
		}
	}
	for _, addr := range []string{"0.0.0.0:8233", ":8233", "[::]:8233", "10.1.2.3:8233", "weft.example:8233"} {
		err := devserver.CheckListen(addr, "")
		if err == nil || !strings.Contains(err.Error(), "WEFT_DEV_TOKEN") || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("CheckListen(%q) without a token = %v, want a refusal saying why and naming WEFT_DEV_TOKEN", addr, err)
		}
		if err := devserver.CheckListen(addr, token); err != nil {
			t.Errorf("CheckListen(%q) with a token = %v", addr, err)
		}
	}
	if err := devserver.CheckListen("8233", ""); err == nil {
		t.Error("an address without a port was accepted")
	}
}

// TestCommandsToUnknownInstances: a signal, a cancel or a retry for an
// instance that does not exist is a 404 that says so.
func TestCommandsToUnknownInstances(t *testing.T) {
	t.Parallel()
	srv := server(t)
	for _, p := range []string{"/v1/instances/Gated/never/signals/open", "/v1/instances/Gated/never/cancel",
		"/v1/instances/Gated/never/retry-workflow-task", "/v1/instances/Gated/never/retry-tasks", "/v1/instances/Gated/never/complete-timers",
		"/v1/instances/Nope/never/cancel"} {
		if r := post(t, srv, p, `"x"`).expect(t, http.StatusNotFound); r.errorCode() != "workflow_unknown" || !strings.Contains(r.raw, "never") {
			t.Errorf("POST %s: %s, want workflow_unknown naming the instance", p, r.raw)
		}
	}
	post(t, srv, "/v1/instances/Gated/never/signals/open", `"x"`).expect(t, http.StatusNotFound, "no such workflow instance")
	// An id of another workflow's instance is no instance of this one.
	post(t, srv, "/v1/workflows/Echo/run?wait=1&id=e1", "1").expect(t, http.StatusOK)
	post(t, srv, "/v1/instances/Gated/e1/cancel", "").expect(t, http.StatusNotFound, "instance of workflow Echo")
}
