package mysql

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/internal/testenv"
)

// serverConfig is the test server from WEFT_TEST_MYSQL_URL; it skips (or
// fails, with TEST_REQUIRE_INTEGRATION=1) when the variable is unset.
func serverConfig(t testing.TB) Config {
	t.Helper()
	c, err := ParseURL(testenv.URL(t, testenv.MySQLURL))
	if err != nil {
		t.Fatalf("%s: %v", testenv.MySQLURL, err)
	}
	// Subtests run in parallel, each with its own pool: keep the sum
	// well under the server's max_connections.
	c.MaxOpenConns, c.MaxIdleConns = 6, 6
	return c
}

// freshConfig is serverConfig with a database of its own, dropped when the
// test ends (after the stores the test opened are closed: cleanups run in
// reverse order, and stores are opened later).
func freshConfig(t testing.TB) Config {
	t.Helper()
	c := serverConfig(t)
	var b [8]byte
	rand.Read(b[:])
	c.Database = "t_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin(t, c).ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(c.Database)); err != nil {
			t.Errorf("drop test database %s: %v", c.Database, err)
		}
	})
	return c
}

// newStore opens a Store on c and closes it when the test ends.
func newStore(t testing.TB, c Config, opts ...Option) *Store {
	t.Helper()
	opts = append([]Option{WithLogger(testLogger(t))}, opts...)
	s, err := New(t.Context(), c, opts...)
	if err != nil {
		t.Fatalf("New(%s): %v", c, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testLogger routes the store's warnings to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
