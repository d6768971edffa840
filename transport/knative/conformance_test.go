package knative_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	storagememory "github.com/weftio/weft/storage/memory"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/knative"
	"github.com/weftio/weft/transport/knative/knativetest"
	"github.com/weftio/weft/transport/transporttest"
)

// backend is what the transports of one subtest share: the Broker and the
// storage of delayed messages, so a reopened transport sees what an
// earlier one published.
type backend struct {
	broker *knativetest.Broker
	store  *storagememory.Store
}

// TestConformance runs the transport suite with every transport of a
// subtest behind one test Broker that routes every event to the latest
// transport opened (a restarted replica), delays kept in memory storage.
func TestConformance(t *testing.T) {
	var mu sync.Mutex
	backends := map[*testing.T]*backend{}
	transporttest.Run(t, func(t *testing.T) transport.Transport {
		mu.Lock()
		b := backends[t]
		if b == nil {
			b = &backend{broker: knativetest.New(knativetest.Options{Retry: 200, BackoffDelay: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}),
				store: storagememory.New()}
			backends[t] = b
			b.broker.Route(knativetest.Trigger{Name: "all"})
			t.Cleanup(func() {
				b.broker.Close()
				mu.Lock()
				delete(backends, t)
				mu.Unlock()
			})
		}
		mu.Unlock()
		tr, err := knative.New(context.Background(), knative.Config{Sink: b.broker.URL(), Store: b.store, Tags: b.store,
			DelayPoll: 20 * time.Millisecond, DelayClaim: time.Second, MaxMessageSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(tr)
		t.Cleanup(srv.Close)
		b.broker.SetReplicas("all", srv.URL)
		return tr
	})
}
