package pulsarfunctions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/weftio/weft/adapters/worker"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/transport/pulsar"
)

// DefaultShutdownGrace bounds how long in-flight messages may run once the
// instance is told to stop: the worker sends SIGTERM and kills the process
// about 10 s later, so what is not finished by then is left unacknowledged
// (and redelivered) rather than cut off mid-settlement.
const DefaultShutdownGrace = 8 * time.Second

// minuteTick is how often the 1-minute metrics start afresh.
const minuteTick = time.Minute

// serverStop bounds how long the servers wait for requests under way when
// the instance stops.
const serverStop = time.Second

// RunConfig configures an instance. Instance, Functions and Transport are
// required; the rest have defaults.
type RunConfig struct {
	// Instance is the parsed instance config (see ParseArgs).
	Instance *InstanceConfig
	// Functions are the roles the binary holds. Each input topic of the
	// config goes to the function that subscribes to the weft topic it
	// carries; every input must find one and every function must get one.
	Functions []functions.Function
	// Transport is weft's Pulsar transport, opened by the caller (see
	// InstanceConfig.TransportConfig) and closed by it after Run returns.
	Transport Transport
	// Logger receives the instance's logs (default: discard); with a log
	// topic in the config its lines go there too.
	Logger *slog.Logger
	// Concurrency is how many messages each function handles at once
	// (default worker.DefaultConcurrency).
	Concurrency int
	// MaxAttempts is how many deliveries a message gets before it is
	// dead-lettered (default: the transport's).
	MaxAttempts int
	// ShutdownGrace bounds in-flight work once ctx ends (default
	// DefaultShutdownGrace).
	ShutdownGrace time.Duration
}

// Instance is one running Pulsar Functions instance. Create it with New and
// run it with Run.
type Instance struct {
	cfg      RunConfig
	conf     *InstanceConfig
	log      *slog.Logger
	workers  []*worker.Worker
	stats    *stats
	metrics  *metrics
	control  *control
	watchdog *watchdog
	logTopic *logTopic // nil without a log topic

	ready                    chan struct{}
	controlAddr, metricsAddr net.Addr

	mu      sync.Mutex
	running bool
	failure string
	started bool
}

// New checks cfg, gives the config's inputs to the functions and prepares
// their workers. It does no I/O.
func New(cfg RunConfig) (*Instance, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	c := cfg.Instance
	i := &Instance{cfg: cfg, conf: c, ready: make(chan struct{})}
	base := cfg.Logger.With("pulsar_function", c.FQFN(), "instance", c.ShardID)
	i.log = base
	if c.LogTopic != "" {
		i.logTopic = newLogTopic(c.LogTopic, c.FQFN(), cfg.Transport.CreateProducer, base)
		i.log = slog.New(i.logTopic.handler(base.Handler(), slog.LevelInfo))
	}
	i.stats = newStats(time.Now)
	i.metrics = newMetrics(i.stats, metricLabels(c))
	i.watchdog = newWatchdog(c.ExpectedHealthCheckInterval, time.Now, time.After)
	i.control = &control{stats: i.stats, metrics: i.metrics, watchdog: i.watchdog, instanceID: strconv.Itoa(c.ShardID), state: i.state}

	assigned, inputs, err := assign(cfg.Functions, c.Inputs, cfg.Transport.TopicName)
	if err != nil {
		return nil, fmt.Errorf("pulsar functions instance %s: %w", c.FQFN(), err)
	}
	tunings := make(map[string]pulsar.Tuning, len(inputs))
	for topic, in := range inputs {
		tunings[topic] = c.tuning(in)
	}
	tr := tuned(cfg.Transport, tunings)
	for _, a := range assigned {
		w, err := worker.New(tr, narrowed{a.fn, a.subs}, worker.Config{
			Group:         c.SubscriptionName,
			Concurrency:   cfg.Concurrency,
			MaxAttempts:   cfg.MaxAttempts,
			ShutdownGrace: cfg.ShutdownGrace,
			Logger:        i.log,
			Observer:      i.stats,
			AckOnReceipt:  c.ProcessingGuarantee == AtMostOnce,
		})
		if err != nil {
			return nil, fmt.Errorf("pulsar functions instance %s: %w", c.FQFN(), err)
		}
		i.workers = append(i.workers, w)
	}
	return i, nil
}

// check validates cfg and fills in its defaults.
func (cfg *RunConfig) check() error {
	switch {
	case cfg.Instance == nil:
		return errors.New("pulsar functions instance: RunConfig.Instance is nil")
	case cfg.Transport == nil:
		return errors.New("pulsar functions instance: RunConfig.Transport is nil")
	case len(cfg.Functions) == 0:
		return errors.New("pulsar functions instance: RunConfig.Functions is empty")
	case cfg.Concurrency < 0:
		return fmt.Errorf("pulsar functions instance: RunConfig.Concurrency is %d, want >= 0", cfg.Concurrency)
	case cfg.MaxAttempts < 0:
		return fmt.Errorf("pulsar functions instance: RunConfig.MaxAttempts is %d, want >= 0", cfg.MaxAttempts)
	case cfg.ShutdownGrace < 0:
		return fmt.Errorf("pulsar functions instance: RunConfig.ShutdownGrace is %v, want >= 0", cfg.ShutdownGrace)
	}
	for n, fn := range cfg.Functions {
		if fn == nil {
			return fmt.Errorf("pulsar functions instance: RunConfig.Functions[%d] is nil", n)
		}
	}
	if g := cfg.Instance.ProcessingGuarantee; g != AtLeastOnce && g != AtMostOnce {
		return fmt.Errorf("pulsar functions instance %s: processingGuarantees %s is not supported: weft processes ATLEAST_ONCE or ATMOST_ONCE", cfg.Instance.FQFN(), g)
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Ready is closed once the servers listen and every function has
// subscribed to its inputs.
func (i *Instance) Ready() <-chan struct{} { return i.ready }

// ControlAddr is where InstanceControl listens (once Ready).
func (i *Instance) ControlAddr() net.Addr { return i.controlAddr }

// MetricsAddr is where the Prometheus metrics are served (once Ready).
func (i *Instance) MetricsAddr() net.Addr { return i.metricsAddr }

func (i *Instance) state() (bool, string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.running, i.failure
}

// listen opens InstanceControl's server and the metrics', or one server
// for both when the functions worker gave them one port: its free-port
// finder can return the same port twice, and the instance would otherwise
// fail to start again and again on it.
func (i *Instance) listen() ([]*server, error) {
	if p := i.conf.Port; p != 0 && p == i.conf.MetricsPort {
		both := http.NewServeMux()
		both.Handle("/", i.control.handler())
		metrics := i.metrics.handler()
		both.Handle("GET /{$}", metrics)
		both.Handle("GET /metrics", metrics)
		s, err := listen("InstanceControl and metrics", p, both)
		if err != nil {
			return nil, err
		}
		return []*server{s}, nil
	}
	ctl, err := listen("InstanceControl", i.conf.Port, i.control.handler())
	if err != nil {
		return nil, err
	}
	met, err := listen("metrics", i.conf.MetricsPort, i.metrics.handler())
	if err != nil {
		_ = ctl.ln.Close()
		return nil, err
	}
	return []*server{ctl, met}, nil
}

// Run serves InstanceControl and the metrics, runs every function until
// ctx ends, then stops cleanly: receiving stops, messages in flight get
// RunConfig.ShutdownGrace to finish (what does not is left unacknowledged
// and redelivered), the servers close. It returns nil after ctx ended, or
// the error that stopped the instance: a server or subscription failing,
// or the health-check watchdog (see InstanceConfig.ExpectedHealthCheckInterval).
// Run may be called once.
func (i *Instance) Run(ctx context.Context) error {
	i.mu.Lock()
	if i.started {
		i.mu.Unlock()
		return errors.New("pulsar functions instance: Run called more than once")
	}
	i.started = true
	i.mu.Unlock()

	srvs, err := i.listen()
	if err != nil {
		return err
	}
	ctl, met := srvs[0], srvs[len(srvs)-1]
	i.controlAddr, i.metricsAddr = ctl.ln.Addr(), met.ln.Addr()
	i.mu.Lock()
	i.running = true
	i.mu.Unlock()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	fail := make(chan error, len(i.workers)+3)
	var bg, servers sync.WaitGroup
	for _, s := range srvs {
		servers.Go(func() {
			if err := s.serve(); err != nil {
				fail <- err
			}
		})
	}
	bg.Go(func() {
		if err := i.watchdog.run(runCtx); err != nil {
			fail <- err
		}
	})
	bg.Go(func() { i.resetEveryMinute(runCtx) })
	logDone := make(chan struct{})
	if i.logTopic != nil {
		go func() { defer close(logDone); i.logTopic.run(runCtx) }()
	} else {
		close(logDone)
	}

	var workers sync.WaitGroup
	for _, w := range i.workers {
		workers.Go(func() {
			if err := w.Run(runCtx); err != nil {
				fail <- err
			}
		})
	}
	go i.markReady(runCtx)
	i.log.Info("pulsar functions instance started", "config", i.conf, "control", i.controlAddr.String(), "metrics", i.metricsAddr.String())

	var runErr error
	select {
	case <-ctx.Done():
		i.log.Info("pulsar functions instance stopping", "grace", i.cfg.ShutdownGrace)
	case runErr = <-fail:
		i.log.Error("pulsar functions instance stopping", "err", runErr)
	}
	stop()
	workers.Wait()
	bg.Wait()
	i.mu.Lock()
	i.running = false
	if runErr != nil {
		i.failure = runErr.Error()
	}
	i.mu.Unlock()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), serverStop)
	defer cancel()
	for _, s := range srvs {
		s.shutdown(sctx)
	}
	servers.Wait()
	select {
	case <-logDone:
	case <-time.After(2 * logFlush):
		// Still creating its producer: closing the transport ends that.
	}
	i.log.Info("pulsar functions instance stopped")
	return runErr
}

// markReady closes ready once every worker has subscribed.
func (i *Instance) markReady(ctx context.Context) {
	for _, w := range i.workers {
		select {
		case <-w.Ready():
		case <-ctx.Done():
			return
		}
	}
	close(i.ready)
}

func (i *Instance) resetEveryMinute(ctx context.Context) {
	t := time.NewTicker(minuteTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			i.metrics.resetMinute()
		}
	}
}

// Run is New then Instance.Run.
func Run(ctx context.Context, cfg RunConfig) error {
	i, err := New(cfg)
	if err != nil {
		return err
	}
	return i.Run(ctx)
}
