package pgsetup

import (
	"strings"
	"testing"
)

func TestCheckIdent(t *testing.T) {
	for _, ok := range []string{"a", "_", "A_b_9", strings.Repeat("x", 63)} {
		if err := CheckIdent(ok); err != nil {
			t.Errorf("CheckIdent(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "9a", "a-b", "a b", `a"b`, "a;b", "ä", "a.b", strings.Repeat("x", 64), "a\x00"} {
		if CheckIdent(bad) == nil {
			t.Errorf("CheckIdent(%q) accepted", bad)
		}
	}
}

func TestIndexName(t *testing.T) {
	if got := IndexName("kv", "expires_at_idx"); got != "kv_expires_at_idx" {
		t.Errorf("short name = %q", got)
	}
	a := IndexName(strings.Repeat("t", 60)+"aaa", "key_member_key")
	b := IndexName(strings.Repeat("t", 60)+"bbb", "key_member_key")
	if len(a) > MaxIdentLen || len(b) > MaxIdentLen {
		t.Errorf("long names not shortened: %d, %d bytes", len(a), len(b))
	}
	if a == b {
		t.Errorf("two long tables share index name %q", a)
	}
	if CheckIdent(a) != nil {
		t.Errorf("shortened name %q is not a safe identifier", a)
	}
}

func TestCheckSchema(t *testing.T) {
	for _, ok := range []string{"weft", "My_Schema1", "pgq", "_pg_x"} {
		if err := CheckSchema(ok); err != nil {
			t.Errorf("CheckSchema(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "pg_weft", "pg_", "a b", "9a"} {
		if CheckSchema(bad) == nil {
			t.Errorf("CheckSchema(%q) accepted", bad)
		}
	}
}
