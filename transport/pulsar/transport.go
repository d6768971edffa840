package pulsar

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/weftio/weft/internal/redact"
	"github.com/weftio/weft/transport"
)

// Transport is the Apache Pulsar transport. It is safe for concurrent use.
type Transport struct {
	cfg    Config
	log    *slog.Logger
	client pulsar.Client
	admin  *admin // nil without Config.AdminURL

	producers *producers // one per topic, for Publish and PublishRaw
	unbatched *producers // one per topic, for large messages and dead-letter entries

	// kept holds the dead-letter topics known to have the subscription
	// that keeps their entries (see keepDeadLetters).
	kept sync.Map

	mu     sync.Mutex
	subs   map[*subscription]struct{}
	closed atomic.Bool
	done   chan struct{} // closed by Close
}

var _ transport.Transport = (*Transport)(nil)

// New connects to the broker at cfg.URL and, when cfg.AdminURL is set,
// creates the tenant and namespace if they are missing. It fails within
// cfg.ConnectionTimeout (or when ctx ends) when no broker host answers.
func New(ctx context.Context, cfg Config) (*Transport, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := probe(ctx, cfg); err != nil {
		return nil, err
	}
	t := &Transport{
		cfg:  cfg,
		log:  cfg.Logger,
		subs: make(map[*subscription]struct{}),
		done: make(chan struct{}),
	}
	if cfg.AdminURL != "" {
		a, err := newAdmin(cfg)
		if err != nil {
			return nil, err
		}
		ret := retention{Minutes: int(cfg.RetentionTime / time.Minute), SizeMB: max(cfg.RetentionSizeMB, -1)}
		if cfg.RetentionTime < 0 {
			ret.Minutes = -1
		}
		if err := a.ensureNamespace(ctx, cfg.Tenant, cfg.Namespace, ret); err != nil {
			return nil, err
		}
		t.admin = a
	}
	opts, err := clientOptions(cfg)
	if err != nil {
		return nil, err
	}
	client, err := pulsar.NewClient(opts)
	if err != nil {
		return nil, fmt.Errorf("pulsar: client for %s: %w", redact.URL(cfg.URL), redact.Error(err))
	}
	t.client = client
	t.producers = newProducers(t, t.producerOptions)
	t.unbatched = newProducers(t, t.unbatchedProducerOptions)
	return t, nil
}

// clientOptions are the Pulsar client's options for an effective cfg.
func clientOptions(cfg Config) (pulsar.ClientOptions, error) {
	opts := pulsar.ClientOptions{
		URL:                        cfg.URL,
		ConnectionTimeout:          cfg.ConnectionTimeout,
		OperationTimeout:           cfg.OperationTimeout,
		TLSTrustCertsFilePath:      cfg.TLSTrustCertsFile,
		TLSAllowInsecureConnection: cfg.TLSAllowInsecure,
		TLSValidateHostname:        !cfg.TLSSkipHostnameVerification,
		Logger:                     clientLogger(cfg.Logger),
	}
	if cfg.TLSSkipHostnameVerification && strings.HasPrefix(cfg.URL, "pulsar+ssl:") {
		// The client's own switch only changes which name crypto/tls
		// checks; this configuration checks the chain alone.
		tc, err := cfg.tlsConfig()
		if err != nil {
			return opts, err
		}
		opts.TLSConfig = tc
	}
	switch {
	case cfg.Token != "":
		opts.Authentication = pulsar.NewAuthenticationToken(cfg.Token)
	case cfg.TokenFile != "":
		opts.Authentication = pulsar.NewAuthenticationTokenFromFile(cfg.TokenFile)
	}
	return opts, nil
}

// probe dials the service URL's hosts until one accepts a TCP connection
// (and, for pulsar+ssl://, completes a verified TLS handshake): the client
// itself connects lazily and retries for OperationTimeout, which would hide
// an unreachable broker, or a certificate that fails verification, behind
// the first publish.
func probe(ctx context.Context, cfg Config) error {
	hosts, err := serviceHosts(cfg.URL)
	if err != nil {
		return err
	}
	d := net.Dialer{Timeout: cfg.ConnectionTimeout}
	var errs []error
	for _, h := range hosts {
		c, err := d.DialContext(ctx, "tcp", h)
		if err == nil {
			if !strings.HasPrefix(cfg.URL, "pulsar+ssl:") {
				return c.Close()
			}
			return probeTLS(ctx, cfg, c, h)
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("pulsar: cannot reach the broker at %s within %v: %w", redact.URL(cfg.URL), cfg.ConnectionTimeout, redact.Error(errs[len(errs)-1]))
}

// probeTLS does on c the handshake the client will do with host h, so a
// certificate that fails verification fails New with the reason.
func probeTLS(ctx context.Context, cfg Config, c net.Conn, h string) error {
	defer c.Close()
	tc, err := cfg.tlsConfig()
	if err != nil {
		return err
	}
	tc.ServerName, _, _ = net.SplitHostPort(h)
	hctx, cancel := context.WithTimeout(ctx, cfg.ConnectionTimeout)
	defer cancel()
	if err := tls.Client(c, tc).HandshakeContext(hctx); err != nil {
		return fmt.Errorf("pulsar: TLS handshake with the broker at %s: %w", h, err)
	}
	return nil
}

func (t *Transport) producerOptions(topic string) pulsar.ProducerOptions {
	return pulsar.ProducerOptions{
		Topic:                   topic,
		SendTimeout:             t.cfg.OperationTimeout,
		DisableBatching:         t.cfg.DisableBatching,
		BatchingMaxPublishDelay: t.cfg.BatchingMaxPublishDelay,
		BatchingMaxMessages:     uint(t.cfg.BatchingMaxMessages),
		// Batches hold one key each, so Key_Shared can route them by key.
		BatcherBuilderType: pulsar.KeyBasedBatchBuilder,
	}
}

// unbatchedProducerOptions is for messages over largeMessage and for
// dead-letter entries. The client counts a message's metadata against the
// broker's limit, and a dead-letter entry is a little larger than the
// message it holds (an undecodable body is even base64-encoded): compressed,
// an envelope near the limit still fits. Batching would not help either,
// a batch holds at most 128 KiB.
func (t *Transport) unbatchedProducerOptions(topic string) pulsar.ProducerOptions {
	return pulsar.ProducerOptions{
		Topic:           topic,
		SendTimeout:     t.cfg.OperationTimeout,
		DisableBatching: true,
		CompressionType: pulsar.ZSTD,
	}
}

// pulsarTopic maps a weft topic into the configured namespace.
func (t *Transport) pulsarTopic(topic string) string {
	return TopicName(t.cfg.Tenant, t.cfg.Namespace, topic)
}

// HasSubscription reports whether topic has a subscription other than
// DeadLetterSubscription (see transport.SubscriptionChecker). It asks the
// admin API, so it needs Config.AdminURL.
func (t *Transport) HasSubscription(ctx context.Context, topic string) (bool, error) {
	if t.closed.Load() {
		return false, transport.ErrClosed
	}
	if t.admin == nil {
		return false, errors.New("pulsar: cannot tell whether a topic has subscriptions without the admin API (Config.AdminURL)")
	}
	subs, err := t.admin.subscriptions(ctx, t.pulsarTopic(topic))
	if err != nil {
		return false, err
	}
	for _, s := range subs {
		if s != DeadLetterSubscription {
			return true, nil
		}
	}
	return false, nil
}

// TopicName returns the Pulsar topic that carries the weft topic.
func (t *Transport) TopicName(topic string) string { return t.pulsarTopic(topic) }

// Capabilities reports per-key order, delay, dead-lettering and durability.
func (t *Transport) Capabilities() transport.Capabilities {
	return transport.Capabilities{
		KeyedOrder:     true,
		Delay:          true,
		DeadLetter:     true,
		Durable:        true,
		MaxMessageSize: t.cfg.MaxMessageSize,
	}
}

func (t *Transport) isClosed() bool { return t.closed.Load() }

// Close closes every subscription (their unacknowledged messages go back to
// the broker), flushes and closes the producers (waiting for pending sends,
// up to OperationTimeout) and closes the client. Later calls return
// ErrClosed; calling Close again is a no-op.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed.Swap(true) {
		t.mu.Unlock()
		return nil
	}
	close(t.done)
	subs := make([]*subscription, 0, len(t.subs))
	for s := range t.subs {
		subs = append(subs, s)
	}
	t.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Go(func() { _ = s.Close() })
	}
	wg.Wait()
	for _, ps := range []*producers{t.producers, t.unbatched} {
		ps.closeAll()
	}
	// Producers and consumers still being created are not waited for: the
	// client keeps retrying a lookup for up to OperationTimeout even once
	// closed. Their goroutines close whatever they get and end by then.
	t.client.Close()
	return nil
}
