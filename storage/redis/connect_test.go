package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/storage/redis"
)

// connectBound is how long a failing New may take in these tests. It is far
// above the configured timeouts: the point is "does not hang", not speed.
const connectBound = 15 * time.Second

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestNewUnreachable(t *testing.T) {
	t.Parallel()
	port := closedPort(t)
	start := time.Now()
	s, err := redis.New(t.Context(), redis.Config{Host: "127.0.0.1", Port: port, DialTimeout: 500 * time.Millisecond})
	if err == nil {
		s.Close()
		t.Fatal("New on a closed port succeeded")
	}
	if took := time.Since(start); took > connectBound {
		t.Errorf("New took %v to fail", took)
	}
	t.Logf("New: %v", err)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if !strings.Contains(err.Error(), "cannot reach "+addr) {
		t.Errorf("error %q does not say it cannot reach %s", err, addr)
	}
}

// TestNewSilentServer: a server that accepts but never answers (a hung
// process, a black-holing firewall) fails New within dialTimeout.
func TestNewSilentServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	start := time.Now()
	s, err := redis.New(t.Context(), redis.Config{Host: "127.0.0.1", Port: port,
		DialTimeout: 300 * time.Millisecond, ReadTimeout: 300 * time.Millisecond})
	if err == nil {
		s.Close()
		t.Fatal("New on a silent server succeeded")
	}
	if took := time.Since(start); took > connectBound {
		t.Errorf("New took %v to fail", took)
	}
	t.Logf("New: %v", err)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if !strings.Contains(err.Error(), "cannot reach "+addr+" within dialTimeout 300ms") {
		t.Errorf("error %q does not name %s and the timeout", err, addr)
	}
}

func TestNewCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s, err := redis.New(ctx, redis.Config{Host: "127.0.0.1", Port: closedPort(t)})
	if err == nil {
		s.Close()
		t.Fatal("New with a cancelled context succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestNewInvalidConfig(t *testing.T) {
	t.Parallel()
	_, err := redis.New(t.Context(), redis.Config{Port: -1})
	var fe *redis.FieldError
	if !errors.As(err, &fe) || fe.Field != "port" {
		t.Fatalf("err = %v, want a FieldError on port", err)
	}
}

// TestNewWrongPassword works whether or not the test server has a
// password: with one, this password is wrong; without, Redis rejects any
// password for the default user.
func TestNewWrongPassword(t *testing.T) {
	t.Parallel()
	cfg := serverConfig(t)
	cfg.Password += "-surely-wrong"
	s, err := redis.New(t.Context(), cfg)
	if err == nil {
		s.Close()
		t.Fatal("New with a wrong password succeeded")
	}
	t.Logf("New: %v", err)
	user := cfg.Username
	if user == "" {
		user = "default"
	}
	want := "authentication failed for user \"" + user + "\" at " + serverAddr(cfg)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if strings.Contains(err.Error(), cfg.Password) {
		t.Errorf("error %q shows the password", err)
	}
}

// TestNewACLUser creates a user with a password (Redis 6+) and checks that
// a wrong password is a clear error and the right one works.
func TestNewACLUser(t *testing.T) {
	t.Parallel()
	cfg := serverConfig(t)
	raw := rawClient(t)
	var b [4]byte
	rand.Read(b[:])
	user, pass := "weft-test-"+hex.EncodeToString(b[:]), "right-"+hex.EncodeToString(b[:])
	if err := raw.Do(t.Context(), "ACL", "SETUSER", user, "on", ">"+pass, "~*", "&*", "+@all").Err(); err != nil {
		t.Skipf("cannot create an ACL user on the test server: %v", err)
	}
	t.Cleanup(func() { raw.Do(context.Background(), "ACL", "DELUSER", user) })

	cfg.Username, cfg.Password = user, "wrong"
	s, err := redis.New(t.Context(), cfg)
	if err == nil {
		s.Close()
		t.Fatal("New with a wrong password for an ACL user succeeded")
	}
	t.Logf("New: %v", err)
	want := "authentication failed for user \"" + user + "\" at " + serverAddr(cfg)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}

	s = newStore(t, func(c *redis.Config) { c.Username, c.Password = user, pass })
	if _, err := s.Put(t.Context(), "k", []byte("v"), 0, 0); err != nil {
		t.Fatalf("Put as ACL user: %v", err)
	}
}

func TestNewDatabaseOutOfRange(t *testing.T) {
	t.Parallel()
	cfg := serverConfig(t)
	cfg.Database = 1_000_000
	s, err := redis.New(t.Context(), cfg)
	if err == nil {
		s.Close()
		t.Skip("the test server has a million databases")
	}
	t.Logf("New: %v", err)
	if want := "database 1000000 does not exist at " + serverAddr(cfg); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

// serverAddr is host:port of a configuration parsed from the test URL.
func serverAddr(cfg redis.Config) string {
	host, port := cfg.Host, cfg.Port
	if host == "" {
		host = redis.DefaultHost
	}
	if port == 0 {
		port = redis.DefaultPort
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}
