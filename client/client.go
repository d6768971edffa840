package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/transport"
)

// Config configures a Client.
type Config struct {
	// Name is the client's unique name and response topic (default: a
	// random "client-<uuid>").
	Name string
	// Transport carries commands and answers (required).
	Transport transport.Transport
	// Store, when set, lets Describe and Result read states directly, and
	// commands to an instance that does not exist fail with
	// ErrWorkflowUnknown instead of being dropped by the state engine.
	Store storage.KeyValue
	// Tags, when set, lets WorkflowIDsByTag read the tag engine's sets.
	Tags storage.KeySet
	// Registry, when set, is used to reject unknown workflows and inputs
	// that do not match a method's input type before anything is sent.
	Registry *weft.Registry
	// ConsumerCheck is how long an await waits before it asks the
	// transport whether anything consumes the topics its answer depends
	// on (default DefaultConsumerCheck; negative: never). When nothing
	// has subscribed to one (no state engine serves the workflow), the
	// await fails with CodeNoConsumer instead of waiting forever; the
	// commands stay on their topics and are handled if a consumer comes
	// later. Transports that cannot tell (see
	// transport.SubscriptionChecker) are not asked.
	ConsumerCheck time.Duration
	Logger        *slog.Logger
}

// DefaultConsumerCheck is Config.ConsumerCheck's default: long enough for
// workers started with the client to have subscribed.
const DefaultConsumerCheck = 10 * time.Second

// Client talks to weft. It is safe for concurrent use.
type Client struct {
	cfg    Config
	topic  string
	sub    transport.Subscription
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	waiters map[string][]chan *core.MethodOutcome
	closed  bool
	health  error // why the listener hears nothing now, if it does not

	consumedTopics sync.Map // topics found with a subscription
}

// New creates a client and starts listening on its response topic.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Transport == nil {
		return nil, errors.New("client: Config.Transport is required")
	}
	if cfg.Name == "" {
		cfg.Name = "client-" + newID()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ConsumerCheck == 0 {
		cfg.ConsumerCheck = DefaultConsumerCheck
	}
	c := &Client{cfg: cfg, topic: core.Topic(core.PrefixResponse, cfg.Name), waiters: map[string][]chan *core.MethodOutcome{}, done: make(chan struct{})}
	sub, err := cfg.Transport.Subscribe(ctx, c.topic, transport.SubscribeOptions{Group: cfg.Name})
	if err != nil {
		return nil, fmt.Errorf("client %s: subscribe to %s: %w", cfg.Name, c.topic, err)
	}
	c.sub = sub
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	go c.listen(lctx)
	return c, nil
}

// Name returns the client's name.
func (c *Client) Name() string { return c.cfg.Name }

// Close stops listening; pending awaits return an error.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	sub := c.sub
	c.mu.Unlock()
	c.cancel()
	err := sub.Close()
	<-c.done
	if errors.Is(err, transport.ErrClosed) {
		err = nil // the transport went first
	}
	return err
}

// Receive errors are retried after a pause growing up to maxListenPause,
// so an outage of the broker (or of pgqueue's database) does not spin.
const (
	minListenPause = 50 * time.Millisecond
	maxListenPause = 5 * time.Second
)

// listen hands the answers on the response topic to their waiters until
// the client closes. A receive error (the broker or its database away for
// a while) is retried with backoff, a subscription closed under it is
// made again: the client goes on hearing answers once the outage ends,
// and Healthy says what is wrong meanwhile.
func (c *Client) listen(ctx context.Context) {
	defer close(c.done)
	pause := minListenPause
	for {
		c.mu.Lock()
		sub := c.sub
		c.mu.Unlock()
		d, err := sub.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, transport.ErrClosed) {
				if err = c.resubscribe(ctx); errors.Is(err, transport.ErrClosed) {
					c.setHealth(fmt.Errorf("client %s: the transport is closed", c.cfg.Name))
					return // the transport itself is closed: nothing to wait for
				}
			}
			if err != nil {
				c.setHealth(fmt.Errorf("client %s: receiving answers on %s: %w", c.cfg.Name, c.topic, err))
				c.cfg.Logger.Warn("client: receive failed; retrying", "topic", c.topic, "err", err, "pause", pause)
				select {
				case <-ctx.Done():
					return
				case <-time.After(pause):
				}
				pause = min(2*pause, maxListenPause)
			}
			continue
		}
		pause = minListenPause
		c.setHealth(nil)
		env, err := core.DecodeEnvelope(d.Body())
		var msg core.Message
		if err == nil {
			msg, err = core.DecodeMessage(env)
		}
		o, ok := msg.(*core.MethodOutcome)
		if err != nil || !ok {
			reason := fmt.Sprintf("client %s cannot use this message", c.cfg.Name)
			if err != nil {
				reason = err.Error()
			}
			_ = d.DeadLetter(ctx, reason)
			continue
		}
		c.deliver(o)
		_ = d.Ack(ctx)
	}
}

// resubscribe replaces a subscription closed under the listener.
func (c *Client) resubscribe(ctx context.Context) error {
	sub, err := c.cfg.Transport.Subscribe(ctx, c.topic, transport.SubscribeOptions{Group: c.cfg.Name})
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		_ = sub.Close()
		return transport.ErrClosed
	}
	old := c.sub
	c.sub = sub
	_ = old.Close()
	return nil
}

func (c *Client) setHealth(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.health = err
}

// Healthy returns nil while the client hears answers, else what keeps it
// from it (it keeps trying until closed).
func (c *Client) Healthy() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("client: closed")
	}
	return c.health
}

func (c *Client) deliver(o *core.MethodOutcome) {
	c.mu.Lock()
	ws := c.waiters[o.MethodRunID]
	delete(c.waiters, o.MethodRunID)
	c.mu.Unlock()
	for _, w := range ws {
		w <- o
	}
}

// wait registers interest in a method run's outcome before the request that
// triggers the answer is sent, so the answer cannot be missed.
func (c *Client) wait(methodRunID string) (chan *core.MethodOutcome, func(), error) {
	ch := make(chan *core.MethodOutcome, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nil, errors.New("client: closed")
	}
	c.waiters[methodRunID] = append(c.waiters[methodRunID], ch)
	return ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		ws := c.waiters[methodRunID]
		for i, w := range ws {
			if w == ch {
				c.waiters[methodRunID] = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(c.waiters[methodRunID]) == 0 {
			delete(c.waiters, methodRunID)
		}
	}, nil
}

// receive waits for the outcome on ch, bounded by ctx and by timeout (0:
// none). The timeout is the caller's: the workflow keeps running. After
// Config.ConsumerCheck, it checks once that the topics the answer depends
// on have a consumer.
func (c *Client) receive(ctx context.Context, ch chan *core.MethodOutcome, timeout time.Duration, workflow, id, runID string, topics []string) (*core.MethodOutcome, error) {
	var tc, check <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	checked := make(chan error, 1)
	if c.cfg.ConsumerCheck > 0 && len(topics) > 0 {
		t := time.NewTimer(c.cfg.ConsumerCheck)
		defer t.Stop()
		check = t.C
	}
	for {
		select {
		case o := <-ch:
			return o, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("await %s %s: %w", workflow, id, ctx.Err())
		case <-tc:
			return nil, &core.Error{Code: core.CodeWorkflowTimedOut, Workflow: workflow, WorkflowID: id, MethodRunID: runID,
				Message: fmt.Sprintf("no result within %s (the workflow keeps running)", timeout)}
		case <-check:
			// Asked aside, so the caller's context and timeout still hold
			// while the transport answers.
			check = nil
			cctx, stop := context.WithCancel(ctx)
			defer stop()
			go func() { checked <- c.consumed(cctx, workflow, topics) }()
		case err := <-checked:
			if ce := core.AsError(err); ce != nil && ce.Code == core.CodeNoConsumer {
				select {
				case o := <-ch: // the answer came after all
					return o, nil
				default:
				}
				ce.WorkflowID, ce.MethodRunID = id, runID
				return nil, ce
			}
			if err != nil {
				c.cfg.Logger.Debug("could not tell whether the workflow's topics have consumers", "workflow", workflow, "id", id, "error", err)
			}
		case <-c.done:
			return nil, errors.New("client: closed while awaiting")
		}
	}
}

// answerTopics are the topics whose consumers an answer to a command sent
// to topic (about workflow) depends on: the state engine's command topic,
// and topic itself (the tag engine's, for a custom id).
func answerTopics(workflow, topic string) []string {
	cmd := core.Topic(core.PrefixWorkflowCmd, workflow)
	if topic == "" || topic == cmd {
		return []string{cmd}
	}
	return []string{topic, cmd}
}

// consumed reports, as an error with CodeNoConsumer, the first of topics
// nothing has subscribed to; another error when the transport cannot tell.
func (c *Client) consumed(ctx context.Context, workflow string, topics []string) error {
	sc, ok := c.cfg.Transport.(transport.SubscriptionChecker)
	if !ok {
		return errors.ErrUnsupported
	}
	for _, topic := range topics {
		if _, known := c.consumedTopics.Load(topic); known {
			continue
		}
		has, err := sc.HasSubscription(ctx, topic)
		if err != nil {
			return fmt.Errorf("client: look up the subscriptions of %s: %w", topic, err)
		}
		if has {
			// A subscription stays until it is deleted: asked once, so
			// many awaits cost the transport one lookup per topic.
			c.consumedTopics.Store(topic, true)
			continue
		}
		role := "state engine"
		if strings.HasPrefix(topic, core.PrefixWorkflowTag+":") {
			role = "tag engine"
		}
		return &core.Error{Code: core.CodeNoConsumer, Workflow: workflow, Message: fmt.Sprintf(
			"nothing has subscribed to topic %s: no %s serves workflow %s, so no answer can come (what was sent waits on the topic until one subscribes)",
			topic, role, workflow)}
	}
	return nil
}

// CheckConsumers tells whether the answers to commands for workflow can
// come: nil when the state engine's and the tag engine's topics of
// workflow have subscriptions, an error with CodeNoConsumer naming the
// first that has none, or another error when the transport cannot tell
// (errors.ErrUnsupported when it does not implement
// transport.SubscriptionChecker).
func (c *Client) CheckConsumers(ctx context.Context, workflow string) error {
	if workflow == "" {
		return &core.Error{Code: core.CodeBadInput, Message: "a workflow name is required"}
	}
	return c.consumed(ctx, workflow, []string{core.Topic(core.PrefixWorkflowCmd, workflow), core.Topic(core.PrefixWorkflowTag, workflow)})
}

// outcomeError turns a non-completed outcome into the caller's error.
func outcomeError(o *core.MethodOutcome) error {
	if o.Kind == core.MethodCompleted {
		return nil
	}
	if o.Error != nil {
		return o.Error
	}
	code := map[core.OutcomeKind]core.Code{core.MethodFailed: core.CodeWorkflowFailed, core.MethodCanceled: core.CodeWorkflowCanceled,
		core.MethodUnknown: core.CodeWorkflowUnknown}[o.Kind]
	return &core.Error{Code: code, Workflow: o.Workflow, WorkflowID: o.WorkflowID, MethodRunID: o.MethodRunID}
}

func (c *Client) send(ctx context.Context, topic, key string, m core.Message) error {
	return c.sendOuts(ctx, core.Out{Topic: topic, Key: key, Subject: key, Msg: m})
}

// sendOuts publishes messages in one batch, in order.
func (c *Client) sendOuts(ctx context.Context, outs ...core.Out) error {
	now := time.Now()
	id := newID()
	envs := make([]core.Envelope, 0, len(outs))
	for _, o := range outs {
		env, err := core.BuildEnvelope(o, id, now, "weft/client/"+c.cfg.Name, now)
		if err != nil {
			return err
		}
		envs = append(envs, env)
	}
	if err := c.cfg.Transport.Publish(ctx, envs...); err != nil {
		return fmt.Errorf("client: publish %s to %s: %w", outs[0].Msg.MessageType(), outs[0].Topic, err)
	}
	return nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return core.UUIDFromBytes(time.Now(), b)
}
