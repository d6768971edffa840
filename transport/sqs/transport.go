package sqs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/weftio/weft/internal/redact"
	"github.com/weftio/weft/transport"
)

// opTimeout bounds one SQS call other than a long poll (the SDK's retries
// included), so that an endpoint that does not answer gives an error, not
// a hang.
const opTimeout = 30 * time.Second

// Transport is weft's transport on Amazon SQS (or a server that speaks its
// API). It is safe for concurrent use.
type Transport struct {
	cfg   Config
	names namer
	api   *sqs.Client
	log   *slog.Logger
	now   func() time.Time

	queues *queues

	mu      sync.Mutex
	closed  bool
	subs    map[*subscription]struct{}
	stop    chan struct{} // closed by Close
	wg      sync.WaitGroup
	pumping sync.Once
}

// New opens the transport. It checks the configuration and builds the SQS
// client, but calls nothing yet: a wrong endpoint or missing credentials
// show on first use (or in Check).
func New(ctx context.Context, cfg Config) (*Transport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sqs transport: %w", err)
	}
	cfg = cfg.withDefaults()
	api, err := newClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t := &Transport{
		cfg:   cfg,
		names: cfg.namer(),
		api:   api,
		log:   cfg.Logger,
		now:   cfg.Now,
		subs:  map[*subscription]struct{}{},
		stop:  make(chan struct{}),
	}
	t.queues = newQueues(t)
	return t, nil
}

// newClient builds the SQS client: region and credentials from the
// configuration, else from the SDK's default chains.
func newClient(ctx context.Context, cfg Config) (*sqs.Client, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")))
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, redact.Error(fmt.Errorf("sqs transport: load the AWS configuration: %w", err))
	}
	if ac.Region == "" {
		if cfg.Endpoint == "" {
			return nil, errors.New("sqs transport: no region: set WEFT_SQS_REGION (region) or AWS_REGION")
		}
		ac.Region = "us-east-1"
	}
	return sqs.NewFromConfig(ac, func(o *sqs.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.HTTPClient = plainBodies{o.HTTPClient}
	}), nil
}

// Capabilities: per-key order on the FIFO queues of FifoPrefixes (none
// without them), delays (up to 15 minutes by SQS, longer through the delay
// queue), dead-letter topics, durable, and the configured size limit.
func (t *Transport) Capabilities() transport.Capabilities {
	return transport.Capabilities{
		KeyedOrder:     len(t.cfg.FifoPrefixes) > 0,
		Delay:          true,
		DeadLetter:     true,
		Durable:        true,
		MaxMessageSize: t.cfg.MaxMessageSize,
	}
}

// Config returns the configuration in use, defaults filled in.
func (t *Transport) Config() Config { return t.cfg }

// use starts the delay pump on the transport's first use, and fails once
// the transport is closed.
func (t *Transport) use() error {
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return transport.ErrClosed
	}
	if t.cfg.DelayPump {
		t.pumping.Do(func() { t.spawn(t.pump) })
	}
	return nil
}

// spawn runs fn on a goroutine Close waits for, unless the transport is
// closed.
func (t *Transport) spawn(fn func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Go(fn)
	return true
}

func (t *Transport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// Close stops every subscription (their unsettled and buffered messages
// become visible again at once) and the delay pump. It waits for the
// receive calls under way to end, which takes up to WaitTime: a long poll
// is let finish, not cancelled, because a message SQS hands to a
// connection that went away stays hidden for the visibility timeout. What
// those calls bring is made visible again.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return transport.ErrClosed
	}
	t.closed = true
	close(t.stop)
	subs := make([]*subscription, 0, len(t.subs))
	for s := range t.subs {
		subs = append(subs, s)
	}
	t.mu.Unlock()
	for _, s := range subs {
		s.close()
	}
	t.wg.Wait()
	return nil
}

// Check asks SQS for a queue list, for readiness probes: it fails when the
// endpoint does not answer or refuses the credentials.
func (t *Transport) Check(ctx context.Context) error {
	if t.isClosed() {
		return transport.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	_, err := t.api.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String(t.cfg.QueuePrefix), MaxResults: aws.Int32(1)})
	if err != nil {
		return opError("list queues", t.cfg.QueuePrefix+"*", err)
	}
	return nil
}

// HasSubscription reports whether a consumer group has subscribed to
// topic: its queue exists and carries the weft-group tag.
func (t *Transport) HasSubscription(ctx context.Context, topic string) (bool, error) {
	if t.isClosed() {
		return false, transport.ErrClosed
	}
	q, found, err := t.queues.lookup(ctx, t.names.queue(topic))
	if err != nil || !found {
		return false, err
	}
	owner, err := t.queues.owner(ctx, q)
	return owner != "", err
}

// opError names the operation and the queue of a failed SQS call. SDK
// errors carry no credentials; URLs in them are masked all the same.
func opError(op, queue string, err error) error {
	return redact.Error(fmt.Errorf("sqs: %s, queue %s: %w", op, queue, err))
}
