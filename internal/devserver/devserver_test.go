package devserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/internal/devserver"
	"github.com/weftio/weft/transport/memory"
)

var (
	add1  = weft.NewTask[int, int]("Calc", "add1")
	echo  = weft.NewWorkflow[int, int]("Echo", "run")
	gated = weft.NewWorkflow[int, int]("Gated", "run")
	gate  = weft.NewChannel[string]("Gated", "open")
	doom  = weft.NewWorkflow[int, int]("Doomed", "run")
)

func registry() *weft.Registry {
	r := weft.NewRegistry()
	weft.MustRegister(weft.RegisterTask(r, add1, func(_ weft.TaskContext, n int) (int, error) { return n + 1, nil }))
	weft.MustRegister(weft.RegisterWorkflow(r, echo, func(ctx weft.Context, n int) (int, error) { return weft.Call(ctx, add1, n) }))
	weft.MustRegister(weft.RegisterWorkflow(r, gated, func(ctx weft.Context, n int) (int, error) {
		open := weft.Receive(ctx, gate)
		s, err := open.Await()
		return n + len(s), err
	}))
	weft.MustRegister(weft.RegisterWorkflow(r, doom, func(ctx weft.Context, n int) (int, error) {
		return 0, errors.New("doomed from the start")
	}))
	return r
}

// server starts an embedded runtime behind the dev server's HTTP API.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	return serverWith(t, devserver.Options{})
}

// serverWith is server with the API guarded as o says.
func serverWith(t *testing.T, o devserver.Options) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	rt, err := embedded.Start(ctx, registry(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(devserver.Handler(rt.Client(), o))
	t.Cleanup(func() {
		srv.Close()
		if err := rt.Stop(); err != nil {
			t.Error(err)
		}
		cancel()
	})
	return srv
}

type reply struct {
	status int
	body   map[string]any
	raw    string
}

func do(t *testing.T, srv *httptest.Server, method, path string, body io.Reader) reply {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, raw: string(b)}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	if err := json.Unmarshal(b, &r.body); err != nil {
		t.Fatalf("%s %s: body %q is not a JSON object: %v", method, path, b, err)
	}
	return r
}

func post(t *testing.T, srv *httptest.Server, path, body string) reply {
	t.Helper()
	return do(t, srv, http.MethodPost, path, strings.NewReader(body))
}

func get(t *testing.T, srv *httptest.Server, path string) reply {
	t.Helper()
	return do(t, srv, http.MethodGet, path, nil)
}

func (r reply) expect(t *testing.T, status int, contains ...string) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	for _, c := range contains {
		if !strings.Contains(r.raw, c) {
			t.Fatalf("body %s does not contain %q", r.raw, c)
		}
	}
	return r
}

// errorCode reads {"error":{"code":...}}.
func (r reply) errorCode() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// until polls path until its status is no longer skip.
func until(t *testing.T, srv *httptest.Server, path string, skip int) reply {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := get(t, srv, path)
		if r.status != skip || time.Now().After(deadline) {
			return r
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	srv := server(t)
	get(t, srv, "/healthz").expect(t, http.StatusOK, `"status":"ok"`)
}

func TestDispatch(t *testing.T) {
	t.Parallel()
	srv := server(t)
	r := post(t, srv, "/v1/workflows/Echo/run", "41").expect(t, http.StatusAccepted)
	id, _ := r.body["workflowId"].(string)
	if id == "" {
		t.Fatalf("no workflow id: %s", r.raw)
	}
	res := until(t, srv, "/v1/instances/"+id+"/result", http.StatusNotFound)
	for res.status == http.StatusConflict { // dispatched, not ended yet
		res = until(t, srv, "/v1/instances/"+id+"/result", http.StatusConflict)
	}
	res.expect(t, http.StatusOK, `"state":"completed"`, `"value":42`)

	post(t, srv, "/v1/workflows/Echo/run?id=mine", "1").expect(t, http.StatusAccepted, `"workflowId":"mine"`)
	post(t, srv, "/v1/workflows/Echo/run?wait=1", "1").expect(t, http.StatusOK, `"result":2`)
	post(t, srv, "/v1/workflows/Echo/run?wait=1&id=mine", "100").expect(t, http.StatusOK, `"result":2`) // attaches
	// No body is a null input.
	post(t, srv, "/v1/workflows/Echo/run?wait=1", "").expect(t, http.StatusOK, `"result":1`)
}

func TestDispatchErrors(t *testing.T) {
	t.Parallel()
	srv := server(t)
	r := post(t, srv, "/v1/workflows/Echo/run", "{not json").expect(t, http.StatusBadRequest, "not valid JSON")
	if e, _ := r.body["error"].(map[string]any); e["message"] == nil {
		t.Errorf("error without a message: %s", r.raw)
	}
	if r := post(t, srv, "/v1/workflows/Echo/run", `"forty"`).expect(t, http.StatusBadRequest); r.errorCode() != "bad_input" {
		t.Errorf("wrong input type: %s", r.raw)
	}
	if r := post(t, srv, "/v1/workflows/Nope/run", "1").expect(t, http.StatusNotFound, "Nope"); r.errorCode() != "workflow_unknown" {
		t.Errorf("unknown workflow: %s", r.raw)
	}
	post(t, srv, "/v1/workflows/Echo/nope", "1").expect(t, http.StatusNotFound, "nope")
	big := bytes.Repeat([]byte(" "), devserver.MaxBody+1024)
	big[0] = '1'
	do(t, srv, http.MethodPost, "/v1/workflows/Echo/run", bytes.NewReader(big)).expect(t, http.StatusRequestEntityTooLarge, "request body")
	// Awaited outcomes that are not results.
	if r := post(t, srv, "/v1/workflows/Doomed/run?wait=1", "1").expect(t, http.StatusUnprocessableEntity, "doomed from the start"); r.errorCode() != "workflow_failed" {
		t.Errorf("failed workflow: %s", r.raw)
	}
	if r := post(t, srv, "/v1/workflows/Gated/run?wait=1&timeout=20ms", "1").expect(t, http.StatusGatewayTimeout); r.errorCode() != "workflow_timed_out" {
		t.Errorf("timed-out wait: %s", r.raw)
	}
	// The mux refuses other methods.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/workflows/Echo/run", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET on dispatch: %d", resp.StatusCode)
	}
}

// TestInstanceLifecycle: describe, result while running and after, signal.
func TestInstanceLifecycle(t *testing.T) {
	t.Parallel()
	srv := server(t)
	post(t, srv, "/v1/workflows/Gated/run?id=g1", "10").expect(t, http.StatusAccepted)
	d := until(t, srv, "/v1/instances/g1", http.StatusNotFound).expect(t, http.StatusOK)
	if d.body["workflowId"] != "g1" || d.body["workflowName"] != "Gated" {
		t.Fatalf("describe: %s", d.raw)
	}
	if r := get(t, srv, "/v1/instances/g1/result").expect(t, http.StatusConflict); r.errorCode() != "not_ended" {
		t.Fatalf("result while running: %s", r.raw)
	}
	post(t, srv, "/v1/instances/Gated/g1/signals/open", "{bad").expect(t, http.StatusBadRequest, "not valid JSON")
	post(t, srv, "/v1/instances/Gated/g1/signals/open", `"abc"`).expect(t, http.StatusAccepted, "sent")
	until(t, srv, "/v1/instances/g1/result", http.StatusConflict).expect(t, http.StatusOK, `"state":"completed"`, `"value":13`, `"workflowId":"g1"`)
	get(t, srv, "/v1/instances/g1").expect(t, http.StatusOK, `"result"`)
	if r := get(t, srv, "/v1/instances/never").expect(t, http.StatusNotFound); r.errorCode() != "workflow_unknown" {
		t.Fatalf("describe of an unknown id: %s", r.raw)
	}
	get(t, srv, "/v1/instances/never/result").expect(t, http.StatusNotFound)
}

func TestActions(t *testing.T) {
	t.Parallel()
	srv := server(t)
	post(t, srv, "/v1/workflows/Gated/run?id=c1", "1").expect(t, http.StatusAccepted)
	until(t, srv, "/v1/instances/c1", http.StatusNotFound).expect(t, http.StatusOK)
	for _, a := range []string{"retry-workflow-task", "retry-tasks?service=Calc", "complete-timers"} {
		post(t, srv, "/v1/instances/Gated/c1/"+a, "").expect(t, http.StatusAccepted, "sent")
	}
	post(t, srv, "/v1/instances/Gated/c1/explode", "").expect(t, http.StatusNotFound, "unknown action explode")
	post(t, srv, "/v1/instances/Gated/c1/cancel", "").expect(t, http.StatusAccepted, "sent")
	until(t, srv, "/v1/instances/c1/result", http.StatusConflict).expect(t, http.StatusOK, `"state":"canceled"`)
}

// TestBadIDsAndParameters: NUL or invalid UTF-8 in an id, a name or a
// query value, and a timeout that is no duration, are a 400.
func TestBadIDsAndParameters(t *testing.T) {
	t.Parallel()
	srv := server(t)
	for _, p := range []string{"/v1/workflows/Echo/run?id=a%00b", "/v1/workflows/Echo/run?id=a%FFb&wait=1", "/v1/workflows/Ec%00ho/run",
		"/v1/instances/Gated/a%FFb/signals/open", "/v1/instances/Gated/a%00b/cancel", "/v1/instances/Gated/x/cancel?methodRunId=%FF",
		"/v1/workflows/Echo/run?wait=1&timeout=bogus", "/v1/workflows/Echo/run?wait=1&timeout=-1s"} {
		post(t, srv, p, `"x"`).expect(t, http.StatusBadRequest)
	}
	get(t, srv, "/v1/instances/a%00b").expect(t, http.StatusBadRequest, "NUL or invalid UTF-8")
	get(t, srv, "/v1/instances/a%FFb/result").expect(t, http.StatusBadRequest, "NUL or invalid UTF-8")
}

// TestNoConsumerIsUnavailable: a wait that cannot be answered, because no
// state engine serves the workflow, is a 503 naming no_consumer.
func TestNoConsumerIsUnavailable(t *testing.T) {
	t.Parallel()
	tr := memory.New()
	defer tr.Close()
	c, err := client.New(context.Background(), client.Config{Transport: tr, ConsumerCheck: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := httptest.NewServer(devserver.Handler(c, devserver.Options{}))
	defer srv.Close()
	if r := post(t, srv, "/v1/workflows/Nobody/run?wait=1", "1").expect(t, http.StatusServiceUnavailable); r.errorCode() != "no_consumer" {
		t.Fatalf("error code %q, want no_consumer: %s", r.errorCode(), r.raw)
	}
}
