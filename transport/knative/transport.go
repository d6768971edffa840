package knative

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/redact"
	"github.com/weftio/weft/transport"
)

// RawType is the type of the event PublishRaw posts: its data is the
// bytes as given (application/octet-stream), which the receiving
// transport hands on as the delivery's body.
const RawType = "weft.transport.Raw"

// Transport posts envelopes to a Knative sink and receives them as an
// http.Handler. It is safe for concurrent use.
type Transport struct {
	cfg   Config
	shown string // the sink for messages, without secrets
	log   *slog.Logger

	delays *delays // nil without storage

	mu     sync.Mutex
	groups map[string]map[string]*group // topic -> group name -> group
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup

	attempts *attempts
}

// New opens the transport: the sink must be known (Config.Sink or
// $K_SINK). With Config.Store and Tags it keeps delayed envelopes there and
// runs the pump that posts them when due.
func New(ctx context.Context, cfg Config) (*Transport, error) {
	cfg, err := cfg.withDefaults(getenv)
	if err != nil {
		return nil, err
	}
	t := &Transport{
		cfg:      cfg,
		shown:    redact.URL(cfg.Sink),
		log:      cfg.Logger,
		groups:   map[string]map[string]*group{},
		done:     make(chan struct{}),
		attempts: newAttempts(100_000),
	}
	if cfg.Store != nil && cfg.Tags != nil {
		t.delays = &delays{t: t, kv: cfg.Store, ks: cfg.Tags, prefix: cfg.KeyPrefix}
		t.wg.Go(t.delays.pump)
	}
	return t, nil
}

// Capabilities: no order (Knative delivers in parallel), delays when the
// transport has storage, dead-letter topics, durable (the Broker keeps
// what it has accepted), and the size limit of Config.
func (t *Transport) Capabilities() transport.Capabilities {
	return transport.Capabilities{Delay: t.delays != nil, DeadLetter: true, Durable: true, MaxMessageSize: t.cfg.MaxMessageSize}
}

// Sink is the URL the transport posts to, for messages (secrets masked).
func (t *Transport) Sink() string { return t.shown }

// Publish posts every envelope to the sink, or keeps it in storage until
// its DeliverAt when that is still to come. It returns once the sink has
// accepted (or storage recorded) all of them.
func (t *Transport) Publish(ctx context.Context, envs ...core.Envelope) error {
	if t.isClosed() {
		return transport.ErrClosed
	}
	for _, env := range envs {
		b, err := core.EncodeEnvelope(env)
		if err != nil {
			return err
		}
		if len(b) > t.cfg.MaxMessageSize {
			return fmt.Errorf("knative: envelope %s of %d bytes: %w (limit %d)", env.ID, len(b), transport.ErrMessageTooLarge, t.cfg.MaxMessageSize)
		}
	}
	now := t.cfg.Now()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, 16)
	)
	for _, env := range envs {
		if due := env.DeliverAtTime(); due.After(now) {
			if t.delays == nil {
				return fmt.Errorf("knative: envelope %s is delayed until %s, but the transport has no storage to keep it in", env.ID, env.DeliverAt)
			}
			if err := t.delays.add(ctx, env, due); err != nil {
				return err
			}
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := t.post(ctx, env); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// post sends one envelope, due now, to the sink.
func (t *Transport) post(ctx context.Context, env core.Envelope) error {
	e, err := ToEvent(env, t.cfg.Overrides)
	if err != nil {
		return err
	}
	req, err := cehttp.NewHTTPRequestFromEvent(ctx, t.cfg.Sink, e)
	if err != nil {
		return fmt.Errorf("knative: envelope %s: %w", env.ID, err)
	}
	return t.send(req, env.ID)
}

// PublishRaw posts body as the data of a RawType event for topic.
func (t *Transport) PublishRaw(ctx context.Context, topic, key string, body []byte) error {
	if t.isClosed() {
		return transport.ErrClosed
	}
	if len(body) > t.cfg.MaxMessageSize {
		return fmt.Errorf("knative: raw message of %d bytes: %w (limit %d)", len(body), transport.ErrMessageTooLarge, t.cfg.MaxMessageSize)
	}
	id := rawID(topic, key, body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.cfg.Sink, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("knative: %w", redact.Error(err))
	}
	h := req.Header
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ce-specversion", core.SpecVersion)
	h.Set("ce-id", id)
	h.Set("ce-source", "weft/transport")
	h.Set("ce-type", RawType)
	h.Set("ce-"+ExtTopic, topic)
	if prefix, _, err := core.SplitTopic(topic); err == nil {
		h.Set("ce-"+ExtPrefix, prefix)
	}
	if key != "" {
		h.Set("ce-"+ExtPartitionKey, key)
	}
	for k, v := range t.cfg.Overrides {
		if !reserved[k] {
			h.Set("ce-"+k, v)
		}
	}
	return t.send(req, id)
}

// send does one post and reads the sink's answer.
func (t *Transport) send(req *http.Request, id string) error {
	resp, err := t.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("knative: post %s to %s: %w", id, t.shown, redact.Error(err))
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusRequestEntityTooLarge:
		return fmt.Errorf("knative: post %s to %s: HTTP 413: %w", id, t.shown, transport.ErrMessageTooLarge)
	default:
		return fmt.Errorf("knative: post %s to %s: HTTP %d: %s", id, t.shown, resp.StatusCode, strings.TrimSpace(redact.Text(string(msg))))
	}
}

func (t *Transport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// Close stops the delay pump and every subscription: deliveries not yet
// settled are answered 503, so the Broker delivers them again.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return transport.ErrClosed
	}
	t.closed = true
	close(t.done)
	var gs []*group
	for _, byName := range t.groups {
		for _, g := range byName {
			gs = append(gs, g)
		}
	}
	t.groups = map[string]map[string]*group{}
	t.mu.Unlock()
	for _, g := range gs {
		g.close()
	}
	t.wg.Wait()
	return nil
}

// Check tells whether the sink answers at all (any HTTP answer will do:
// a Broker's ingress refuses an OPTIONS request, but it is there).
func (t *Transport) Check(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, t.cfg.Sink, nil)
	if err != nil {
		return fmt.Errorf("knative: %w", redact.Error(err))
	}
	resp, err := t.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("knative: sink %s: %w", t.shown, redact.Error(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("knative: sink %s answers HTTP %d", t.shown, resp.StatusCode)
	}
	return nil
}
