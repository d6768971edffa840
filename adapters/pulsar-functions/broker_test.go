package pulsarfunctions

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/internal/testenv"
	"github.com/weftio/weft/transport/pulsar"
)

// brokerTest is a fresh namespace on the test broker (scripts/pulsar.sh),
// deleted when the test ends, and a transport on it.
type brokerTest struct {
	url, admin        string
	tenant, namespace string
	tr                *pulsar.Transport
}

func newBrokerTest(t *testing.T) *brokerTest {
	t.Helper()
	b := &brokerTest{
		url:       testenv.URL(t, testenv.PulsarURL),
		admin:     testenv.URL(t, testenv.PulsarAdminURL),
		tenant:    "weft-test",
		namespace: "pf-" + testenv.Suffix(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tr, err := pulsar.New(ctx, pulsar.Config{URL: b.url, AdminURL: b.admin, Tenant: b.tenant, Namespace: b.namespace, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("pulsar.New: %v", err)
	}
	b.tr = tr
	t.Cleanup(func() {
		_ = tr.Close()
		if code, body := b.adminDo(t, http.MethodDelete, "/admin/v2/namespaces/"+b.tenant+"/"+b.namespace+"?force=true"); code/100 != 2 && code != 404 {
			t.Logf("cleanup: delete namespace: %d %s", code, body)
		}
	})
	return b
}

func (b *brokerTest) full(topic string) string { return b.tr.TopicName(topic) }

func (b *brokerTest) adminDo(t *testing.T, method, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, b.admin+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Logf("%s %s: %v", method, path, err)
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// subStats is what the broker says of one subscription.
type subStats struct {
	Type       string `json:"type"`
	MsgBacklog int64  `json:"msgBacklog"`
	Consumers  []struct {
		Metadata map[string]string `json:"metadata"`
	} `json:"consumers"`
}

func (b *brokerTest) stats(t *testing.T, topic, sub string) (subStats, bool) {
	t.Helper()
	local := strings.TrimPrefix(b.full(topic), "persistent://"+b.tenant+"/"+b.namespace+"/")
	code, body := b.adminDo(t, http.MethodGet, "/admin/v2/persistent/"+b.tenant+"/"+b.namespace+"/"+url.PathEscape(local)+"/stats")
	switch {
	case code == 404: // no such topic: nobody subscribed or published
		return subStats{}, false
	case code != 200:
		t.Fatalf("stats of %s: %d %s", topic, code, body)
	}
	var st struct {
		Subscriptions map[string]subStats `json:"subscriptions"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("stats of %s: %v", topic, err)
	}
	s, ok := st.Subscriptions[sub]
	return s, ok
}

// waitBacklogZero polls until the subscription has acknowledged every
// message of topic (the broker updates its count asynchronously).
func (b *brokerTest) waitBacklogZero(t *testing.T, topic, sub string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		s, ok := b.stats(t, topic, sub)
		if ok && s.MsgBacklog == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscription %s of %s keeps a backlog of %d (found %t): messages left unacknowledged", sub, topic, s.MsgBacklog, ok)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testLogger sends logs to t.Log until the test ends.
func testLogger(t *testing.T) *slog.Logger {
	w := &tWriter{t: t}
	t.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct {
	mu      sync.Mutex
	t       *testing.T
	stopped bool
}

func (w *tWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *tWriter) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

// instanceConf is the JSON a worker would pass for a function consuming
// inputs (weft topics, keyed or not) in b's namespace.
func (b *brokerTest) instanceConf(t *testing.T, name, logTopic string, inputs ...string) *InstanceConfig {
	t.Helper()
	specs := map[string]string{}
	for _, in := range inputs {
		specs[b.full(in)] = `{"schemaType":"","serdeClassName":"","isRegexPattern":false,"receiverQueueSize":{"value":50},"consumerProperties":{}}`
	}
	doc, err := json.Marshal(map[string]any{
		"pulsarServiceURL": b.url, "instanceID": 0, "funcID": "fid", "funcVersion": "v1", "maxBufTuples": 1024,
		"port": 0, "metricsPort": 0, "clusterName": "standalone", "expectedHealthCheckInterval": 0,
		"tenant": b.tenant, "nameSpace": b.namespace, "name": name, "logTopic": logTopic,
		"processingGuarantees": 0, "secretsMap": "", "userConfig": "{}", "runtime": 3, "autoAck": true, "parallelism": 1,
		"subscriptionType": 0, "timeoutMs": 0, "subscriptionName": "", "cleanupSubscription": true, "subscriptionPosition": 1,
		"sourceInputSpecs": specs, "regexPatternSubscription": false, "receiverQueueSize": 0,
		"clientAuthenticationPlugin": "", "clientAuthenticationParameters": "",
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseArgs([]string{"-instance-conf", "'" + string(doc) + "'"})
	if err != nil {
		t.Fatalf("ParseArgs: %v", err)
	}
	return c
}

func seqData(n int) []byte { return []byte(fmt.Sprintf(`{"seq":%d}`, n)) }
