package chaos

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

// deadLetters is what the dead-letter topics received.
type deadLetters struct {
	count    int
	examples []string
}

// dlqWatch consumes the dead-letter topic of every topic the chain
// workflow's messages travel on, counting entries and keeping a few
// reasons.
type dlqWatch struct {
	mu     sync.Mutex
	got    deadLetters
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// watchDeadLetters subscribes before anything is dispatched, so no entry
// goes by unseen.
func watchDeadLetters(ctx context.Context, tr transport.Transport, workflow, service, client string) (*dlqWatch, error) {
	var topics []string
	for _, p := range []string{core.PrefixWorkflowCmd, core.PrefixWorkflowEngine, core.PrefixWorkflowDelay,
		core.PrefixWorkflowTaskExecutor, core.PrefixWorkflowTaskRetry, core.PrefixWorkflowTag, core.PrefixWorkflowEvents} {
		topics = append(topics, core.DeadLetterTopic(core.Topic(p, workflow)))
	}
	for _, p := range []string{core.PrefixTaskExecutor, core.PrefixTaskRetry, core.PrefixTaskTag, core.PrefixTaskEvents} {
		topics = append(topics, core.DeadLetterTopic(core.Topic(p, service)))
	}
	topics = append(topics, core.DeadLetterTopic(core.Topic(core.PrefixResponse, client)))
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w := &dlqWatch{cancel: cancel}
	for _, topic := range topics {
		sub, err := tr.Subscribe(ctx, topic, transport.SubscribeOptions{Group: "chaos-dlq"})
		if err != nil {
			cancel()
			w.wg.Wait()
			return nil, fmt.Errorf("subscribe to %s: %w", topic, err)
		}
		w.wg.Add(1)
		go w.consume(wctx, tr, topic, sub)
	}
	return w, nil
}

func (w *dlqWatch) consume(ctx context.Context, tr transport.Transport, topic string, sub transport.Subscription) {
	defer w.wg.Done()
	defer func() { _ = sub.Close() }()
	for {
		d, err := sub.Receive(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, transport.ErrClosed):
			// Closed under us (an outage): subscribe again.
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				if s, err := tr.Subscribe(ctx, topic, transport.SubscribeOptions{Group: "chaos-dlq"}); err == nil {
					sub = s
					break
				}
			}
			continue
		case err != nil:
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		reason := "(undecodable entry)"
		if env, err := core.DecodeEnvelope(d.Body()); err == nil {
			reason = fmt.Sprintf("%s %s %s after %d attempts: %s", topic, env.Type, env.Subject, env.DeadLetterAttempts, env.DeadLetterReason)
		}
		w.mu.Lock()
		w.got.count++
		if len(w.got.examples) < 5 {
			w.got.examples = append(w.got.examples, reason)
		}
		w.mu.Unlock()
		_ = d.Ack(ctx)
	}
}

// stop ends the consumers and returns what they saw.
func (w *dlqWatch) stop() deadLetters {
	w.cancel()
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.got
}
