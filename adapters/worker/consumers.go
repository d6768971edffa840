package worker

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

// Unconsumed topics are checked again at most every recheckUnconsumed, and
// a check waits at most checkTimeout for the transport's answer.
const (
	recheckUnconsumed = time.Minute
	checkTimeout      = 10 * time.Second
)

// roleOf names what consumes the topics of each prefix a role publishes
// to; topics of other prefixes (clients' responses, events) may rightly
// have nobody listening and are not watched.
var roleOf = map[string]string{
	core.PrefixTaskExecutor:         "executor serving the service",
	core.PrefixTaskRetry:            "executor serving the service",
	core.PrefixWorkflowTaskExecutor: "executor serving the workflow",
	core.PrefixWorkflowTaskRetry:    "executor serving the workflow",
	core.PrefixWorkflowCmd:          "state engine serving the workflow",
	core.PrefixWorkflowEngine:       "state engine serving the workflow",
	core.PrefixWorkflowDelay:        "state engine serving the workflow",
	core.PrefixWorkflowTag:          "tag engine serving the workflow",
	core.PrefixTaskTag:              "tag engine serving the service",
}

// consumerWatch notices what the worker publishes to a topic that nothing
// has subscribed to (a task of a service no executor serves, a child of a
// workflow no state engine serves): such messages wait on their topic
// until a consumer comes, so it logs a warning naming the topic and what
// would consume it, and keeps the topic in Unconsumed. Checks run in the
// background, one per topic at a time, so publishing never waits on them.
type consumerWatch struct {
	sc  transport.SubscriptionChecker
	log func(topic, role string)

	ctx    context.Context // ended by stop
	cancel context.CancelFunc

	mu      sync.Mutex
	topics  map[string]*watched
	stopped bool
	checks  sync.WaitGroup
}

type watched struct {
	consumed, checking bool
	absent             bool      // the last answer: no subscription
	next               time.Time // when an unconsumed topic is asked again
}

func newConsumerWatch(tr transport.Transport, log func(topic, role string)) *consumerWatch {
	sc, ok := tr.(transport.SubscriptionChecker)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &consumerWatch{sc: sc, log: log, ctx: ctx, cancel: cancel, topics: map[string]*watched{}}
}

// saw starts a check of each watched topic of envs not known to be
// consumed and not checked lately.
func (c *consumerWatch) saw(envs []core.Envelope) {
	if c == nil {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	for _, env := range envs {
		prefix, _, _ := strings.Cut(env.Topic, ":")
		role, ok := roleOf[prefix]
		if !ok {
			continue
		}
		w := c.topics[env.Topic]
		if w == nil {
			w = &watched{}
			c.topics[env.Topic] = w
		}
		if w.consumed || w.checking || now.Before(w.next) {
			continue
		}
		w.checking = true
		c.checks.Go(func() { c.check(env.Topic, role, w) })
	}
}

func (c *consumerWatch) check(topic, role string, w *watched) {
	ctx, cancel := context.WithTimeout(c.ctx, checkTimeout)
	defer cancel()
	has, err := c.sc.HasSubscription(ctx, topic)
	c.mu.Lock()
	w.checking = false
	w.next = time.Now().Add(recheckUnconsumed)
	switch {
	case err != nil:
		// Cannot tell now (the transport away, or it needs what it was
		// not given): ask again later, say nothing.
	default:
		w.consumed, w.absent = has, !has
	}
	c.mu.Unlock()
	if err == nil && !has {
		c.log(topic, role)
	}
}

// unconsumed lists the topics found without a subscription at their last
// check, sorted.
func (c *consumerWatch) unconsumed() []string {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for topic, w := range c.topics {
		if w.absent {
			out = append(out, topic)
		}
	}
	slices.Sort(out)
	return out
}

// stop ends the checks under way and starts no more.
func (c *consumerWatch) stop() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	c.cancel()
	c.checks.Wait()
}
