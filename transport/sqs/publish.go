package sqs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

// SQS's batch limits: entries per SendMessageBatch, and the bytes of them
// all (raised with MaxMessageSize where SQS takes larger messages).
const (
	maxBatchEntries = 10
	minBatchBytes   = 256 << 10
)

// Publish sends every envelope to the queue of its topic and to the queues
// of the topic's other consumer groups, or, when it is due later than SQS
// can delay it on that queue, to the delay queue. Every envelope is
// checked and encoded before anything is sent. It returns once SQS has
// accepted all of them.
func (t *Transport) Publish(ctx context.Context, envs ...core.Envelope) error {
	if err := t.use(); err != nil {
		return err
	}
	now := t.now()
	outs := make([]outgoing, 0, len(envs))
	for _, e := range envs {
		body, err := core.EncodeEnvelope(e)
		if err != nil {
			return fmt.Errorf("sqs: publish: %w", err)
		}
		o, err := t.prepare(e.Topic, e.PartitionKey, body, e.ID, e.DeliverAtTime(), now)
		if err != nil {
			return err
		}
		outs = append(outs, o)
	}
	return t.send(ctx, outs)
}

// PublishRaw sends body as it is (base64-encoded, with weft-raw, when SQS
// could not carry it as text).
func (t *Transport) PublishRaw(ctx context.Context, topic, key string, body []byte) error {
	if err := t.use(); err != nil {
		return err
	}
	o, err := t.prepare(topic, key, body, "", time.Time{}, t.now())
	if err != nil {
		return err
	}
	return t.send(ctx, []outgoing{o})
}

// prepare encodes one message for topic and routes it: due in the future
// it is delayed by SQS, or sent to the delay queue (see route).
func (t *Transport) prepare(topic, key string, body []byte, envID string, due, now time.Time) (outgoing, error) {
	viaDelayQueue, delay := route(now, due, t.names.isFifo(topic))
	if !viaDelayQueue {
		due = time.Time{}
	}
	o, err := newOutgoing(topic, key, body, envID, due)
	if err != nil {
		return o, fmt.Errorf("sqs: publish to %s: %w", topic, err)
	}
	o.delay = delay
	if err := o.checkSize(t.cfg.MaxMessageSize); err != nil {
		return o, fmt.Errorf("sqs: publish: %w", err)
	}
	return o, nil
}

// send delivers prepared messages: the delay queue's to it, the others to
// their topic's queues. Each queue gets its messages in order, in batches;
// distinct queues are sent to at once.
func (t *Transport) send(ctx context.Context, outs []outgoing) error {
	type lane struct {
		ref  queueRef
		outs []outgoing
	}
	var (
		lanes []*lane
		byURL = map[string]*lane{}
	)
	add := func(ref queueRef, o outgoing) {
		l := byURL[ref.url]
		if l == nil {
			l = &lane{ref: ref}
			byURL[ref.url] = l
			lanes = append(lanes, l)
		}
		l.outs = append(l.outs, o)
	}
	dests := map[string][]queueRef{}
	for _, o := range outs {
		if o.viaWait {
			ref, err := t.queues.ensure(ctx, t.names.delay(), "")
			if err != nil {
				return err
			}
			add(ref, o)
			continue
		}
		refs, ok := dests[o.topic]
		if !ok {
			var err error
			if refs, err = t.destinations(ctx, o.topic); err != nil {
				return err
			}
			dests[o.topic] = refs
		}
		for _, ref := range refs {
			add(ref, o)
		}
	}
	if len(lanes) == 1 {
		return t.sendQueue(ctx, lanes[0].ref, lanes[0].outs)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, l := range lanes {
		wg.Go(func() {
			if err := t.sendQueue(ctx, l.ref, l.outs); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// destinations are the queues a message of topic goes to: the topic's
// own (created when missing, so that what is published before the first
// group subscribes waits there) and those of its other groups.
func (t *Transport) destinations(ctx context.Context, topic string) ([]queueRef, error) {
	ref, err := t.queues.ensure(ctx, t.names.queue(topic), topic)
	if err != nil {
		return nil, err
	}
	groups, err := t.queues.groupQueues(ctx, topic)
	if err != nil {
		return nil, err
	}
	return append([]queueRef{ref}, groups...), nil
}

// sendQueue sends outs to one queue in order, in batches within SQS's
// limits.
func (t *Transport) sendQueue(ctx context.Context, ref queueRef, outs []outgoing) error {
	limit := max(minBatchBytes, t.cfg.MaxMessageSize)
	for len(outs) > 0 {
		n, size := 0, 0
		for n < len(outs) && n < maxBatchEntries && (n == 0 || size+outs[n].size <= limit) {
			size += outs[n].size
			n++
		}
		if err := t.sendBatch(ctx, ref, outs[:n]); err != nil {
			return err
		}
		outs = outs[n:]
	}
	return nil
}

func (t *Transport) sendBatch(ctx context.Context, ref queueRef, outs []outgoing) error {
	entries := make([]types.SendMessageBatchRequestEntry, len(outs))
	for i, o := range outs {
		e := types.SendMessageBatchRequestEntry{
			Id:                aws.String(fmt.Sprintf("m%d", i)),
			MessageBody:       aws.String(o.body),
			MessageAttributes: o.attrs,
		}
		if ref.fifo {
			e.MessageGroupId, e.MessageDeduplicationId = aws.String(o.group), aws.String(o.dedup)
		} else {
			e.DelaySeconds = o.delay
		}
		entries[i] = e
	}
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	out, err := t.api.SendMessageBatch(cctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(ref.url), Entries: entries})
	if err != nil {
		if isNoQueue(err) {
			t.queues.forget(ref.name)
		}
		if c := apiCode(err); c == "MessageTooLong" || c == "BatchRequestTooLong" {
			err = fmt.Errorf("%w (%w)", err, transport.ErrMessageTooLarge)
		}
		return opError(fmt.Sprintf("send %d message(s)", len(outs)), ref.name, err)
	}
	if len(out.Failed) == 0 {
		return nil
	}
	var (
		refused  []string
		tooLarge bool
	)
	for _, f := range out.Failed {
		what := aws.ToString(f.Id)
		var i int
		if _, err := fmt.Sscanf(what, "m%d", &i); err == nil && i >= 0 && i < len(outs) {
			if outs[i].id != "" {
				what = "envelope " + outs[i].id
			} else {
				what = "raw message"
			}
		}
		code := aws.ToString(f.Code)
		tooLarge = tooLarge || code == "MessageTooLong"
		refused = append(refused, fmt.Sprintf("%s: %s %s", what, code, aws.ToString(f.Message)))
	}
	err = fmt.Errorf("sqs: send to queue %s: %d of %d message(s) refused: %s", ref.name, len(out.Failed), len(outs),
		strings.Join(refused, "; "))
	if tooLarge {
		err = fmt.Errorf("%w (%w)", err, transport.ErrMessageTooLarge)
	}
	return err
}
