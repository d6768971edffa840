package pulsarfunctions

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	apulsar "github.com/apache/pulsar-client-go/pulsar"

	"github.com/weftio/weft/adapters/pulsar-functions/internal/controlpb/controlpbconnect"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/memory"
	"github.com/weftio/weft/transport/pulsar"
)

const waitTimeout = 30 * time.Second

// loopback is the address to dial for a server listening on all
// interfaces.
func loopback(a net.Addr) string {
	return "127.0.0.1:" + strconv.Itoa(a.(*net.TCPAddr).Port)
}

// controlClient talks to InstanceControl as the worker does: gRPC over
// plaintext HTTP/2 with prior knowledge.
func controlClient(t *testing.T, addr net.Addr) controlpbconnect.InstanceControlClient {
	t.Helper()
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return controlpbconnect.NewInstanceControlClient(&http.Client{Transport: tr, Timeout: 5 * time.Second}, "http://"+loopback(addr), connect.WithGRPC())
}

// scrape reads the metrics at path.
func scrape(t *testing.T, addr net.Addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + loopback(addr) + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// metricValue finds the sample of name in a scrape (with any labels) and
// returns its value text.
func metricValue(t *testing.T, text, name string) string {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			return line[strings.LastIndexByte(line, ' ')+1:]
		}
	}
	t.Fatalf("no %s in\n%s", name, text)
	return ""
}

// memTransport is the memory transport dressed as the Pulsar one, for
// unit tests of the instance: its topics live in public/default, and it
// records the tuning of every subscription.
type memTransport struct {
	*memory.Transport
	mu      sync.Mutex
	tunings map[string]pulsar.Tuning
	groups  map[string]string
}

func newMemTransport(t *testing.T) *memTransport {
	m := &memTransport{Transport: memory.New(), tunings: map[string]pulsar.Tuning{}, groups: map[string]string{}}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func (m *memTransport) TopicName(topic string) string {
	return pulsar.TopicName("public", "default", topic)
}

func (m *memTransport) SubscribeTuned(ctx context.Context, topic string, opts transport.SubscribeOptions, tune pulsar.Tuning) (transport.Subscription, error) {
	m.mu.Lock()
	m.tunings[topic], m.groups[topic] = tune, opts.Group
	m.mu.Unlock()
	return m.Subscribe(ctx, topic, opts)
}

func (m *memTransport) CreateProducer(apulsar.ProducerOptions) (apulsar.Producer, error) {
	return nil, errors.New("the memory transport has no Pulsar producers")
}

func (m *memTransport) tuning(topic string) (pulsar.Tuning, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tunings[topic], m.groups[topic]
}

// testFn is a Function whose behaviour each test supplies.
type testFn struct {
	name   string
	subs   []functions.Subscription
	handle func(ctx context.Context, in core.Envelope) (functions.Result, error)
}

func (f *testFn) Name() string                            { return f.name }
func (f *testFn) Subscriptions() []functions.Subscription { return f.subs }
func (f *testFn) Handle(ctx context.Context, in core.Envelope) (functions.Result, error) {
	return f.handle(ctx, in)
}

func testEnv(topic, id, key string) core.Envelope {
	return core.Envelope{
		ID: id, Source: "pulsar-functions-test", SpecVersion: core.SpecVersion, Type: "test.Msg",
		Time: time.Now().UTC(), Data: []byte(`{}`), PartitionKey: key, Topic: topic,
	}
}
