package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/weftio/weft"
	"github.com/weftio/weft/adapters/knative"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/examples"
	"github.com/weftio/weft/examples/approval"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/integration/internal/chain"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/triggers"
	storagememory "github.com/weftio/weft/storage/memory"
	ktransport "github.com/weftio/weft/transport/knative"
	"github.com/weftio/weft/transport/knative/knativetest"
)

// knRegistry is the code of the Knative tests: the examples and the chain.
func knRegistry(out io.Writer) (*weft.Registry, error) {
	reg := weft.NewRegistry()
	if err := examples.Register(reg, out); err != nil {
		return nil, err
	}
	return reg, chain.Register(reg, "", 20*time.Millisecond)
}

// knRoles are the roles a Knative deployment runs as Services (the event
// listener needs a sink of its own, tested apart).
var knRoles = []config.Role{config.RoleStateEngine, config.RoleExecutor, config.RoleTagEngine}

// inProcessKnative runs replicas of the roles as Knative servers in this
// process, on one memory storage, behind a test Broker.
type inProcessKnative struct {
	t      *testing.T
	broker *knativetest.Broker
	store  *storagememory.Store
	reg    *weft.Registry
	cfg    *config.Config

	mu       sync.Mutex
	replicas map[config.Role][]*replica
	prefixes map[config.Role][]string
}

type replica struct {
	url  string
	stop context.CancelFunc
	done chan struct{}
}

func newInProcessKnative(t *testing.T, broker *knativetest.Broker, extra ...string) *inProcessKnative {
	t.Helper()
	reg, err := knRegistry(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"WEFT_TRANSPORT": "knative", "WEFT_KNATIVE_SINK": broker.URL(), "WEFT_KNATIVE_DELAY_POLL": "50ms"}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	cfg := load(t, env)
	return &inProcessKnative{t: t, broker: broker, store: storagememory.New(), reg: reg, cfg: cfg,
		replicas: map[config.Role][]*replica{}, prefixes: map[config.Role][]string{}}
}

// start adds a replica of role and routes its topics' prefixes to it.
func (k *inProcessKnative) start(role config.Role) *replica {
	t := k.t
	t.Helper()
	tr, err := ktransport.New(context.Background(), ktransport.Config{Sink: k.broker.URL(), Store: k.store, Tags: k.store,
		DelayPoll: 50 * time.Millisecond, DelayClaim: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fns, err := bootstrap.Roles{Config: k.cfg, Registry: k.reg, Transport: tr, Store: k.store, Tags: k.store}.Functions([]config.Role{role})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := bootstrap.Triggers(k.cfg, k.reg, "weft/test")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := knative.New(knative.Config{Functions: fns, Transport: tr, Listener: ln, MaxInFlight: 16, ShutdownGrace: time.Millisecond, Triggers: mapper})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	r := &replica{url: "http://" + ln.Addr().String(), stop: stop, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := srv.Run(ctx); err != nil {
			t.Errorf("%s replica: %v", role, err)
		}
		_ = tr.Close()
	}()
	<-srv.Ready()
	t.Cleanup(func() { r.stop(); <-r.done })
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, routed := k.prefixes[role]; !routed {
		for _, p := range rolePrefixes(fns) {
			k.prefixes[role] = append(k.prefixes[role], p)
			k.broker.Route(knativetest.Trigger{Name: string(role) + "/" + p, Exact: map[string]string{ktransport.ExtPrefix: p}})
		}
	}
	k.replicas[role] = append(k.replicas[role], r)
	k.route(role)
	return r
}

// kill stops a replica at once (requests in flight are cut off) and
// takes it out of its triggers.
func (k *inProcessKnative) kill(role config.Role, r *replica) {
	k.mu.Lock()
	k.replicas[role] = slices.DeleteFunc(k.replicas[role], func(x *replica) bool { return x == r })
	k.route(role)
	k.mu.Unlock()
	r.stop()
	<-r.done
}

func (k *inProcessKnative) route(role config.Role) {
	var urls []string
	for _, r := range k.replicas[role] {
		urls = append(urls, r.url)
	}
	for _, p := range k.prefixes[role] {
		k.broker.SetReplicas(string(role)+"/"+p, urls...)
	}
}

// rolePrefixes are the topic prefixes the functions consume.
func rolePrefixes(fns []functions.Function) []string {
	var out []string
	for _, fn := range fns {
		for _, s := range fn.Subscriptions() {
			if p, _, err := core.SplitTopic(s.Topic); err == nil && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

// knClient is a client on the Knative transport, receiving its answers
// through a trigger of its own.
func knClient(t *testing.T, broker *knativetest.Broker, reg *weft.Registry, store *storagememory.Store) *client.Client {
	t.Helper()
	tr, err := ktransport.New(context.Background(), ktransport.Config{Sink: broker.URL()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tr)
	t.Cleanup(srv.Close)
	name := "knative-client-" + strings.ToLower(t.Name()[len(t.Name())-6:])
	broker.Route(knativetest.Trigger{Name: "client", Exact: map[string]string{ktransport.ExtTopic: core.Topic(core.PrefixResponse, name)}}, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.New(ctx, client.Config{Name: name, Transport: tr, Store: store, Tags: store, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); _ = tr.Close() })
	return c
}

// TestKnativeInProcess runs the three examples and chains of tasks with
// every role a Knative server, two or three replicas each, behind a
// Broker that delivers in parallel and in random order to any replica and
// retries what is refused, and delivers a fifth of the events twice; one
// replica of each role is killed mid-run and another started. Every
// workflow completes, each step's result once and in order, and nothing
// is dead-lettered.
func TestKnativeInProcess(t *testing.T) {
	broker := knativetest.New(knativetest.Options{Retry: 30, BackoffDelay: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, RetryAfterMax: time.Second,
		Duplicates: 0.2})
	defer broker.Close()
	k := newInProcessKnative(t, broker)
	victims := map[config.Role]*replica{}
	for _, role := range knRoles {
		victims[role] = k.start(role)
		k.start(role)
	}
	k.start(config.RoleStateEngine) // three state engines on the same instances
	c := knClient(t, broker, k.reg, k.store)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	var narrative bytes.Buffer
	began := time.Now()
	if err := examples.RunAll(ctx, c, &narrative); err != nil {
		t.Fatalf("examples on Knative: %v\n%s\n%s", err, narrative.String(), broker)
	}
	t.Logf("the examples took %v", time.Since(began))

	const chains, steps = 20, 8
	var handles []*client.Handle[chain.Output]
	for range chains {
		h, err := client.Dispatch(ctx, c, chain.Run, chain.Input{Steps: steps})
		if err != nil {
			t.Fatal(err)
		}
		handles = append(handles, h)
	}
	for _, role := range knRoles {
		time.Sleep(100 * time.Millisecond) // pacing only: let some steps run
		k.kill(role, victims[role])
		k.start(role)
	}
	for i, h := range handles {
		got, err := h.Await(ctx)
		if err != nil {
			t.Fatalf("chain %d (%s): %v\n%s", i, h.WorkflowID, err, broker)
		}
		if want := chain.Expected(steps); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("chain %s = %v, want %v", h.WorkflowID, got, want)
		}
	}
	if dead := broker.DeadLetters(); len(dead) > 0 {
		t.Errorf("%d events dead-lettered by the Broker, the first: %s (%d %s)", len(dead), dead[0].Event.ID(), dead[0].Code, dead[0].Data)
	}
	t.Log(broker)
}

// expenseTriggers map the HR system's events to the ExpenseApproval
// example: a submitted expense starts an approval (one per expense id,
// by customId), a decision signals it.
const expenseTriggers = `[
 {"type": "com.example.hr.expense.submitted", "source": "hr", "action": "dispatch", "workflow": "ExpenseApproval", "method": "approve",
  "customId": "expense-{$.expenseId}", "tags": ["employee:{$.employee}"],
  "input": {"employee": "$.employee", "amount": "$.amount", "deadline": "$.deadlineNanos"}},
 {"type": "com.example.hr.expense.decided", "action": "signal", "workflow": "ExpenseApproval", "customId": "expense-{$.expenseId}",
  "channel": "decisions", "input": {"approved": "$.approved", "by": "@subject"}}
]`

// TestKnativeTriggers sends the HR system's CloudEvents to a Knative
// deployment whose executors map them to commands: a submitted expense
// (binary mode, through the Broker) starts an approval; the same expense
// submitted again (structured mode, straight to an executor) attaches to
// it instead of starting a second; the decision signals it, and it ends
// approved by the manager the event names. An event of an unknown type
// and one whose data does not fit the workflow's input are answered 422
// with the reason, and dead-lettered with it.
func TestKnativeTriggers(t *testing.T) {
	broker := knativetest.New(knativetest.Options{Retry: 30, BackoffDelay: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, RetryAfterMax: time.Second})
	defer broker.Close()
	k := newInProcessKnative(t, broker, "WEFT_TRIGGERS", expenseTriggers)
	for _, role := range knRoles {
		k.start(role)
	}
	executor := k.start(config.RoleExecutor)
	broker.Route(knativetest.Trigger{Name: "hr-events", Prefix: map[string]string{"type": "com.example.hr."}}, executor.url)
	dead := &deadLetters{}
	deadSrv := httptest.NewServer(dead)
	defer deadSrv.Close()
	broker.Route(knativetest.Trigger{Name: "dead-letters", Prefix: map[string]string{ktransport.ExtTopic: "triggers-dlq:"}}, deadSrv.URL)
	c := knClient(t, broker, k.reg, k.store)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	submitted := func(id, amount string) event.Event {
		e := event.New()
		e.SetID(id)
		e.SetSource("hr")
		e.SetType("com.example.hr.expense.submitted")
		_ = e.SetData(event.ApplicationJSON, json.RawMessage(`{"expenseId":"42","employee":"erin","amount":`+amount+`,"deadlineNanos":3600000000000}`))
		return e
	}
	// Through the Broker, in binary mode.
	postEvent(t, broker.URL(), submitted("sub-1", "120"), false, http.StatusAccepted)
	ids := waitForTagged(ctx, t, c, "ExpenseApproval", "customId:expense-42", 1)
	// Again, straight to an executor, in structured mode: it attaches to
	// the running approval rather than start another.
	postEvent(t, executor.url, submitted("sub-2", "120"), true, http.StatusOK)
	if err := broker.WaitIdle(ctx, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if again, err := c.WorkflowIDsByTag(ctx, "ExpenseApproval", "employee:erin"); err != nil || len(again) != 1 || again[0] != ids[0] {
		t.Errorf("instances tagged employee:erin: %v (%v), want only %s (the second submission attached)", again, err, ids[0])
	}
	decided := event.New()
	decided.SetID("dec-1")
	decided.SetSource("hr")
	decided.SetType("com.example.hr.expense.decided")
	decided.SetSubject("mia")
	_ = decided.SetData(event.ApplicationJSON, json.RawMessage(`{"expenseId":"42","approved":true}`))
	postEvent(t, broker.URL(), decided, false, http.StatusAccepted)
	out, err := client.Get(c, approval.Approve, ids[0]).Await(ctx)
	if err != nil {
		t.Fatalf("the approval started by the event: %v\n%s", err, broker)
	}
	if out.Status != "approved" || out.By != "mia" {
		t.Errorf("approval = %+v, want approved by mia (the decision event's subject)", out)
	}

	// Bad events: 422 with the reason, and a dead-letter entry with it.
	unknown := event.New()
	unknown.SetID("del-1")
	unknown.SetSource("hr")
	unknown.SetType("com.example.hr.expense.deleted")
	_ = unknown.SetData(event.ApplicationJSON, json.RawMessage(`{"expenseId":"42"}`))
	body := postEvent(t, executor.url, unknown, false, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "no trigger maps") {
		t.Errorf("unknown type answered %q", body)
	}
	body = postEvent(t, executor.url, submitted("sub-3", `"lots"`), true, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "input does not match") {
		t.Errorf("unfitting data answered %q", body)
	}
	for _, c := range []struct{ topic, reason string }{
		{triggers.DeadLetterTopic("com.example.hr.expense.deleted"), "no trigger maps"},
		{triggers.DeadLetterTopic("com.example.hr.expense.submitted"), "input does not match"},
	} {
		if !dead.wait(c.topic, c.reason) {
			t.Errorf("no dead-letter entry on %s saying %q; got %v", c.topic, c.reason, dead.all())
		}
	}
}

// postEvent posts e (structured or binary mode) and checks the status.
func postEvent(t *testing.T, url string, e event.Event, structured bool, want int) string {
	t.Helper()
	var req *http.Request
	var err error
	if structured {
		b, merr := json.Marshal(e)
		if merr != nil {
			t.Fatal(merr)
		}
		req, err = http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
		if err == nil {
			req.Header.Set("Content-Type", "application/cloudevents+json")
		}
	} else {
		req, err = cehttp.NewHTTPRequestFromEvent(context.Background(), url, e)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("post %s (%s): HTTP %d %s, want %d", e.ID(), e.Type(), resp.StatusCode, b, want)
	}
	return string(b)
}

// waitForTagged waits until n instances of workflow carry tag.
func waitForTagged(ctx context.Context, t *testing.T, c *client.Client, workflow, tag string, n int) []string {
	t.Helper()
	for {
		ids, err := c.WorkflowIDsByTag(ctx, workflow, tag)
		if err == nil && len(ids) >= n {
			return ids
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no %d instances of %s tagged %s: %v %v", n, workflow, tag, ids, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// deadLetters records the dead-letter entries the Broker delivers.
type deadLetters struct {
	mu   sync.Mutex
	envs []core.Envelope
}

func (d *deadLetters) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err == nil {
		var env core.Envelope
		if env, err = ktransport.FromEvent(*e); err == nil {
			d.mu.Lock()
			d.envs = append(d.envs, env)
			d.mu.Unlock()
		}
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (d *deadLetters) all() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, e := range d.envs {
		out = append(out, e.Topic+": "+e.DeadLetterReason)
	}
	return out
}

func (d *deadLetters) wait(topic, reason string) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		d.mu.Lock()
		for _, e := range d.envs {
			if e.Topic == topic && strings.Contains(e.DeadLetterReason, reason) {
				d.mu.Unlock()
				return true
			}
		}
		d.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	return false
}
