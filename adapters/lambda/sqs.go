package lambda

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/internal/redact"
)

// item is one SQS message of a batch and what became of it.
type item struct {
	rec Record
	msg Message
	bad error // set when the record could not be decoded
	out outcome
	err error
}

// sqs handles an SQS batch and answers which messages failed.
func (h *Handler) sqs(ctx context.Context, payload []byte) ([]byte, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("lambda: an SQS event that does not decode: %w", err)
	}
	w, cancel := h.bound(ctx)
	defer cancel()
	items := make([]*item, len(ev.Records))
	for i, m := range ev.Records {
		it := &item{rec: record(m)}
		it.msg, it.bad = h.decode(it.rec)
		items[i] = it
	}
	// A FIFO message group is handled in order, one message after the
	// other; so are the messages of one key of a keyed topic on a
	// standard queue. Every other message is a group of its own.
	var order []string
	groups := map[string][]*item{}
	for i, it := range items {
		g := "#" + strconv.Itoa(i)
		if id := it.rec.Attributes["MessageGroupId"]; id != "" {
			g = it.rec.QueueName + "\x00g\x00" + id
		} else if it.bad == nil && it.msg.Key != "" && h.keyed[it.msg.Topic] {
			g = it.rec.QueueName + "\x00k\x00" + it.msg.Key
		}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], it)
	}
	sem := make(chan struct{}, h.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, g := range order {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			h.group(w, groups[g])
		})
	}
	wg.Wait()
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	var retried, skipped int
	for _, it := range items {
		if it.out.settled() {
			continue
		}
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: it.rec.MessageID})
		if it.out == retry {
			retried++
			h.log.Warn("message failed; it comes again", "queue", it.rec.QueueName, "id", it.rec.MessageID, "topic", it.msg.Topic, "attempt", it.msg.Attempt, "err", redact.Text(errString(it.err)))
		} else {
			skipped++
		}
	}
	h.setBackoffs(ctx, w, items)
	if retried+skipped > 0 {
		h.log.Info("batch handled in part", "messages", len(items), "failed", retried, "not started", skipped)
	}
	return json.Marshal(resp)
}

// group handles one group's messages in order; after a failure, the rest
// are not started (their order would break).
func (h *Handler) group(w work, its []*item) {
	stop := false
	for _, it := range its {
		if stop || w.late() {
			it.out = skipped
			h.skips.add(it.rec.MessageID)
			stop = true
			continue
		}
		it.out, it.err = h.item(w.ctx, it)
		if it.out.settled() {
			h.skips.forget(it.rec.MessageID)
		}
		stop = !it.out.settled()
	}
}

// item handles one message.
func (h *Handler) item(ctx context.Context, it *item) (outcome, error) {
	if it.bad != nil {
		topic := it.rec.MessageAttributes[attrTopic]
		if topic == "" {
			topic = core.Topic("sqs", it.rec.QueueName)
		}
		return h.deadLetterOr(ctx, topic, it.rec.Attributes["MessageGroupId"], []byte(it.rec.Body),
			"undecodable SQS message: "+it.bad.Error(), attemptOf(it.rec))
	}
	if it.msg.Delayed {
		if err := h.cfg.Queues.Forward(ctx, it.rec); err != nil {
			return retry, fmt.Errorf("forwarding the delayed message: %w", err)
		}
		return done, nil
	}
	// The receives this environment skipped are no attempts.
	attempt := max(1, it.msg.Attempt-h.skips.get(it.rec.MessageID))
	return h.handleBody(ctx, it.msg.Topic, it.msg.Key, it.msg.Body, attempt)
}

// setBackoffs makes every failed message come again after its backoff,
// and the ones not started at once. A failure here only delays them to
// the queue's visibility timeout.
func (h *Handler) setBackoffs(ctx context.Context, w work, items []*item) {
	if h.cfg.Queues == nil {
		return
	}
	// Within the invocation's time: answering after its deadline would
	// bring the whole batch back.
	limit := 2 * time.Second
	if !w.answerBy.IsZero() {
		limit = min(limit, time.Until(w.answerBy))
	}
	if limit <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	defer cancel()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, it := range items {
		if it.out.settled() || it.rec.ReceiptHandle == "" {
			continue
		}
		var after time.Duration
		if it.out == retry {
			after = h.cfg.Backoff(max(it.msg.Attempt, 1))
			if d, ok := functions.IsNotYet(it.err); ok && d > 0 {
				after = d
			} else if functions.IsUnavailable(it.err) {
				// An outage is not counted against the message, but
				// SQS counts its receives towards the queue's redrive:
				// come back more and more slowly.
				after = outageBackoff(it.msg.Attempt)
			}
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := h.cfg.Queues.RetryAfter(ctx, it.rec.QueueName, it.rec.ReceiptHandle, after); err != nil {
				h.log.Warn("could not set the failed message's backoff; it comes again after the queue's visibility timeout", "queue", it.rec.QueueName, "id", it.rec.MessageID, "err", redact.Text(err.Error()))
			}
		})
	}
	wg.Wait()
}

// outageBackoff doubles from 1 s up to 15 minutes: twenty receives then
// span hours, so the queue's redrive backstop does not take good
// messages during an outage.
func outageBackoff(attempt int) time.Duration {
	d := time.Second
	for i := 1; i < attempt && d < 15*time.Minute; i++ {
		d *= 2
	}
	return min(d, 15*time.Minute)
}

// attrTopic is the message attribute naming a message's topic.
const attrTopic = "weft-topic"

// decode reads a record: through the SQS transport when there is one,
// else as an envelope body.
func (h *Handler) decode(r Record) (Message, error) {
	if h.cfg.Queues != nil {
		return h.cfg.Queues.Decode(r)
	}
	m := Message{Topic: r.MessageAttributes[attrTopic], Key: r.MessageAttributes["weft-key"], Body: []byte(r.Body), Attempt: attemptOf(r)}
	if env, err := core.DecodeEnvelope(m.Body); err == nil {
		// (one that does not decode is dead-lettered when handled)
		if m.Topic == "" {
			m.Topic = env.Topic
		}
		if m.Key == "" {
			m.Key = env.PartitionKey
		}
	}
	return m, nil
}

// record converts an event's message.
func record(m events.SQSMessage) Record {
	attrs := make(map[string]string, len(m.MessageAttributes))
	for k, v := range m.MessageAttributes {
		if v.StringValue != nil {
			attrs[k] = *v.StringValue
		}
	}
	queue := m.EventSourceARN
	if i := strings.LastIndexByte(queue, ':'); i >= 0 {
		queue = queue[i+1:]
	}
	return Record{QueueName: queue, MessageID: m.MessageId, ReceiptHandle: m.ReceiptHandle, Body: m.Body, Attributes: m.Attributes, MessageAttributes: attrs}
}

// attemptOf is a record's receive count (1 when not told).
func attemptOf(r Record) int {
	n, err := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
	if err != nil || n < 1 {
		return 1
	}
	return n
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
