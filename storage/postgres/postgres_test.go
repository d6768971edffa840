package postgres_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftio/weft/internal/tcpproxy"
	"github.com/weftio/weft/internal/testenv"
	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/postgres"
	"github.com/weftio/weft/storage/storagetest"
)

// Integration tests need WEFT_TEST_POSTGRES_URL (scripts/services.sh up
// postgres; eval "$(scripts/services.sh env postgres)"); without it they
// skip, or fail under TEST_REQUIRE_INTEGRATION=1. Every test works in its own
// freshly created schema, dropped at the end, so parallel tests and
// leftovers of crashed runs never meet.

// serverURL is the test server's URL, or skips the test.
func serverURL(t *testing.T) string {
	t.Helper()
	return testenv.URL(t, testenv.PostgresURL)
}

// freshConfig returns a Config for the test server with a new random schema
// that is dropped when the test ends (after its stores are closed, because
// cleanups run last-registered first).
func freshConfig(t *testing.T) postgres.Config {
	t.Helper()
	u := serverURL(t)
	cfg, err := postgres.ParseURL(u)
	if err != nil {
		t.Fatalf("%s: %v", testenv.PostgresURL, err)
	}
	cfg.Schema = testenv.PostgresSchema(t, "t_", 8)
	// Small pools: the suite runs many stores in parallel against a server
	// other packages' tests share.
	cfg.MaxConns = 4
	return cfg
}

// admin runs fn on a plain connection of its own, for checks and setup the
// Store does not offer.
func admin(t *testing.T, fn func(ctx context.Context, c *pgx.Conn) error) {
	t.Helper()
	testenv.PostgresAdmin(t, fn)
}

// open creates a Store for cfg, closed when the test ends.
func open(t *testing.T, cfg postgres.Config) *postgres.Store {
	t.Helper()
	s, err := postgres.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New(%v): %v", cfg, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newStore(t *testing.T) *postgres.Store { return open(t, freshConfig(t)) }

func TestKeyValue(t *testing.T) {
	storagetest.RunKeyValue(t, func(t *testing.T) storage.KeyValue { return newStore(t) })
}

func TestKeySet(t *testing.T) {
	storagetest.RunKeySet(t, func(t *testing.T) storage.KeySet { return newStore(t) })
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	u, err := url.Parse(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	user := u.User.Username()
	u.User = url.UserPassword(user, "definitely-not-the-password")
	cfg.URL = u.String()
	s, err := newWithin(t, cfg)
	if err == nil {
		s.Close()
		t.Skipf("the test server accepted a wrong password (trust authentication?); nothing to check")
	}
	want := `password authentication failed for user "` + user + `"`
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v\nwant it to contain %s", err, want)
	}
	if strings.Contains(err.Error(), "definitely-not-the-password") {
		t.Fatalf("error shows the password: %v", err)
	}
}

func TestSchemaCreationConcurrentAndIdempotent(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	const n = 4
	stores := make([]*postgres.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = postgres.New(t.Context(), cfg)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent New #%d on an empty schema: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	// And once more on the finished schema.
	again := open(t, cfg)

	ctx := t.Context()
	if _, err := stores[0].Put(ctx, "k", []byte("v"), 0, 0); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if v, ver, err := again.Get(ctx, "k"); err != nil || ver != 1 || string(v) != "v" {
		t.Fatalf("Get through another store = %q, %d, %v; want the shared row", v, ver, err)
	}
	admin(t, func(ctx context.Context, c *pgx.Conn) error {
		var rows, version int
		err := c.QueryRow(ctx, `SELECT count(*), max(version) FROM "`+cfg.Schema+`".weft_schema_version`).Scan(&rows, &version)
		if err != nil {
			return err
		}
		if rows != 1 || version != postgres.SchemaVersion {
			t.Errorf("weft_schema_version has %d rows, version %d; want 1 row at %d", rows, version, postgres.SchemaVersion)
		}
		return nil
	})
}

func TestNewerSchemaVersionRefused(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	s := open(t, cfg)
	s.Close()
	admin(t, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `UPDATE "`+cfg.Schema+`".weft_schema_version SET version = $1`, postgres.SchemaVersion+1)
		return err
	})
	_, err := postgres.New(t.Context(), cfg)
	if !errors.Is(err, postgres.ErrSchemaTooNew) {
		t.Fatalf("New on a newer schema = %v, want ErrSchemaTooNew", err)
	}
	if want := "version " + strconv.Itoa(postgres.SchemaVersion+1); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), cfg.Schema) {
		t.Fatalf("error %q does not name the schema and its %s", err, want)
	}
	// Also when a new table would have to be created: the check comes first.
	cfg.KeySetTable = "other_set_table"
	if _, err := postgres.New(t.Context(), cfg); !errors.Is(err, postgres.ErrSchemaTooNew) {
		t.Fatalf("New with a missing table on a newer schema = %v, want ErrSchemaTooNew", err)
	}
}

func TestCustomTableNames(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	// Mixed case and an SQL keyword: quoting must keep both working.
	cfg.KeyValueTable, cfg.KeySetTable = "Mixed_Case_KV", "user"
	s := open(t, cfg)
	ctx := t.Context()
	if _, err := s.Put(ctx, "k", []byte("v"), 0, 0); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := s.Add(ctx, "set", []byte("m")); err != nil {
		t.Fatalf("Add: %v", err)
	}
	admin(t, func(ctx context.Context, c *pgx.Conn) error {
		var kv, ks int
		err := c.QueryRow(ctx, `SELECT (SELECT count(*) FROM "`+cfg.Schema+`"."Mixed_Case_KV"), (SELECT count(*) FROM "`+cfg.Schema+`"."user")`).Scan(&kv, &ks)
		if err == nil && (kv != 1 || ks != 1) {
			t.Errorf("rows in the configured tables: %d and %d, want 1 and 1", kv, ks)
		}
		return err
	})
}

func TestExpiredRowsAreReclaimed(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	s := open(t, cfg)
	ctx := t.Context()
	for i := range 5 {
		if _, err := s.Put(ctx, "short"+strconv.Itoa(i), []byte("x"), 0, 50*time.Millisecond); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	if _, err := s.Put(ctx, "long", []byte("y"), 0, time.Hour); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, err := s.Put(ctx, "forever", []byte("z"), 0, 0); err != nil {
		t.Fatalf("Put: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, ver, err := s.Get(ctx, "short4")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if ver == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("key with a 50ms TTL still present after 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	n, err := s.DeleteExpired(ctx)
	if err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}
	if n != 5 {
		t.Fatalf("DeleteExpired removed %d rows, want 5", n)
	}
	admin(t, func(ctx context.Context, c *pgx.Conn) error {
		rows, _ := c.Query(ctx, `SELECT key FROM "`+cfg.Schema+`".key_value_storage ORDER BY key`)
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err == nil && strings.Join(keys, ",") != "forever,long" {
			t.Errorf("rows left = %v, want [forever long]", keys)
		}
		return err
	})
}

// TestPutManyNoWriteSkew runs pairs of batches that each require a key the
// other creates to be absent. Serially, one of each pair must fail; a driver
// whose absence check takes no lock lets both commit.
func TestPutManyNoWriteSkew(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	s := open(t, cfg)
	ctx := t.Context()
	wins := 0
	for round := range 40 {
		j, k := "j"+strconv.Itoa(round), "k"+strconv.Itoa(round)
		batches := [2][]storage.Write{
			{{Key: j, Value: []byte("1")}, {Key: k}},
			{{Key: k, Value: []byte("1")}, {Key: j}},
		}
		var errs [2]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range batches {
			wg.Go(func() {
				<-start
				_, errs[i] = s.PutMany(ctx, batches[i])
			})
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			if err != nil && !errors.Is(err, storage.ErrVersionConflict) {
				t.Fatalf("round %d: PutMany: %v", round, err)
			}
		}
		if errs[0] == nil && errs[1] == nil {
			t.Fatalf("round %d: both batches committed, though each required a key the other created to be absent", round)
		}
		if errs[0] == nil || errs[1] == nil {
			wins++
		}
	}
	if wins == 0 {
		t.Fatal("no batch ever committed")
	}
	// The absence claims are never committed.
	admin(t, func(ctx context.Context, c *pgx.Conn) error {
		var n int
		err := c.QueryRow(ctx, `SELECT count(*) FROM "`+cfg.Schema+`".key_value_storage WHERE version = 0`).Scan(&n)
		if err == nil && n != 0 {
			t.Errorf("%d placeholder rows (version 0) were committed", n)
		}
		return err
	})
}

func TestLongAndUnicodeKeys(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	for _, k := range []string{strings.Repeat("ключ🙂", 100), strings.Repeat("k", 2000)} {
		if _, err := s.Put(ctx, k, []byte("v"), 0, 0); err != nil {
			t.Fatalf("Put(%d-byte key): %v", len(k), err)
		}
		if _, ver, err := s.Get(ctx, k); err != nil || ver != 1 {
			t.Fatalf("Get(%d-byte key) = %d, %v", len(k), ver, err)
		}
		if err := s.Add(ctx, k, []byte("m")); err != nil {
			t.Fatalf("Add(%d-byte key): %v", len(k), err)
		}
	}
	if _, err := s.Put(ctx, "nul\x00key", []byte("v"), 0, 0); err == nil || errors.Is(err, storage.ErrVersionConflict) {
		t.Fatalf("Put with a NUL in the key = %v, want a clear error", err)
	}
}

// TestServerRestart cuts every connection through a proxy, as a server
// restart does, and checks that operations fail promptly instead of
// hanging, then work again on the same Store with the data intact.
func TestServerRestart(t *testing.T) {
	t.Parallel()
	cfg := freshConfig(t)
	proxy, err := tcpproxy.Start(net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	// The discrete fields this time (ParseURL filled them in), pointed at
	// the proxy.
	cfg.URL = ""
	host, port := proxy.HostPort()
	cfg.Host = host
	if cfg.Port, err = strconv.Atoi(port); err != nil {
		t.Fatal(err)
	}
	cfg.ConnectTimeout = 2 * time.Second
	s := open(t, cfg)
	ctx := t.Context()

	if _, err := s.Put(ctx, "k", []byte("v1"), 0, 0); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, err := s.Put(ctx, "k", []byte("v2"), 1, 0); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := s.Add(ctx, "set", []byte("m1")); err != nil {
		t.Fatalf("Add: %v", err)
	}

	proxy.Down()
	ops := map[string]func(ctx context.Context) error{
		"Get": func(ctx context.Context) error { _, _, err := s.Get(ctx, "k"); return err },
		"Put": func(ctx context.Context) error { _, err := s.Put(ctx, "k", []byte("lost"), 2, 0); return err },
		"Delete": func(ctx context.Context) error {
			return s.Delete(ctx, "k", 2)
		},
		"GetMany": func(ctx context.Context) error { _, err := s.GetMany(ctx, []string{"k", "x"}); return err },
		"PutMany": func(ctx context.Context) error {
			_, err := s.PutMany(ctx, []storage.Write{{Key: "k", Value: []byte("lost"), Expected: 2}, {Key: "x", Value: []byte("x")}})
			return err
		},
		"Add":    func(ctx context.Context) error { return s.Add(ctx, "set", []byte("lost")) },
		"Remove": func(ctx context.Context) error { return s.Remove(ctx, "set", []byte("m1")) },
		"Page":   func(ctx context.Context) error { _, _, err := s.Page(ctx, "set", "", 10); return err },
	}
	for name, op := range ops {
		// Far longer than the connect timeout: reaching it means a hang.
		opCtx, cancel := context.WithTimeout(ctx, hangGuard)
		err := op(opCtx)
		hung := opCtx.Err() != nil
		cancel()
		t.Logf("%s with the server down: %v", name, err)
		switch {
		case hung:
			t.Errorf("%s with the server down ran into the %v guard instead of failing", name, hangGuard)
		case err == nil:
			t.Errorf("%s succeeded with the server down", name)
		case errors.Is(err, storage.ErrVersionConflict) || errors.Is(err, storage.ErrClosed):
			t.Errorf("%s with the server down = %v; a connection failure must not look like a conflict or a Close", name, err)
		}
	}

	proxy.Up()
	deadline := time.Now().Add(hangGuard)
	for {
		_, _, err := s.Get(ctx, "k")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Get still failing %v after the server came back: %v", hangGuard, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Nothing sent while the server was down was applied.
	v, ver, err := s.Get(ctx, "k")
	if err != nil || ver != 2 || string(v) != "v2" {
		t.Fatalf("Get after restart = %q, %d, %v; want v2 at version 2", v, ver, err)
	}
	if ver, err := s.Put(ctx, "k", []byte("v3"), 2, 0); err != nil || ver != 3 {
		t.Fatalf("Put after restart = %d, %v; want version 3", ver, err)
	}
	if _, err := s.PutMany(ctx, []storage.Write{{Key: "k", Value: []byte("v4"), Expected: 3}, {Key: "x", Value: []byte("x")}}); err != nil {
		t.Fatalf("PutMany after restart: %v", err)
	}
	members, _, err := s.Page(ctx, "set", "", 10)
	if err != nil || len(members) != 1 || string(members[0]) != "m1" {
		t.Fatalf("Page after restart = %q, %v; want [m1]", members, err)
	}

	// A quick restart leaves the pool holding cut connections that were
	// idle too briefly to be pinged. Reads are safe to repeat, so the first
	// read after such a restart must still succeed at once.
	proxy.Down()
	proxy.Up()
	if v, ver, err := s.Get(ctx, "k"); err != nil || ver != 4 || string(v) != "v4" {
		t.Fatalf("first Get after a quick restart = %q, %d, %v; want v4 at version 4", v, ver, err)
	}
}

func TestCloseAndReuse(t *testing.T) {
	cfg := freshConfig(t)
	storagetest.RunReopen(t, func(t *testing.T) (storage.KeyValue, storage.KeySet) {
		s, err := postgres.New(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s, s
	})
}
