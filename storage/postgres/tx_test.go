package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/weftio/weft/storage"
	"github.com/weftio/weft/storage/postgres"
)

// TestPutTx checks the hook's writes commit with the versioned write, and
// that a conflict or a failing hook leaves both unwritten.
func TestPutTx(t *testing.T) {
	cfg := freshConfig(t)
	s := open(t, cfg)
	ctx := t.Context()
	side := `"` + cfg.Schema + `".side`
	admin(t, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `CREATE TABLE `+side+` (note TEXT NOT NULL)`)
		return err
	})
	note := func(text string) storage.TxHook {
		return func(ctx context.Context, tx any) error {
			ptx, ok := tx.(pgx.Tx)
			if !ok {
				return fmt.Errorf("tx is %T, want pgx.Tx", tx)
			}
			_, err := ptx.Exec(ctx, `INSERT INTO `+side+` (note) VALUES ($1)`, text)
			return err
		}
	}
	notes := func() []string {
		var out []string
		admin(t, func(ctx context.Context, c *pgx.Conn) error {
			rows, err := c.Query(ctx, `SELECT note FROM `+side+` ORDER BY note`)
			if err != nil {
				return err
			}
			out, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		return out
	}

	v, err := s.PutTx(ctx, "k", []byte("one"), 0, 0, note("first"))
	if err != nil || v != 1 {
		t.Fatalf("PutTx = %d, %v; want 1, nil", v, err)
	}
	called := false
	if _, err := s.PutTx(ctx, "k", []byte("stale"), 0, 0, func(context.Context, any) error {
		called = true
		return nil
	}); !errors.Is(err, storage.ErrVersionConflict) {
		t.Fatalf("PutTx with a stale version: %v, want ErrVersionConflict", err)
	}
	if called {
		t.Error("the hook ran although the write conflicted")
	}
	boom := errors.New("hook failed")
	if _, err := s.PutTx(ctx, "k", []byte("two"), 1, 0, func(ctx context.Context, tx any) error {
		if err := note("rolled back")(ctx, tx); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("PutTx with a failing hook: %v, want it to wrap the hook's error", err)
	}
	if got, v, _ := s.Get(ctx, "k"); string(got) != "one" || v != 1 {
		t.Errorf("after a failed hook the value is %q v%d, want one v1", got, v)
	}
	if v, err := s.PutTx(ctx, "k", []byte("two"), 1, 0, note("second")); err != nil || v != 2 {
		t.Fatalf("PutTx = %d, %v; want 2, nil", v, err)
	}
	if got := strings.Join(notes(), ","); got != "first,second" {
		t.Errorf("side table holds %q, want first,second", got)
	}
	if d := s.TxDomain(); !strings.HasPrefix(d, "postgres://") || !strings.HasSuffix(d, "/"+cfg.Database) {
		t.Errorf("TxDomain() = %q", d)
	}

	// PutManyTx: the batch and the hook's writes commit together, or not.
	if _, err := s.PutManyTx(ctx, []storage.Write{{Key: "k", Value: []byte("three"), Expected: 1}, {Key: "page", Value: []byte("p")}}, note("never")); !errors.Is(err, storage.ErrVersionConflict) {
		t.Fatalf("PutManyTx with a stale version: %v, want ErrVersionConflict", err)
	}
	if _, err := s.PutManyTx(ctx, []storage.Write{{Key: "k", Value: []byte("three"), Expected: 2}, {Key: "page", Value: []byte("p")}}, func(ctx context.Context, tx any) error {
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("PutManyTx with a failing hook: %v, want it to wrap the hook's error", err)
	}
	if _, v, _ := s.Get(ctx, "page"); v != 0 {
		t.Error("a rolled back batch left its second write")
	}
	vs, err := s.PutManyTx(ctx, []storage.Write{{Key: "k", Value: []byte("three"), Expected: 2}, {Key: "page", Value: []byte("p")}}, note("third"))
	if err != nil || len(vs) != 2 || vs[0] != 3 || vs[1] != 1 {
		t.Fatalf("PutManyTx = %v, %v; want [3 1]", vs, err)
	}
	if got := strings.Join(notes(), ","); got != "first,second,third" {
		t.Errorf("side table holds %q, want first,second,third", got)
	}
}

func TestTxDomain(t *testing.T) {
	for _, c := range []struct {
		host string
		port int
		db   string
		want string
	}{
		{"LocalHost", 0, "weft", "postgres://localhost:5432/weft"},
		{"127.0.0.1", 55432, "weft_test", "postgres://127.0.0.1:55432/weft_test"},
	} {
		if got := postgres.TxDomain(c.host, c.port, c.db); got != c.want {
			t.Errorf("TxDomain(%q, %d, %q) = %q, want %q", c.host, c.port, c.db, got, c.want)
		}
	}
}
