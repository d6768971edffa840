package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/internal/redact"
	"github.com/weftio/weft/internal/triggers"
	"github.com/weftio/weft/transport"
)

// Defaults for zero Config fields.
const (
	DefaultConcurrency = 16
	DefaultMargin      = 2 * time.Second
	// DefaultMaxPayload bounds an invocation's payload: Lambda's own limit
	// for a synchronous invocation is 6 MB.
	DefaultMaxPayload = 6 << 20
)

// Queues is what the handler needs of the SQS transport beyond
// publishing: decoding what the event source mapping hands over,
// forwarding the delay queue's messages, and setting a failed message's
// backoff. The SQS transport provides it; without it an SQS message's body
// is taken as an envelope.
type Queues interface {
	Decode(r Record) (Message, error)
	// Forward publishes a message of the delay queue to its topic when it
	// is due, else delays it again; either way r itself is then done.
	Forward(ctx context.Context, r Record) error
	// RetryAfter makes a failed message visible again after the delay.
	RetryAfter(ctx context.Context, queueName, receiptHandle string, after time.Duration) error
}

// Record is one SQS message of an event.
type Record struct {
	QueueName         string
	MessageID         string
	ReceiptHandle     string
	Body              string
	Attributes        map[string]string // system attributes (ApproximateReceiveCount, MessageGroupId, ...)
	MessageAttributes map[string]string // string values of the message attributes
}

// Message is a Record decoded.
type Message struct {
	Topic, Key string
	Body       []byte
	Attempt    int
	// Delayed marks a message of the delay queue, to be forwarded.
	Delayed bool
}

// Config configures a Handler.
type Config struct {
	// Functions are the roles served; their subscriptions' topics route
	// the messages.
	Functions []functions.Function
	// Transport publishes the outputs and the dead-letter entries.
	Transport transport.Transport
	// Queues, when set, reads SQS messages as the SQS transport wrote them.
	Queues Queues
	// Triggers, when set, maps directly invoked CloudEvents that are no
	// weft envelope to commands.
	Triggers *triggers.Mapper
	// MaxAttempts is how many receives of an SQS message are tried before
	// it is dead-lettered (default transport.DefaultMaxAttempts).
	MaxAttempts int
	// Backoff gives the delay before a failed SQS message comes again
	// (default transport.DefaultBackoff).
	Backoff func(attempt int) time.Duration
	// Concurrency bounds the messages of one invocation handled at once
	// (default DefaultConcurrency).
	Concurrency int
	// Margin is kept free before the invocation's deadline: no message is
	// started in it (default DefaultMargin, at most a fifth of the time
	// an invocation has).
	Margin time.Duration
	// MaxPayload bounds an invocation's payload (default DefaultMaxPayload).
	MaxPayload int
	// Logger receives the handler's logs (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Handler handles invocations; it implements aws-lambda-go's
// lambda.Handler. It is safe for concurrent use.
type Handler struct {
	cfg     Config
	log     *slog.Logger
	byTopic map[string]functions.Function
	keyed   map[string]bool
	txOut   *functions.TxOutlet
	// skips counts the receives of SQS messages this environment did not
	// start (behind a failure of their group, or at the deadline): SQS
	// counts them as receives, but they are no failures of the message.
	skips tally
	// fails counts the failures of Kafka and Amazon MQ messages, whose
	// events count no deliveries.
	fails tally
}

// New checks cfg and builds the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Transport == nil {
		return nil, errors.New("lambda: Config.Transport is required")
	}
	if len(cfg.Functions) == 0 {
		return nil, errors.New("lambda: no functions to serve")
	}
	if cfg.MaxAttempts < 0 || cfg.Concurrency < 0 || cfg.Margin < 0 || cfg.MaxPayload < 0 {
		return nil, fmt.Errorf("lambda: MaxAttempts %d, Concurrency %d, Margin %v, MaxPayload %d: want >= 0", cfg.MaxAttempts, cfg.Concurrency, cfg.Margin, cfg.MaxPayload)
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = transport.DefaultMaxAttempts
	}
	if cfg.Backoff == nil {
		cfg.Backoff = transport.DefaultBackoff
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Margin == 0 {
		cfg.Margin = DefaultMargin
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = DefaultMaxPayload
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, byTopic: map[string]functions.Function{}, keyed: map[string]bool{}}
	for _, fn := range cfg.Functions {
		for _, sub := range fn.Subscriptions() {
			if other, dup := h.byTopic[sub.Topic]; dup && other != fn {
				return nil, fmt.Errorf("lambda: topic %s is consumed by both %s and %s", sub.Topic, other.Name(), fn.Name())
			}
			h.byTopic[sub.Topic] = fn
			h.keyed[sub.Topic] = sub.Keyed
		}
	}
	if tp, ok := cfg.Transport.(transport.TxPublisher); ok {
		h.txOut = &functions.TxOutlet{Domain: tp.TxDomain(), Publish: tp.PublishTx}
	}
	return h, nil
}

// probe tells the kinds of invocation apart.
type probe struct {
	// Records is an SQS event's list (a Kafka event's "records" is an
	// object, which encoding/json matches here too: field names match
	// regardless of case).
	Records     json.RawMessage `json:"Records"`
	EventSource string          `json:"eventSource"`
	SpecVersion json.RawMessage `json:"specversion"`
}

// recordsSource is the event source of an SQS-style record list's first
// record ("" when there is none).
func (p probe) recordsSource() string {
	var recs []struct {
		EventSource string `json:"eventSource"`
	}
	if len(p.Records) == 0 || p.Records[0] != '[' || json.Unmarshal(p.Records, &recs) != nil || len(recs) == 0 {
		return ""
	}
	return recs[0].EventSource
}

// Invoke handles one invocation's payload: an SQS, Kafka or Amazon MQ
// event, or a CloudEvent.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if len(payload) > h.cfg.MaxPayload {
		return nil, fmt.Errorf("lambda: a payload of %d bytes is over the %d byte limit", len(payload), h.cfg.MaxPayload)
	}
	var p probe
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("lambda: the payload is no JSON object: %w", err)
	}
	recs := p.recordsSource()
	switch {
	case recs == "aws:sqs":
		return h.sqs(ctx, payload)
	case p.EventSource == "aws:kafka" || p.EventSource == "SelfManagedKafka":
		return h.kafka(ctx, payload)
	case p.EventSource == "aws:rmq":
		return h.rabbitMQ(ctx, payload)
	case p.EventSource == "aws:mq":
		return h.activeMQ(ctx, payload)
	case len(p.SpecVersion) > 0:
		return h.cloudEvent(ctx, payload)
	case bytes.Equal(bytes.TrimSpace(p.Records), []byte("[]")):
		// No record at all (Lambda never sends that; a warm-up ping may).
		return []byte(`{"batchItemFailures":[]}`), nil
	case recs != "":
		return nil, fmt.Errorf("lambda: records of event source %q are not handled (SQS, Kafka, Amazon MQ and CloudEvents are)", recs)
	case p.EventSource != "":
		return nil, fmt.Errorf("lambda: events of source %q are not handled (SQS, Kafka, Amazon MQ and CloudEvents are)", p.EventSource)
	}
	return nil, errors.New("lambda: the payload is no SQS, Kafka or Amazon MQ event and no CloudEvent (it has no specversion)")
}

// outcome is what became of one message.
type outcome int

const (
	done    outcome = iota // handled
	dead                   // dead-lettered, the error says why
	retry                  // to come again, the error says why
	skipped                // not started (deadline, or an earlier failure of its group)
)

// settled reports whether the message is done with: handled or
// dead-lettered.
func (o outcome) settled() bool { return o == done || o == dead }

// work bounds the handling of one invocation: a start-by instant and the
// context the handlers run in.
type work struct {
	ctx      context.Context
	startBy  time.Time // zero: no deadline
	answerBy time.Time // the last of the margin, kept for the answer; zero: no deadline
}

// bound derives the invocation's work bounds from its context.
func (h *Handler) bound(ctx context.Context) (work, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		c, cancel := context.WithCancel(ctx)
		return work{ctx: c}, cancel
	}
	margin := min(h.cfg.Margin, time.Until(deadline)/5)
	// Handlers get half the margin: they are cut off only if one started
	// just before the start-by instant runs over it. The second half is
	// for setting the failed messages' backoffs and for the answer, whose
	// last quarter is left to a loaded machine's scheduling.
	c, cancel := context.WithDeadline(ctx, deadline.Add(-margin/2))
	return work{ctx: c, startBy: deadline.Add(-margin), answerBy: deadline.Add(-margin / 4)}, cancel
}

// late reports whether no more work may start.
func (w work) late() bool {
	return w.ctx.Err() != nil || (!w.startBy.IsZero() && !time.Now().Before(w.startBy))
}

// handleBody runs one message's body through the function consuming its
// topic (the topic the message names, else its envelope's).
func (h *Handler) handleBody(ctx context.Context, topic, key string, body []byte, attempt int) (outcome, error) {
	if fn, ok := h.byTopic[topic].(functions.RawHandler); ok {
		return h.settle(ctx, h.processRaw(ctx, fn, body), topic, key, body, attempt)
	}
	env, err := core.DecodeEnvelope(body)
	if err != nil {
		return h.deadLetterOr(ctx, topic, key, body, "undecodable envelope: "+err.Error(), attempt)
	}
	if topic != "" && env.Topic != topic {
		return h.deadLetterOr(ctx, topic, key, body, fmt.Sprintf("the envelope is for %s but came as a message of %s", env.Topic, topic), attempt)
	}
	if due := env.DeliverAtTime(); due.After(h.cfg.Now().Add(time.Second)) {
		// Early: the transport keeps it until due.
		if err := h.cfg.Transport.Publish(ctx, env); err != nil {
			return retry, fmt.Errorf("keeping the early envelope %s failed: %w", env.ID, err)
		}
		return done, nil
	}
	return h.handle(ctx, env, attempt)
}

// handle runs one decoded envelope through its function.
func (h *Handler) handle(ctx context.Context, env core.Envelope, attempt int) (outcome, error) {
	fn, ok := h.byTopic[env.Topic]
	if !ok {
		body, _ := core.EncodeEnvelope(env)
		return h.deadLetterOr(ctx, env.Topic, env.PartitionKey, body, fmt.Sprintf("no function of this Lambda function consumes %s (an event source mapping on the wrong function?)", env.Topic), attempt)
	}
	err := h.process(ctx, fn, env)
	if err == nil {
		return done, nil
	}
	body, _ := core.EncodeEnvelope(env)
	return h.settle(ctx, err, env.Topic, env.PartitionKey, body, attempt)
}

// settle says what becomes of a message whose handling failed with err
// at its attempt-th try: dead-lettered when it never can succeed, or when
// it failed MaxAttempts times through its own fault; else to come again.
// An outage (functions.Unavailable), a "not yet" and the invocation's
// deadline are no fault of the message: they never dead-letter it.
func (h *Handler) settle(ctx context.Context, err error, topic, key string, body []byte, attempt int) (outcome, error) {
	_, notYet := functions.IsNotYet(err)
	switch {
	case err == nil:
		return done, nil
	case functions.IsPermanent(err):
		return h.deadLetterOr(ctx, topic, key, body, err.Error(), attempt)
	case ctx.Err() != nil:
		return retry, fmt.Errorf("interrupted by the invocation's deadline: %w", err)
	case notYet || functions.IsUnavailable(err):
		return retry, err
	case attempt >= h.cfg.MaxAttempts:
		return h.deadLetterOr(ctx, topic, key, body, fmt.Sprintf("failed %d times: %v", attempt, err), attempt)
	}
	return retry, err
}

// deadLetterOr writes the dead-letter entry: dead, with the reason, once
// written; retry when the write failed.
func (h *Handler) deadLetterOr(ctx context.Context, topic, key string, body []byte, reason string, attempt int) (outcome, error) {
	if err := h.deadLetter(ctx, topic, key, body, reason, attempt); err != nil {
		return retry, err
	}
	return dead, errors.New(redact.Text(reason))
}

// process runs the function contract, a panic turned into a retryable
// error.
func (h *Handler) process(ctx context.Context, fn functions.Function, env core.Envelope) (err error) {
	defer func() {
		if r := recover(); r != nil {
			h.log.Error("handler panicked", "role", fn.Name(), "topic", env.Topic, "id", env.ID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("%s: handler panicked: %v", fn.Name(), r)
		}
	}()
	return functions.ProcessEnvelopeTx(ctx, fn, env, h.cfg.Transport.Publish, h.txOut)
}

// processRaw runs a raw handler (the triggers' ingress), a panic turned
// into a retryable error.
func (h *Handler) processRaw(ctx context.Context, fn functions.RawHandler, body []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			h.log.Error("handler panicked", "role", fn.Name(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("%s: handler panicked: %v", fn.Name(), r)
		}
	}()
	return functions.ProcessRaw(ctx, fn, body, h.cfg.Transport.Publish)
}

// deadLetter writes the dead-letter entry of a message received for topic.
func (h *Handler) deadLetter(ctx context.Context, topic, key string, body []byte, reason string, attempts int) error {
	if topic == "" {
		topic = core.Topic("lambda", "unknown")
	}
	dlq, entry := transport.DeadLetter(topic, key, body, redact.Text(reason), max(attempts, 1), h.cfg.Now())
	env, err := core.DecodeEnvelope(entry)
	if err == nil {
		err = h.cfg.Transport.Publish(ctx, env)
	}
	if err != nil {
		return fmt.Errorf("lambda: dead-letter to %s: %w", dlq, err)
	}
	h.log.Warn("dead-lettered", "topic", topic, "dlq", dlq, "reason", redact.Text(reason))
	return nil
}

// tally counts per message id what this execution environment saw happen
// to it (best effort: a bounded memory, forgotten when full, and not
// shared with the function's other instances).
type tally struct {
	mu sync.Mutex
	m  map[string]int
}

// tallyLimit bounds a tally's ids.
const tallyLimit = 100_000

func (t *tally) add(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil || len(t.m) >= tallyLimit {
		t.m = map[string]int{}
	}
	t.m[id]++
}

func (t *tally) get(id string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

func (t *tally) forget(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, id)
}
