package core

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// uuidV7 is the textual layout of a version 7, RFC 4122 variant UUID.
var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// uuidMillis returns the 48-bit time prefix of a UUIDv7.
func uuidMillis(t *testing.T, id string) int64 {
	t.Helper()
	hex := strings.ReplaceAll(id, "-", "")[:12]
	ms, err := strconv.ParseInt(hex, 16, 64)
	if err != nil {
		t.Fatalf("time prefix of %s: %v", id, err)
	}
	return ms
}

func TestDeriveIDIsDeterministic(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 1, 12, 30, 0, 123456789, time.UTC)
	a := DeriveID(at, "wf-1", "run-1", "3", "7")
	b := DeriveID(at, "wf-1", "run-1", "3", "7")
	if a != b {
		t.Fatalf("same inputs gave %s and %s", a, b)
	}
	// The location of the instant is irrelevant: only the absolute time counts.
	if c := DeriveID(at.In(time.FixedZone("X", 5*3600)), "wf-1", "run-1", "3", "7"); c != a {
		t.Fatalf("same instant in another zone gave %s, want %s", c, a)
	}
}

func TestDeriveIDLayout(t *testing.T) {
	t.Parallel()
	instants := []time.Time{
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 999_999_999, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 1_000_000, time.UTC),
		time.Date(8000, 12, 31, 23, 59, 59, 0, time.UTC),
		time.UnixMilli(1<<48 - 1).UTC(),
	}
	for _, at := range instants {
		for _, parts := range [][]string{nil, {""}, {"a"}, {"wf", "run", "1", "2"}, {strings.Repeat("x", 10000)}} {
			id := DeriveID(at, parts...)
			if !uuidV7.MatchString(id) {
				t.Errorf("DeriveID(%s, %q) = %s: not a UUIDv7", at, parts, id)
				continue
			}
			if got, want := uuidMillis(t, id), at.UnixMilli(); got != want {
				t.Errorf("DeriveID(%s): time prefix %d, want %d", at, got, want)
			}
		}
	}
}

func TestDeriveIDTimeBeforeEpochIsZero(t *testing.T) {
	t.Parallel()
	for _, at := range []time.Time{{}, time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)} {
		id := DeriveID(at, "x")
		if !uuidV7.MatchString(id) {
			t.Fatalf("DeriveID(%s) = %s: not a UUIDv7", at, id)
		}
		if ms := uuidMillis(t, id); ms != 0 {
			t.Errorf("DeriveID(%s): time prefix %d, want 0", at, ms)
		}
	}
}

func TestDeriveIDSortsByTime(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := DeriveID(base, "z")
	for i := 1; i < 50; i++ {
		id := DeriveID(base.Add(time.Duration(i)*time.Millisecond), "a")
		if id <= prev {
			t.Fatalf("id %s at +%dms does not sort after %s", id, i, prev)
		}
		prev = id
	}
}

func TestDeriveIDDependsOnEveryPart(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := [][]string{
		nil,
		{""},
		{"", ""},
		{"a"},
		{"b"},
		{"a", ""},
		{"", "a"},
		{"ab", "c"},
		{"a", "bc"},
		{"abc"},
		{"a", "b", "c"},
		{"wf", "run", "1", "0"},
		{"wf", "run", "1", "1"},
		{"wf", "run", "2", "0"},
		{"wf", "run2", "1", "0"},
		{"wf2", "run", "1", "0"},
		// A length prefix must not be forgeable by content.
		{"\x00\x00\x00\x01a"},
		{"a", "\x00\x00\x00\x00"},
	}
	seen := map[string][]string{}
	for _, parts := range cases {
		id := DeriveID(at, parts...)
		if prev, dup := seen[id]; dup {
			t.Errorf("DeriveID(%q) == DeriveID(%q) = %s", parts, prev, id)
		}
		seen[id] = parts
	}
	if DeriveID(at, "ab", "c") == DeriveID(at, "a", "bc") {
		t.Error(`("ab","c") and ("a","bc") share an id: part boundaries are ignored`)
	}
	// Same parts, different millisecond: different id.
	if DeriveID(at, "x") == DeriveID(at.Add(time.Millisecond), "x") {
		t.Error("the instant does not change the id")
	}
}

func TestUUIDFromBytes(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
	var ent [16]byte
	for i := range ent {
		ent[i] = 0xff
	}
	id := UUIDFromBytes(at, ent)
	if !uuidV7.MatchString(id) {
		t.Fatalf("UUIDFromBytes = %s: not a UUIDv7", id)
	}
	if got := uuidMillis(t, id); got != at.UnixMilli() {
		t.Fatalf("time prefix %d, want %d", got, at.UnixMilli())
	}
	// Everything but the time, version and variant bits is the entropy.
	if want := "-7fff-bfff-ffffffffffff"; !strings.HasSuffix(id, want) {
		t.Fatalf("UUIDFromBytes(all ones) = %s, want suffix %s", id, want)
	}
	var zero [16]byte
	if got := UUIDFromBytes(time.Time{}, zero); got != "00000000-0000-7000-8000-000000000000" {
		t.Fatalf("UUIDFromBytes(zero) = %s", got)
	}
}
