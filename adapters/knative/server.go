package knative

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/internal/redact"
	"github.com/weftio/weft/internal/triggers"
	"github.com/weftio/weft/transport"
	ktransport "github.com/weftio/weft/transport/knative"
)

// Defaults for zero Config fields.
const (
	DefaultAddr          = ":8080"
	DefaultMaxInFlight   = 64
	DefaultShutdownGrace = 25 * time.Second
	// DefaultMaxEventSize bounds a request's body.
	DefaultMaxEventSize = core.MaxEnvelopeSize
)

// Config configures a Server.
type Config struct {
	// Functions are the roles served; their subscriptions' topics route
	// the events.
	Functions []functions.Function
	// Transport publishes the outputs and dead-letter entries. When it is
	// the Knative transport, events for topics no function consumes are
	// handed to its subscriptions (a client's answers, say).
	Transport transport.Transport
	// Addr is the address to listen on (default ":"+$PORT, else :8080).
	Addr string
	// Listener, when set, is used instead of listening on Addr.
	Listener net.Listener
	// MaxInFlight is how many events are handled at once; more are
	// answered 429 (default DefaultMaxInFlight).
	MaxInFlight int
	// MaxEventSize bounds a request's body (default DefaultMaxEventSize).
	MaxEventSize int
	// ShutdownGrace bounds the drain of in-flight requests once Run's
	// context ends (default DefaultShutdownGrace).
	ShutdownGrace time.Duration
	// Check, when set, tells readiness: the storage and the transport
	// answer.
	Check func(ctx context.Context) error
	// Triggers, when set, maps events that are no weft envelope (a user's
	// own types) to commands, which are published.
	Triggers *triggers.Mapper
	// Logger receives the server's logs (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Server serves the functions over HTTP.
type Server struct {
	cfg     Config
	log     *slog.Logger
	byTopic map[string]functions.Function
	keyed   map[string]bool // topics whose messages of one key are handled one at a time here
	lanes   lanes
	push    *ktransport.Transport // the transport, when it is Knative's
	txOut   *functions.TxOutlet
	slots   chan struct{}

	ready    chan struct{}
	once     sync.Once
	draining atomic.Bool
}

// New checks cfg and builds the server.
func New(cfg Config) (*Server, error) {
	if cfg.Transport == nil {
		return nil, errors.New("knative: Config.Transport is required")
	}
	if len(cfg.Functions) == 0 {
		return nil, errors.New("knative: no functions to serve")
	}
	if cfg.MaxInFlight < 0 || cfg.MaxEventSize < 0 || cfg.ShutdownGrace < 0 {
		return nil, fmt.Errorf("knative: MaxInFlight %d, MaxEventSize %d, ShutdownGrace %v: want >= 0", cfg.MaxInFlight, cfg.MaxEventSize, cfg.ShutdownGrace)
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.MaxEventSize == 0 {
		cfg.MaxEventSize = DefaultMaxEventSize
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Logger, byTopic: map[string]functions.Function{}, keyed: map[string]bool{}, lanes: lanes{held: map[string]*lane{}},
		slots: make(chan struct{}, cfg.MaxInFlight), ready: make(chan struct{})}
	for _, fn := range cfg.Functions {
		for _, sub := range fn.Subscriptions() {
			if other, dup := s.byTopic[sub.Topic]; dup && other != fn {
				return nil, fmt.Errorf("knative: topic %s is consumed by both %s and %s", sub.Topic, other.Name(), fn.Name())
			}
			s.byTopic[sub.Topic] = fn
			s.keyed[sub.Topic] = sub.Keyed
		}
	}
	s.push, _ = cfg.Transport.(*ktransport.Transport)
	if tp, ok := cfg.Transport.(transport.TxPublisher); ok {
		s.txOut = &functions.TxOutlet{Domain: tp.TxDomain(), Publish: tp.PublishTx}
	}
	return s, nil
}

// Ready is closed once the server listens.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Handler serves the events at / and the probes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health/live", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/health/ready", s.readiness)
	mux.HandleFunc("/", s.serveEvent)
	return mux
}

// readiness answers 200 once listening, while not draining, when the
// storage and the transport answer.
func (s *Server) readiness(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.ready:
	default:
		http.Error(w, "not listening yet", http.StatusServiceUnavailable)
		return
	}
	if s.draining.Load() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	if s.cfg.Check != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.cfg.Check(ctx); err != nil {
			http.Error(w, "not ready: "+redact.Text(err.Error()), http.StatusServiceUnavailable)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// Run serves until ctx ends, then drains the requests in flight within
// the shutdown grace.
func (s *Server) Run(ctx context.Context) error {
	ln := s.cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Addr); err != nil {
			return fmt.Errorf("knative: listen on %s: %w", s.cfg.Addr, err)
		}
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.once.Do(func() { close(s.ready) })
	select {
	case err := <-served:
		return fmt.Errorf("knative: serve: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.Info("shutting down: draining requests in flight", "grace", s.cfg.ShutdownGrace)
	dctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(dctx); err != nil {
		s.log.Warn("requests still in flight at the end of the shutdown grace; they are cut off and will be delivered again", "err", err)
		_ = srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// serveEvent handles one posted CloudEvent.
func (s *Server) serveEvent(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST CloudEvents here", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, int64(s.cfg.MaxEventSize)+64<<10)
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.log.Warn("refused an event over the size limit", "limit", s.cfg.MaxEventSize)
			http.Error(w, fmt.Sprintf("event over the %d byte limit", s.cfg.MaxEventSize), http.StatusRequestEntityTooLarge)
			return
		}
		s.log.Warn("refused a request that is no CloudEvent", "err", err)
		http.Error(w, "not a CloudEvent: "+err.Error(), http.StatusBadRequest)
		return
	}
	status, retryAfter, reason := s.handle(r.Context(), e)
	if status/100 != 2 {
		s.log.Warn("event not handled", "id", e.ID(), "type", e.Type(), "source", e.Source(), "status", status, "reason", reason)
	}
	ktransport.Answer(w, status, retryAfter, reason)
}

// handle routes one event to its function and says how to answer.
func (s *Server) handle(ctx context.Context, e *event.Event) (status int, retryAfter time.Duration, reason string) {
	env, err := ktransport.FromEvent(*e)
	if errors.Is(err, ktransport.ErrNotWeft) {
		return s.trigger(ctx, e)
	}
	if err != nil {
		topic, _ := e.Extensions()[ktransport.ExtTopic].(string)
		key, _ := e.Extensions()[ktransport.ExtPartitionKey].(string)
		body, _ := e.MarshalJSON()
		if derr := s.deadLetter(ctx, topic, key, body, err.Error()); derr != nil {
			return http.StatusServiceUnavailable, time.Second, "dead-lettering failed: " + derr.Error()
		}
		return http.StatusBadRequest, 0, err.Error()
	}
	fn, ok := s.byTopic[env.Topic]
	if !ok {
		if s.push != nil && e.Type() != ktransport.RawType {
			if body, err := core.EncodeEnvelope(env); err == nil {
				o := s.push.Deliver(ctx, env.Topic, env.ID, body, env.PartitionKey)
				if o.Status() != http.StatusNotFound {
					return o.Status(), o.RetryAfter(), o.Reason()
				}
			}
		}
		return http.StatusNotFound, 0, fmt.Sprintf("no function here consumes %s", env.Topic)
	}
	if due := env.DeliverAtTime(); due.After(s.cfg.Now().Add(time.Second)) {
		// Early (a Broker does not delay): kept until due by the transport.
		if err := s.cfg.Transport.Publish(ctx, env); err != nil {
			return http.StatusServiceUnavailable, time.Second, "keeping the early envelope failed: " + err.Error()
		}
		return http.StatusAccepted, 0, ""
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		return http.StatusTooManyRequests, time.Second, fmt.Sprintf("%d events in flight", s.cfg.MaxInFlight)
	}
	if s.keyed[env.Topic] && env.PartitionKey != "" {
		// One message of an instance at a time in this replica: its
		// versioned writes then race only with other replicas', not with
		// the many requests a fan-in brings here at once.
		release, ok := s.lanes.acquire(ctx, fn.Name()+"\x00"+env.PartitionKey)
		if !ok {
			return http.StatusServiceUnavailable, time.Second, "the request ended waiting for its instance's lane"
		}
		defer release()
	}
	err = s.process(ctx, fn, env)
	switch {
	case err == nil:
		return http.StatusOK, 0, ""
	case functions.IsPermanent(err):
		body, _ := core.EncodeEnvelope(env)
		if derr := s.deadLetter(ctx, env.Topic, env.PartitionKey, body, err.Error()); derr != nil {
			return http.StatusServiceUnavailable, time.Second, "dead-lettering failed: " + derr.Error()
		}
		return http.StatusUnprocessableEntity, 0, redact.Text(err.Error())
	case isNotYet(err):
		after, _ := functions.IsNotYet(err)
		return http.StatusServiceUnavailable, after, redact.Text(err.Error())
	case functions.IsUnavailable(err):
		return http.StatusServiceUnavailable, 2 * time.Second, redact.Text(err.Error())
	case ctx.Err() != nil:
		return http.StatusServiceUnavailable, time.Second, "interrupted: " + redact.Text(err.Error())
	default:
		return http.StatusServiceUnavailable, time.Second, redact.Text(err.Error())
	}
}

// process runs the function contract, a panic turned into a retryable
// error.
func (s *Server) process(ctx context.Context, fn functions.Function, env core.Envelope) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panicked", "role", fn.Name(), "topic", env.Topic, "id", env.ID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("%s: handler panicked: %v", fn.Name(), r)
		}
	}()
	return functions.ProcessEnvelopeTx(ctx, fn, env, s.cfg.Transport.Publish, s.txOut)
}

// deadLetter writes the dead-letter entry of a message received for topic
// (nothing when the topic is unknown: the answer and the Broker's
// dead-letter sink keep it).
func (s *Server) deadLetter(ctx context.Context, topic, key string, body []byte, reason string) error {
	if topic == "" {
		return nil
	}
	dlq, entry := transport.DeadLetter(topic, key, body, reason, 1, s.cfg.Now())
	env, err := core.DecodeEnvelope(entry)
	if err != nil {
		return err
	}
	if err := s.cfg.Transport.Publish(ctx, env); err != nil {
		return fmt.Errorf("dead-letter to %s: %w", dlq, err)
	}
	s.log.Warn("dead-lettered", "topic", topic, "dlq", dlq, "reason", reason)
	return nil
}

func isNotYet(err error) bool {
	_, ok := functions.IsNotYet(err)
	return ok
}

// trigger maps a user's event to its command and publishes it: 200 once
// published; 422 with the reason, and a dead-letter entry, when no trigger
// maps the type or the event does not fit the mapping.
func (s *Server) trigger(ctx context.Context, e *event.Event) (status int, retryAfter time.Duration, reason string) {
	if s.cfg.Triggers == nil {
		reason := fmt.Sprintf("CloudEvent %s of type %q is no weft envelope and no trigger is configured (WEFT_TRIGGERS)", e.ID(), e.Type())
		return s.refuseEvent(ctx, e, reason)
	}
	envs, err := s.cfg.Triggers.Map(*e, s.cfg.Now())
	if err != nil {
		return s.refuseEvent(ctx, e, err.Error())
	}
	if err := s.cfg.Transport.Publish(ctx, envs...); err != nil {
		return http.StatusServiceUnavailable, time.Second, "publishing the command failed: " + redact.Text(err.Error())
	}
	return http.StatusOK, 0, ""
}

// refuseEvent dead-letters a user's event that cannot be mapped and
// answers 422 with the reason.
func (s *Server) refuseEvent(ctx context.Context, e *event.Event, reason string) (int, time.Duration, string) {
	body, err := e.MarshalJSON()
	if err != nil {
		body = e.Data()
	}
	_, entry := transport.DeadLetter(triggers.Topic(e.Type()), e.Subject(), body, reason, 1, s.cfg.Now())
	env, err := core.DecodeEnvelope(entry)
	if err == nil {
		err = s.cfg.Transport.Publish(ctx, env)
	}
	if err != nil {
		return http.StatusServiceUnavailable, time.Second, "dead-lettering the event failed: " + redact.Text(err.Error())
	}
	s.log.Warn("refused a CloudEvent", "id", e.ID(), "type", e.Type(), "source", e.Source(), "reason", reason)
	return http.StatusUnprocessableEntity, 0, reason
}

// lanes serializes the handling of one key's messages in this process.
type lanes struct {
	mu   sync.Mutex
	held map[string]*lane
}

type lane struct {
	token chan struct{} // holds one token while free
	users int
}

// acquire waits for key's lane (or ctx) and returns its release.
func (l *lanes) acquire(ctx context.Context, key string) (release func(), ok bool) {
	l.mu.Lock()
	ln := l.held[key]
	if ln == nil {
		ln = &lane{token: make(chan struct{}, 1)}
		ln.token <- struct{}{}
		l.held[key] = ln
	}
	ln.users++
	l.mu.Unlock()
	leave := func() {
		l.mu.Lock()
		if ln.users--; ln.users == 0 {
			delete(l.held, key)
		}
		l.mu.Unlock()
	}
	select {
	case <-ln.token:
		return func() { ln.token <- struct{}{}; leave() }, true
	case <-ctx.Done():
		leave()
		return nil, false
	}
}
