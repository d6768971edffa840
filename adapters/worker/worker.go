package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/transport"
)

// Worker runs one function over a transport. Create it with New and start it
// with Run.
type Worker struct {
	tr      transport.Transport
	fn      functions.Function
	subs    []functions.Subscription
	cfg     Config
	log     *slog.Logger
	publish functions.Publisher
	// txOut is set when the transport can write messages inside a storage
	// transaction (transport.TxPublisher).
	txOut *functions.TxOutlet
	// watch notices outputs to topics nothing consumes (nil when the
	// transport cannot tell).
	watch *consumerWatch

	started atomic.Bool
	ready   chan struct{}
}

// New checks cfg and fn and returns a Worker that is not running yet.
func New(tr transport.Transport, fn functions.Function, cfg Config) (*Worker, error) {
	if tr == nil {
		return nil, errors.New("worker: transport is nil")
	}
	if fn == nil {
		return nil, errors.New("worker: function is nil")
	}
	cfg, err := cfg.withDefaults(fn)
	if err != nil {
		return nil, err
	}
	subs := append([]functions.Subscription(nil), fn.Subscriptions()...)
	if err := checkSubscriptions(fn, subs); err != nil {
		return nil, err
	}
	w := &Worker{
		tr:    tr,
		fn:    fn,
		subs:  subs,
		cfg:   cfg,
		log:   cfg.Logger.With("function", fn.Name(), "group", cfg.Group),
		ready: make(chan struct{}),
	}
	w.watch = newConsumerWatch(tr, func(topic, consumer string) {
		w.log.Warn("published to a topic nothing has subscribed to: its messages wait there until one subscribes", "topic", topic, "wanted", consumer)
	})
	w.publish = func(ctx context.Context, envs ...core.Envelope) error {
		err := tr.Publish(ctx, envs...)
		if err == nil {
			w.watch.saw(envs)
		}
		return err
	}
	if tp, ok := tr.(transport.TxPublisher); ok {
		w.txOut = &functions.TxOutlet{Domain: tp.TxDomain(), Publish: func(ctx context.Context, tx any, envs ...core.Envelope) error {
			err := tp.PublishTx(ctx, tx, envs...)
			if err == nil {
				// Seen before the commit: a rolled back output's topic is
				// checked too, which only costs a lookup.
				w.watch.saw(envs)
			}
			return err
		}}
	}
	return w, nil
}

// Unconsumed lists, sorted, the topics the worker published to that had no
// subscription when last checked (see transport.SubscriptionChecker): their
// messages wait until a consumer subscribes. Each is logged as a warning
// when found; an unconsumed topic is checked again at most every minute.
func (w *Worker) Unconsumed() []string { return w.watch.unconsumed() }

// Ready is closed once Run has subscribed to every topic, i.e. once messages
// published from then on are sure to reach the worker. It stays open if Run
// fails to subscribe.
func (w *Worker) Ready() <-chan struct{} { return w.ready }

// Run subscribes and processes deliveries until ctx ends, then shuts down
// gracefully (see the package doc) and returns nil. It returns an error if
// subscribing fails or a subscription closes under it (for example because
// the transport was closed). Run may be called once.
func (w *Worker) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("worker: Run called more than once")
	}
	subs, err := w.subscribe(ctx)
	if err != nil {
		return err
	}
	defer w.closeAll(subs)
	close(w.ready)
	w.log.Info("worker started", "topics", len(subs), "concurrency", w.cfg.Concurrency)

	// Handlers run on workCtx, which outlives ctx by up to ShutdownGrace so
	// in-flight work can finish; settling uses a context never cancelled, so
	// a delivery finished in time is also acknowledged.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	settleCtx := context.WithoutCancel(ctx)
	recvCtx, stopReceiving := context.WithCancel(ctx)
	defer stopReceiving()

	ls := newLanes(w.cfg.Concurrency)
	var lanesDone sync.WaitGroup
	for i := range ls.own {
		lanesDone.Go(func() { w.runLane(workCtx, settleCtx, ls.own[i], ls.shared) })
	}

	fatal := make(chan error, len(subs))
	var receiversDone sync.WaitGroup
	for i, sub := range subs {
		topic := w.subs[i].Topic
		receiversDone.Go(func() {
			if err := w.receive(recvCtx, workCtx, topic, sub, ls); err != nil {
				fatal <- err
			}
		})
	}

	var runErr error
	select {
	case <-ctx.Done():
		w.log.Info("worker stopping", "grace", w.cfg.ShutdownGrace)
	case runErr = <-fatal:
		w.log.Error("worker stopping", "err", runErr)
	}
	grace := time.AfterFunc(w.cfg.ShutdownGrace, func() {
		w.log.Warn("shutdown grace expired; cancelling in-flight handlers", "grace", w.cfg.ShutdownGrace)
		stopWork()
	})
	defer grace.Stop()
	stopReceiving()
	receiversDone.Wait()
	ls.close()
	lanesDone.Wait()
	w.watch.stop()
	w.log.Info("worker stopped")
	return runErr
}

// subscribe joins every topic of the function, or none.
func (w *Worker) subscribe(ctx context.Context) ([]transport.Subscription, error) {
	if !w.tr.Capabilities().KeyedOrder {
		for _, s := range w.subs {
			if s.Keyed {
				w.log.Warn("transport does not order keys; only this worker's lanes serialise them", "topic", s.Topic)
			}
		}
	}
	subs := make([]transport.Subscription, 0, len(w.subs))
	for _, s := range w.subs {
		sub, err := w.tr.Subscribe(ctx, s.Topic, transport.SubscribeOptions{
			Group:       w.cfg.Group,
			Keyed:       s.Keyed,
			MaxAttempts: w.cfg.MaxAttempts,
		})
		if err != nil {
			w.closeAll(subs)
			return nil, fmt.Errorf("worker %s: subscribe to %q: %w", w.fn.Name(), s.Topic, err)
		}
		subs = append(subs, sub)
	}
	return subs, nil
}

func (w *Worker) closeAll(subs []transport.Subscription) {
	for _, sub := range subs {
		if err := sub.Close(); err != nil && !errors.Is(err, transport.ErrClosed) {
			w.log.Warn("closing subscription", "err", err)
		}
	}
}

// Receive errors other than ErrClosed are retried after a pause that grows
// up to maxReceivePause, so a broker outage does not spin.
const (
	minReceivePause = 50 * time.Millisecond
	maxReceivePause = 5 * time.Second
)

// receive feeds one subscription's deliveries to the lanes until recvCtx
// ends. A delivery already received is still dispatched during the grace
// period (until workCtx ends); one that cannot be is left unsettled and
// comes back when the subscription closes.
func (w *Worker) receive(recvCtx, workCtx context.Context, topic string, sub transport.Subscription, ls *lanes) error {
	pause := minReceivePause
	for {
		d, err := sub.Receive(recvCtx)
		if err != nil {
			switch {
			case recvCtx.Err() != nil:
				return nil
			case errors.Is(err, transport.ErrClosed):
				return fmt.Errorf("worker %s: subscription to %q: %w", w.fn.Name(), topic, err)
			}
			w.log.Warn("receive failed; retrying", "topic", topic, "err", err, "pause", pause)
			select {
			case <-recvCtx.Done():
				return nil
			case <-time.After(pause):
			}
			pause = min(2*pause, maxReceivePause)
			continue
		}
		pause = minReceivePause
		if !ls.dispatch(workCtx, d) {
			return nil
		}
	}
}
