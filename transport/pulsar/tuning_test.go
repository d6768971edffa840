package pulsar

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/weftio/weft/transport"
)

// subscriptionStats reads what the broker says of group on topic.
func subscriptionStats(t *testing.T, tr *Transport, topic, group string) (kind string, props []map[string]string) {
	t.Helper()
	full := strings.TrimPrefix(tr.TopicName(topic), "persistent://")
	tenant, rest, _ := strings.Cut(full, "/")
	ns, local, _ := strings.Cut(rest, "/")
	code, body, err := tr.admin.do(context.Background(), "GET", "/admin/v2/persistent/"+tenant+"/"+ns+"/"+url.PathEscape(local)+"/stats", nil)
	if err != nil || code != 200 {
		t.Fatalf("stats of %s: %d %s %v", topic, code, body, err)
	}
	var st struct {
		Subscriptions map[string]struct {
			Type      string `json:"type"`
			Consumers []struct {
				Metadata map[string]string `json:"metadata"`
			} `json:"consumers"`
		} `json:"subscriptions"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("stats of %s: %v in %s", topic, err, body)
	}
	sub, ok := st.Subscriptions[group]
	if !ok {
		t.Fatalf("stats of %s: no subscription %q in %s", topic, group, body)
	}
	for _, c := range sub.Consumers {
		props = append(props, c.Metadata)
	}
	return sub.Type, props
}

func TestSubscribeTunedOnBroker(t *testing.T) {
	t.Parallel()
	cfg := brokerConfig(t)
	tr := open(t, cfg)
	ctx := context.Background()

	if err := tr.Publish(ctx, testEnv("tuned:keyed", "before", "k")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	tune := Tuning{Failover: true, Latest: true, ReceiverQueueSize: 7, Properties: map[string]string{"application": "pulsar-function", "instance_id": "3"}}
	sub, err := tr.SubscribeTuned(ctx, "tuned:keyed", transport.SubscribeOptions{Group: "g", Keyed: true}, tune)
	if err != nil {
		t.Fatalf("SubscribeTuned: %v", err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	if q := sub.(*subscription).queue; q != 7 {
		t.Errorf("the member lets %d ready messages wait, want Tuning.ReceiverQueueSize 7", q)
	}
	if err := tr.Publish(ctx, testEnv("tuned:keyed", "after", "k")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	// Latest: the message published before the group existed is not
	// delivered, so the first one received is the later one.
	if id := idOf(t, receive(t, sub)); id != "after" {
		t.Errorf("received %q first, want after (the group starts at the latest message)", id)
	}
	kind, props := subscriptionStats(t, tr, "tuned:keyed", "g")
	if kind != "Failover" {
		t.Errorf("keyed subscription with Tuning.Failover is %s, want Failover", kind)
	}
	if len(props) != 1 || props[0]["application"] != "pulsar-function" || props[0]["instance_id"] != "3" {
		t.Errorf("consumer properties %v, want those of the Tuning", props)
	}

	// Failover is for keyed subscriptions only; the zero Tuning is Subscribe.
	for _, tc := range []struct {
		topic string
		keyed bool
		tune  Tuning
		want  string
	}{
		{"tuned:unkeyed", false, Tuning{Failover: true}, "Shared"},
		{"tuned:default-keyed", true, Tuning{}, "Key_Shared"},
		{"tuned:default", false, Tuning{}, "Shared"},
	} {
		s, err := tr.SubscribeTuned(ctx, tc.topic, transport.SubscribeOptions{Group: "g", Keyed: tc.keyed}, tc.tune)
		if err != nil {
			t.Fatalf("SubscribeTuned %s: %v", tc.topic, err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if q := s.(*subscription).queue; q != DefaultReceiverQueueSize {
			t.Errorf("%s: the member lets %d ready messages wait, want the Config's %d", tc.topic, q, DefaultReceiverQueueSize)
		}
		if kind, _ := subscriptionStats(t, tr, tc.topic, "g"); kind != tc.want {
			t.Errorf("%s (keyed %t, %+v) is a %s subscription, want %s", tc.topic, tc.keyed, tc.tune, kind, tc.want)
		}
	}
}

func TestSubscribeTunedRejectsNegativeQueue(t *testing.T) {
	t.Parallel()
	tr := open(t, brokerConfig(t))
	_, err := tr.SubscribeTuned(context.Background(), "tuned:bad", transport.SubscribeOptions{Group: "g"}, Tuning{ReceiverQueueSize: -1})
	if err == nil || !strings.Contains(err.Error(), "ReceiverQueueSize is -1") {
		t.Fatalf("SubscribeTuned with a negative queue: %v, want an error naming Tuning.ReceiverQueueSize", err)
	}
}

func TestCreateProducerOnUnmappedTopic(t *testing.T) {
	t.Parallel()
	cfg := brokerConfig(t)
	tr := open(t, cfg)
	topic := "persistent://" + cfg.Tenant + "/" + cfg.Namespace + "/plain-log-topic"
	c, err := tr.client.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "raw", SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatalf("raw subscribe: %v", err)
	}
	t.Cleanup(c.Close)
	p, err := tr.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err != nil {
		t.Fatalf("CreateProducer: %v", err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.Send(ctx, &pulsar.ProducerMessage{Payload: []byte("line")}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m, err := c.Receive(ctx)
	if err != nil || string(m.Payload()) != "line" {
		t.Fatalf("received %v, %v; want the line sent", m, err)
	}
	_ = tr.Close()
	if _, err := tr.CreateProducer(pulsar.ProducerOptions{Topic: topic}); err == nil {
		t.Error("CreateProducer on a closed transport succeeded")
	}
}
