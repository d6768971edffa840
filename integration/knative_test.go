package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/adapters/knative"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/examples"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/integration/internal/chain"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
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

func newInProcessKnative(t *testing.T, broker *knativetest.Broker) *inProcessKnative {
	t.Helper()
	reg, err := knRegistry(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg := load(t, map[string]string{"WEFT_TRANSPORT": "knative", "WEFT_KNATIVE_SINK": broker.URL(), "WEFT_KNATIVE_DELAY_POLL": "50ms"})
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
	srv, err := knative.New(knative.Config{Functions: fns, Transport: tr, Listener: ln, MaxInFlight: 16, ShutdownGrace: time.Millisecond})
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
// retries what is refused; one replica of each role is killed mid-run and
// another started. Every workflow completes, each step's result once and
// in order, and nothing is dead-lettered.
func TestKnativeInProcess(t *testing.T) {
	broker := knativetest.New(knativetest.Options{Retry: 30, BackoffDelay: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, RetryAfterMax: time.Second})
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
	if err := examples.RunAll(ctx, c, &narrative); err != nil {
		t.Fatalf("examples on Knative: %v\n%s\n%s", err, narrative.String(), broker)
	}

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
