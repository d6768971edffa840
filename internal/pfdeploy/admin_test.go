package pfdeploy

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
)

// refusingBroker answers every admin request with status and body, and
// records the Authorization headers it got.
func refusingBroker(t *testing.T, status int, body string) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var auths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), auths...)
	}
}

// TestAdminErrorsSayWhyWithoutTheToken: the broker's refusals become
// errors naming the call, the function and what to check, and never show
// the token that was sent.
func TestAdminErrorsSayWhyWithoutTheToken(t *testing.T) {
	t.Parallel()
	const token = "eyJhbGciOiJIUzI1NiJ9.dG9wLXNlY3JldA.c2lnbmF0dXJl"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, auth, body string
		status           int
		want             []string
	}{
		{"no token", "", `{"reason":"Authentication required"}`, http.StatusUnauthorized,
			[]string{"look up function acme/flows/weft-state-engine", "HTTP 401", "requires authentication: set WEFT_PULSAR_TOKEN"}},
		{"refused token", "WEFT_PULSAR_TOKEN=" + token, "", http.StatusUnauthorized,
			[]string{"HTTP 401", "refused the token"}},
		{"token file", "WEFT_PULSAR_TOKEN_FILE_PATH=" + tokenFile, `{"reason":"Forbidden"}`, http.StatusForbidden,
			[]string{"HTTP 403", "may not manage functions"}},
		{"server error", "WEFT_PULSAR_TOKEN=" + token,
			`{"reason":"Function worker is not ready\n\nStacktrace:\n\tat org.apache.pulsar.Whatever(Whatever.java:1)"}`, http.StatusServiceUnavailable,
			[]string{"HTTP 503", "Function worker is not ready"}},
	} {
		srv, auths := refusingBroker(t, c.status, c.body)
		env := baseEnv("WEFT_PULSAR_ADMIN_URL="+srv.URL, "WEFT_ROLES=state-engine")
		if c.auth != "" {
			env = append(env, c.auth)
		}
		var out, errOut bytes.Buffer
		req := greeterReq("-binary", testBinary(t), "-wait", "0")
		req.Out, req.Err = &out, &errOut
		err := Target{Environ: func() []string { return env }}.Deploy(context.Background(), req)
		if err == nil {
			t.Errorf("%s: deploy succeeded against a broker answering %d", c.name, c.status)
			continue
		}
		text := err.Error() + out.String() + errOut.String()
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: %q lacks %q", c.name, text, w)
			}
		}
		if strings.Contains(text, "dG9wLXNlY3JldA") || strings.Contains(text, "Stacktrace") {
			t.Errorf("%s: the error shows the token or a stack trace: %q", c.name, text)
		}
		if got := auths(); c.auth != "" && (len(got) == 0 || got[0] != "Bearer "+token) {
			t.Errorf("%s: the broker got Authorization %q, want the token", c.name, got)
		}
	}
}

func TestNotRunning(t *testing.T) {
	t.Parallel()
	running := utils.FunctionInstanceStatus{InstanceID: 0, Status: utils.FunctionInstanceStatusData{Running: true}}
	dead := utils.FunctionInstanceStatus{InstanceID: 1, Status: utils.FunctionInstanceStatusData{Err: "exit status 1",
		NumRestarts: 3, LatestSystemExceptions: []utils.ExceptionInformation{{ExceptionString: "open redis://u:pw@h/0: refused"}}}}
	if why := notRunning(utils.FunctionStatus{NumInstances: 2, NumRunning: 2, Instances: []utils.FunctionInstanceStatus{running, running}}, 2); why != "" {
		t.Errorf("all running: %q, want none", why)
	}
	why := notRunning(utils.FunctionStatus{NumInstances: 2, NumRunning: 1, Instances: []utils.FunctionInstanceStatus{running, dead}}, 2)
	for _, w := range []string{"1 of 2 instances running", "instance 1: exit status 1", "refused", "3 restarts"} {
		if !strings.Contains(why, w) {
			t.Errorf("one dead: %q lacks %q", why, w)
		}
	}
	if strings.Contains(why, ":pw@") {
		t.Errorf("the status text shows a password: %q", why)
	}
	if why := notRunning(utils.FunctionStatus{}, 1); !strings.Contains(why, "0 of 1 instances running") {
		t.Errorf("not assigned yet: %q", why)
	}
	silent := utils.FunctionInstanceStatus{InstanceID: 0}
	if why := notRunning(utils.FunctionStatus{NumInstances: 1, Instances: []utils.FunctionInstanceStatus{silent}}, 1); !strings.Contains(why, "standard output") {
		t.Errorf("no error reported: %q, want where the instance's errors go", why)
	}
}
