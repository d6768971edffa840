package postgres_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/weftio/weft/storage/postgres"
)

// hangGuard bounds a call that must not hang. It is a deadlock detector, not
// a speed check: the limit is far above any sane connect timeout.
const hangGuard = 60 * time.Second

// newWithin runs New and fails the test if it does not return within
// hangGuard.
func newWithin(t *testing.T, cfg postgres.Config) (*postgres.Store, error) {
	t.Helper()
	type result struct {
		s   *postgres.Store
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := postgres.New(context.Background(), cfg)
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		if r.s != nil {
			t.Cleanup(func() { r.s.Close() })
		}
		return r.s, r.err
	case <-time.After(hangGuard):
		t.Fatalf("New did not return within %v", hangGuard)
		return nil, nil
	}
}

// listen opens a loopback listener closed at the end of the test.
func listen(t *testing.T) (net.Listener, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, ln.Addr().(*net.TCPAddr).Port
}

func TestNewUnreachable(t *testing.T) {
	t.Parallel()
	// A port that was just free: nothing listens there, so connecting is
	// refused at once.
	ln, port := listen(t)
	ln.Close()
	cfg := postgres.Config{Server: postgres.Server{Host: "127.0.0.1", Port: port, User: "weft", Password: "weft"},
		Session: postgres.Session{ConnectTimeout: time.Second, SSLMode: "disable"}}
	s, err := newWithin(t, cfg)
	if err == nil {
		t.Fatalf("New against a closed port succeeded: %v", s)
	}
	if want := "127.0.0.1:" + strconv.Itoa(port); !strings.Contains(err.Error(), want) {
		t.Fatalf("error does not name %s: %v", want, err)
	}
}

func TestNewConnectTimeout(t *testing.T) {
	t.Parallel()
	// A server that accepts and then says nothing: only the connect
	// timeout can end the attempt.
	ln, port := listen(t)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	cfg := postgres.Config{Server: postgres.Server{Host: "127.0.0.1", Port: port, User: "weft"}, Session: postgres.Session{ConnectTimeout: 200 * time.Millisecond}}
	_, err := newWithin(t, cfg)
	if err == nil {
		t.Fatal("New against a silent server succeeded")
	}
	if want := "127.0.0.1:" + strconv.Itoa(port); !strings.Contains(err.Error(), want) {
		t.Fatalf("error does not name %s: %v", want, err)
	}
	if !strings.Contains(err.Error(), "within 200ms") {
		t.Fatalf("error does not say the connect timed out: %v", err)
	}
}

// fakeServer answers every startup with the given error, as PostgreSQL does
// for rejected credentials, without needing a real server.
func fakeServer(t *testing.T, code, msg string) int {
	t.Helper()
	ln, port := listen(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				be := pgproto3.NewBackend(c, c)
				for {
					m, err := be.ReceiveStartupMessage()
					if err != nil {
						return
					}
					if _, ok := m.(*pgproto3.SSLRequest); ok {
						c.Write([]byte{'N'}) // no TLS here; go on in plaintext
						continue
					}
					be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: code, Message: msg})
					be.Flush()
					return
				}
			}()
		}
	}()
	return port
}

func TestNewAuthErrorsFromServerCodes(t *testing.T) {
	t.Parallel()
	tests := []struct{ code, msg, want string }{
		{"28P01", `password authentication failed for user "bob"`, `password authentication failed for user "bob"`},
		{"28000", `no pg_hba.conf entry for host "127.0.0.1", user "bob"`, `authentication failed for user "bob": no pg_hba.conf entry`},
		{"3D000", `database "nope" does not exist`, `database "nope" does not exist`},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			t.Parallel()
			port := fakeServer(t, tc.code, tc.msg)
			_, err := newWithin(t, postgres.Config{
				Server: postgres.Server{Host: "127.0.0.1", Port: port, User: "bob", Password: "wrong", Database: "nope"}})
			if err == nil {
				t.Fatal("New succeeded against a server that rejects everyone")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Fatalf("error shows the password: %v", err)
			}
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != tc.code {
				t.Fatalf("error does not wrap the server's %s: %v", tc.code, err)
			}
		})
	}
}

func TestNewRejectsInvalidConfigWithoutConnecting(t *testing.T) {
	t.Parallel()
	// Port 1 would fail to connect; the table name must fail first.
	_, err := newWithin(t, postgres.Config{Server: postgres.Server{Port: 1}, KeyValueTable: "kv; DROP TABLE x"})
	var fe *postgres.FieldError
	if !errors.As(err, &fe) || fe.Field != "keyValueTable" {
		t.Fatalf("New = %v, want a FieldError for keyValueTable", err)
	}
}

func TestNewHonoursContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ln, port := listen(t)
	ln.Close()
	_, err := postgres.New(ctx, postgres.Config{Server: postgres.Server{Port: port}, Session: postgres.Session{SSLMode: "disable"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("New with a cancelled context = %v, want context.Canceled", err)
	}
}
