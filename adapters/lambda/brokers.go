package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/weftio/weft/core"
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
		return nil, fmt.Errorf("lambda: %s batch: %d handled, then: %w", source, handled, errors.Join(errs...))
	}
	return json.Marshal(summary{Handled: handled})
}

// streamMessage decodes one message's payload and handles it. These
// mappings count no receives, so a failure is never taken for the last
// attempt: their own retry settings bound the retries.
func (h *Handler) streamMessage(ctx context.Context, source string, m streamMsg) (outcome, error) {
	body, err := base64.StdEncoding.DecodeString(m.data)
	if err != nil {
		topic := m.topic
		if topic == "" {
			topic = core.Topic(source, "unknown")
		}
		return h.deadLetterOr(ctx, topic, m.key, []byte(m.data), "the payload is not base64: "+err.Error(), 1)
	}
	return h.handleBody(ctx, m.topic, m.key, body, 1)
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
		for i, m := range msgs {
			sm := streamMsg{id: fmt.Sprintf("%s#%d", q, i), data: m.Data}
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
