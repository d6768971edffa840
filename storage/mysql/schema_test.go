package mysql

import (
	"strings"
	"sync"
	"testing"
)

func TestSchemaCreatedOnceAndReused(t *testing.T) {
	t.Parallel()
	c := freshConfig(t)
	a := newStore(t, c)
	if _, err := a.Put(t.Context(), "k", []byte("v"), 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.Add(t.Context(), "set", []byte("m")); err != nil {
		t.Fatal(err)
	}
	// A second store on the same database sees the data: nothing was
	// recreated or reset.
	b := newStore(t, c)
	if v, ver, err := b.Get(t.Context(), "k"); err != nil || string(v) != "v" || ver != 1 {
		t.Fatalf("Get through a second store = (%q, %d, %v)", v, ver, err)
	}
	if ms, _, err := b.Page(t.Context(), "set", "", 10); err != nil || len(ms) != 1 {
		t.Fatalf("Page through a second store = (%q, %v)", ms, err)
	}
	wantVersions(t, c, map[string]string{c.withDefaults().KeyValueTable: "key_value 1", c.withDefaults().KeySetTable: "key_set 1"})
}

func TestSchemaConcurrentNew(t *testing.T) {
	t.Parallel()
	c := freshConfig(t)
	const n = 8
	var wg sync.WaitGroup
	stores := make([]*Store, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			cc := c
			cc.MaxOpenConns = 2
			stores[i], errs[i] = New(t.Context(), cc)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("concurrent New #%d: %v", i, errs[i])
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	wantVersions(t, c, map[string]string{"key_value_storage": "key_value 1", "key_set_storage": "key_set 1"})
}

func TestSchemaCustomTableNames(t *testing.T) {
	t.Parallel()
	c := freshConfig(t)
	c.KeyValueTable, c.KeySetTable = "Kv_2", "ks_2"
	s := newStore(t, c)
	if _, err := s.Put(t.Context(), "k", []byte("v"), 0, 0); err != nil {
		t.Fatal(err)
	}
	if n := count(t, c, "Kv_2"); n != 1 {
		t.Fatalf("Kv_2 holds %d rows, want 1", n)
	}
	wantVersions(t, c, map[string]string{"Kv_2": "key_value 1", "ks_2": "key_set 1"})
}

func TestSchemaNewerVersionRefused(t *testing.T) {
	t.Parallel()
	c := freshConfig(t)
	newStore(t, c).Close()
	_, err := admin(t, c).ExecContext(t.Context(),
		"UPDATE "+quote(c.Database)+".weft_schema_version SET version = 2 WHERE table_name = 'key_set_storage'")
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(t.Context(), c)
	if err == nil {
		t.Fatal("New accepted a table with a newer schema version")
	}
	for _, want := range []string{"key_set_storage", "schema version 2", "upgrade weft"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestSchemaKindMismatchRefused(t *testing.T) {
	t.Parallel()
	c := freshConfig(t)
	newStore(t, c).Close()
	// Another process uses the key-set table as its key-value table.
	c2 := c
	c2.KeyValueTable, c2.KeySetTable = "key_set_storage", "other_set"
	_, err := New(t.Context(), c2)
	if err == nil || !strings.Contains(err.Error(), "holds a key_set store") {
		t.Fatalf("New with a key-set table as key-value table: %v", err)
	}
}

// TestSchemaForeignTableRefused puts an Infinitic-style table where weft's
// would go: weft must not write into it.
func TestSchemaForeignTableRefused(t *testing.T) {
	t.Parallel()
	c := freshConfig(t)
	db := admin(t, c)
	for _, q := range []string{
		"CREATE DATABASE " + quote(c.Database),
		"CREATE TABLE " + quote(c.Database) + ".key_value_storage (id BIGINT AUTO_INCREMENT PRIMARY KEY, `key` VARCHAR(255) UNIQUE, `value` LONGBLOB, version BIGINT NOT NULL DEFAULT 1)",
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	_, err := New(t.Context(), c)
	if err == nil || !strings.Contains(err.Error(), "is not a weft key_value table") {
		t.Fatalf("New over a foreign table: %v", err)
	}
	// And it was not recorded as weft's, so nothing later mistakes it.
	var n int
	err = db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+quote(c.Database)+
		".weft_schema_version WHERE table_name = 'key_value_storage'").Scan(&n)
	if err != nil || n != 0 {
		t.Fatalf("foreign table recorded in weft_schema_version: %d rows, %v", n, err)
	}
}

// wantVersions checks weft_schema_version holds exactly want
// (table → "kind version").
func wantVersions(t *testing.T, c Config, want map[string]string) {
	t.Helper()
	rows, err := admin(t, c).QueryContext(t.Context(),
		"SELECT table_name, kind, version FROM "+quote(c.Database)+".weft_schema_version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var table, kind, version string
		if err := rows.Scan(&table, &kind, &version); err != nil {
			t.Fatal(err)
		}
		got[table] = kind + " " + version
	}
	if len(got) != len(want) {
		t.Fatalf("schema versions = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("schema versions = %v, want %v", got, want)
		}
	}
}
