package pulsar

import (
	"context"
	"fmt"
	"sync"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/weftio/weft/transport"
)

// producers caches one producer per weft topic. A producer is created on
// first use, in the background so that a caller whose ctx ends stops
// waiting; concurrent callers share the creation. A failed creation is
// forgotten, so the next call tries again.
type producers struct {
	t    *Transport
	opts func(pulsarTopic string) pulsar.ProducerOptions

	mu     sync.Mutex
	m      map[string]*producerEntry
	closed bool
}

type producerEntry struct {
	ready chan struct{} // closed once p or err is set
	p     pulsar.Producer
	err   error
}

func newProducers(t *Transport, opts func(string) pulsar.ProducerOptions) *producers {
	return &producers{t: t, opts: opts, m: make(map[string]*producerEntry)}
}

// get returns the producer of topic, creating it if needed.
func (c *producers) get(ctx context.Context, topic string) (pulsar.Producer, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, transport.ErrClosed
	}
	e := c.m[topic]
	if e == nil {
		e = &producerEntry{ready: make(chan struct{})}
		c.m[topic] = e
		go c.create(topic, e)
	}
	c.mu.Unlock()
	select {
	case <-e.ready:
		return e.p, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.t.done:
		return nil, transport.ErrClosed
	}
}

// create runs until the client gives up (OperationTimeout), even past
// Close, which does not wait for it.
func (c *producers) create(topic string, e *producerEntry) {
	full := c.t.pulsarTopic(topic)
	p, err := c.t.client.CreateProducer(c.opts(full))
	c.mu.Lock()
	switch {
	case err != nil:
		e.err = fmt.Errorf("pulsar: create producer for %s (%s): %w", topic, full, err)
		delete(c.m, topic)
	case c.closed: // Close ran while the producer was being created
		p.Close()
		e.err = transport.ErrClosed
	default:
		e.p = p
	}
	c.mu.Unlock()
	close(e.ready)
}

// closeAll flushes and closes every producer; later gets fail.
func (c *producers) closeAll() {
	c.mu.Lock()
	c.closed = true
	var ps []pulsar.Producer
	for _, e := range c.m {
		select {
		case <-e.ready:
			if e.p != nil {
				ps = append(ps, e.p)
			}
		default: // still being created: create closes it
		}
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(p.Close) // Close waits for pending sends
	}
	wg.Wait()
}
