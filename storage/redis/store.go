package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"

	"github.com/weftio/weft/storage"
)

var (
	_ storage.KeyValue = (*Store)(nil)
	_ storage.KeySet   = (*Store)(nil)
)

// Store is a Redis storage.KeyValue and storage.KeySet. It is safe for
// concurrent use; create it with New.
type Store struct {
	client    *goredis.Client
	addr      string // host:port, for error messages
	kvPrefix  string // <keyPrefix>kv:
	setPrefix string // <keyPrefix>set:
	closed    atomic.Bool
	// lastDialErr is the latest failed dial, to explain a start-up timeout.
	lastDialErr atomic.Pointer[error]
}

// New validates cfg, connects, and checks within cfg.DialTimeout that the
// server answers and accepts the credentials. The errors say which:
// "cannot reach host:port", "authentication failed for user X at
// host:port", "database N does not exist at host:port". ctx bounds only
// this start-up; each later call takes its own.
func New(ctx context.Context, cfg Config) (*Store, error) {
	r, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	tc, err := r.tlsConfig()
	if err != nil {
		return nil, err
	}
	s := &Store{
		addr:      r.addr(),
		kvPrefix:  r.KeyPrefix + "kv:",
		setPrefix: r.KeyPrefix + "set:",
	}
	opts := &goredis.Options{
		Addr:         r.addr(),
		Username:     r.Username,
		Password:     r.Password,
		DB:           r.Database,
		DialTimeout:  r.DialTimeout,
		ReadTimeout:  r.ReadTimeout,
		WriteTimeout: r.WriteTimeout,
		PoolSize:     r.PoolSize,
		MinIdleConns: r.MinIdleConns,
		TLSConfig:    tc,
		// A caller's deadline shortens the socket timeouts, so ctx is
		// honoured while waiting for a reply, not only before sending.
		ContextTimeoutEnabled: true,
	}
	dial := goredis.NewDialer(opts)
	opts.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			// go-redis retries dials until the start-up deadline and then
			// reports only the deadline; keep the reason for connectError.
			s.lastDialErr.Store(&err)
		}
		return c, err
	}
	s.client = goredis.NewClient(opts)
	if err := s.connect(ctx, r); err != nil {
		_ = s.client.Close()
		return nil, err
	}
	return s, nil
}

// connect pings the server and checks the password, all within DialTimeout.
func (s *Store) connect(ctx context.Context, r Config) error {
	ctx, cancel := context.WithTimeout(ctx, r.DialTimeout)
	defer cancel()
	if err := s.client.Ping(ctx).Err(); err != nil {
		return connectError(ctx, r, err, s.lastDialErr.Load())
	}
	// go-redis authenticates with HELLO ... AUTH default <password>, which a
	// server without a password accepts whatever the password is. A password
	// the server does not expect means this is not the server the operator
	// had in mind (or it lost its configuration): fail loudly, as the plain
	// AUTH of other clients does. This costs one round trip, at start-up.
	if r.Password != "" && r.Username == "" {
		if err := s.client.Do(ctx, "AUTH", r.Password).Err(); err != nil {
			return connectError(ctx, r, err, nil)
		}
	}
	return nil
}

// Close closes the connection pool. Later calls return storage.ErrClosed; a
// second Close returns nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("redis: close %s: %w", s.addr, err)
	}
	return nil
}

// begin is the entry check of every operation: a dead context wins over a
// closed store so callers see why their own call stopped, and neither sends
// anything to the server.
func (s *Store) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return storage.ErrClosed
	}
	return nil
}

// fail wraps an error of operation op on key.
func (s *Store) fail(ctx context.Context, op, key string, err error) error {
	if errors.Is(err, goredis.ErrClosed) || s.closed.Load() {
		// Close raced with the call.
		return fmt.Errorf("redis: %s %q: %w", op, key, storage.ErrClosed)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		// go-redis reports a cut-short call as an i/o timeout; callers need
		// errors.Is(err, context.Canceled) to hold.
		return fmt.Errorf("redis: %s %q on %s: %w (%v)", op, key, s.addr, cerr, err)
	}
	return fmt.Errorf("redis: %s %q on %s: %w", op, key, s.addr, err)
}
