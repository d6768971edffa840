package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/redact"
)

// stream is one ordered run of a broker event's messages: a Kafka
// partition, an Amazon MQ queue.
type stream struct {
	name string
	msgs []streamMsg
}

// streamMsg is one message of a stream: its payload as the event gives it
// (base64), the topic and key its headers name.
type streamMsg struct {
	id, data, topic, key string
}

// summary is the answer to a Kafka or Amazon MQ invocation (their
// mappings read nothing of it: a failure is the invocation's error).
type summary struct {
	Handled int `json:"handled"`
}

// streams handles each stream in order, the streams in parallel; a
// retryable failure stops its stream and fails the invocation, so the
// broker's mapping delivers the batch again.
func (h *Handler) streams(ctx context.Context, source string, ss []stream) ([]byte, error) {
	w, cancel := h.bound(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		handled int
		errs    []error
		wg      sync.WaitGroup
		sem     = make(chan struct{}, h.cfg.Concurrency)
	)
	for _, s := range ss {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			for i, m := range s.msgs {
				if w.late() {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: %d messages not started before the invocation's deadline", s.name, len(s.msgs)-i))
					mu.Unlock()
					return
				}
				out, err := h.streamMessage(w.ctx, source, m)
				mu.Lock()
				if out.settled() {
					handled++
				} else {
					errs = append(errs, fmt.Errorf("%s: message %s: %w", s.name, m.id, err))
				}
				mu.Unlock()
				if !out.settled() {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, fmt.Errorf("lambda: %s batch: %d handled, then: %s", source, handled, redact.Text(errors.Join(errs...).Error()))
	}
	return json.Marshal(summary{Handled: handled})
}

// streamMessage decodes one message's payload and handles it. These
// events count no deliveries: the failures of a message are counted here
// (in this execution environment), and after MaxAttempts of them it is
// dead-lettered, so a poison message does not stall its partition or
// queue; the mapping's own retry settings bound the rest.
func (h *Handler) streamMessage(ctx context.Context, source string, m streamMsg) (outcome, error) {
	body, err := base64.StdEncoding.DecodeString(m.data)
	if err != nil {
		topic := m.topic
		if topic == "" {
			topic = core.Topic(source, "unknown")
		}
		return h.deadLetterOr(ctx, topic, m.key, []byte(m.data), "the payload is not base64: "+err.Error(), 1)
	}
	out, err := h.handleBody(ctx, m.topic, m.key, body, h.fails.get(m.id)+1)
	if out.settled() {
		h.fails.forget(m.id)
	} else if ctx.Err() == nil {
		h.fails.add(m.id)
	}
	return out, err
}

// kafka handles an Amazon MSK or self-managed Kafka event: the records of
// each partition in offset order.
func (h *Handler) kafka(ctx context.Context, payload []byte) ([]byte, error) {
	var ev events.KafkaEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("lambda: a Kafka event that does not decode: %w", err)
	}
	var ss []stream
	for tp, recs := range ev.Records {
		s := stream{name: tp}
		sort.SliceStable(recs, func(i, j int) bool { return recs[i].Offset < recs[j].Offset })
		for _, r := range recs {
			m := streamMsg{id: fmt.Sprintf("%s@%d", tp, r.Offset), data: r.Value}
			if r.Key != "" {
				if k, err := base64.StdEncoding.DecodeString(r.Key); err == nil {
					m.key = string(k)
				}
			}
			for _, hs := range r.Headers {
				if v, ok := hs[attrTopic]; ok {
					m.topic = string(v)
				}
			}
			s.msgs = append(s.msgs, m)
		}
		ss = append(ss, s)
	}
	sort.Slice(ss, func(i, j int) bool { return ss[i].name < ss[j].name })
	return h.streams(ctx, "kafka", ss)
}

// rabbitMQ handles an Amazon MQ for RabbitMQ event: each queue's messages
// in order.
func (h *Handler) rabbitMQ(ctx context.Context, payload []byte) ([]byte, error) {
	var ev events.RabbitMQEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("lambda: a RabbitMQ event that does not decode: %w", err)
	}
	var ss []stream
	for q, msgs := range ev.MessagesByQueue {
		s := stream{name: q}
		for _, m := range msgs {
			// Without a message id, the payload's hash names it across
			// deliveries.
			sum := sha256.Sum256([]byte(m.Data))
			sm := streamMsg{id: q + "#" + hex.EncodeToString(sum[:12]), data: m.Data}
			if m.BasicProperties.MessageID != nil {
				sm.id = *m.BasicProperties.MessageID
			}
			sm.topic, _ = m.BasicProperties.Headers[attrTopic].(string)
			sm.key, _ = m.BasicProperties.Headers["weft-key"].(string)
			s.msgs = append(s.msgs, sm)
		}
		ss = append(ss, s)
	}
	sort.Slice(ss, func(i, j int) bool { return ss[i].name < ss[j].name })
	return h.streams(ctx, "rabbitmq", ss)
}

// activeMQ handles an Amazon MQ for ActiveMQ event: its messages in
// order.
func (h *Handler) activeMQ(ctx context.Context, payload []byte) ([]byte, error) {
	var ev events.ActiveMQEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("lambda: an ActiveMQ event that does not decode: %w", err)
	}
	s := stream{name: "activemq"}
	for _, m := range ev.Messages {
		s.msgs = append(s.msgs, streamMsg{id: m.MessageID, data: m.Data, topic: m.Properties[attrTopic], key: m.Properties["weft-key"]})
	}
	return h.streams(ctx, "activemq", []stream{s})
}
