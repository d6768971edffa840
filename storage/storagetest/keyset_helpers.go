package storagetest

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/weftio/weft/storage"
)

// maxPages bounds a paging loop so a driver whose cursor never ends fails
// instead of hanging the test binary.
const maxPages = 100_000

// mustAdd adds members and fails the test on error.
func mustAdd(t *testing.T, s storage.KeySet, key string, members ...[]byte) {
	t.Helper()
	for _, m := range members {
		if err := s.Add(t.Context(), key, m); err != nil {
			t.Fatalf("Add(%q, %q): %v", key, m, err)
		}
	}
}

// mustRemove removes members and fails the test on error.
func mustRemove(t *testing.T, s storage.KeySet, key string, members ...[]byte) {
	t.Helper()
	for _, m := range members {
		if err := s.Remove(t.Context(), key, m); err != nil {
			t.Fatalf("Remove(%q, %q): %v", key, m, err)
		}
	}
}

// mustPage fetches one page and checks the limit is respected.
func mustPage(t *testing.T, s storage.KeySet, key, cursor string, limit int) ([][]byte, string) {
	t.Helper()
	ms, next, err := s.Page(t.Context(), key, cursor, limit)
	if err != nil {
		t.Fatalf("Page(%q, cursor %q, limit %d): %v", key, cursor, limit, err)
	}
	if len(ms) > limit {
		t.Fatalf("Page(limit %d) returned %d members", limit, len(ms))
	}
	return ms, next
}

// pageAll walks every page, calling between (if non-nil) before each page
// after the first, and returns the members in the order received. It does
// not require pages to be full or non-empty: drivers built on scan cursors
// may legitimately return short or empty pages before the end.
func pageAll(t *testing.T, s storage.KeySet, key string, limit int, between func(page int)) []string {
	t.Helper()
	var all []string
	cursor := ""
	for page := 0; ; page++ {
		if page == maxPages {
			t.Fatalf("paging %q did not end after %d pages", key, maxPages)
		}
		if page > 0 && between != nil {
			between(page)
		}
		ms, next := mustPage(t, s, key, cursor, limit)
		for _, m := range ms {
			all = append(all, string(m))
		}
		if next == "" {
			return all
		}
		cursor = next
	}
}

// wantMembers checks that got holds exactly want, each once, in any order.
func wantMembers(t *testing.T, got, want []string) {
	t.Helper()
	if d := firstDuplicate(got); d != "" {
		t.Fatalf("member %q returned more than once", d)
	}
	g, w := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(g, w) {
		missing, extra := diff(w, g), diff(g, w)
		t.Fatalf("members: got %d, want %d; missing %s; unexpected %s",
			len(g), len(w), quoteFew(missing), quoteFew(extra))
	}
}

// firstDuplicate returns a member that occurs twice, or "" if none does
// (an empty member is reported as "\x00empty" so it is never mistaken for
// "no duplicate").
func firstDuplicate(ms []string) string {
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		if seen[m] {
			if m == "" {
				return "\x00empty"
			}
			return m
		}
		seen[m] = true
	}
	return ""
}

// diff returns the members of a not in b.
func diff(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, m := range b {
		in[m] = true
	}
	var out []string
	for _, m := range a {
		if !in[m] {
			out = append(out, m)
		}
	}
	return out
}

// quoteFew renders at most a handful of members for a failure message.
func quoteFew(ms []string) string {
	const few = 5
	out := "["
	for i, m := range ms {
		if i == few {
			out += " ... +" + strconv.Itoa(len(ms)-few)
			break
		}
		if i > 0 {
			out += " "
		}
		out += strconv.Quote(m)
	}
	return out + "]"
}

// numbered returns n distinct members "<tag>00000", "<tag>00001", ...
func numbered(tag string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%s%05d", tag, i)
	}
	return out
}

func asStrings(ms [][]byte) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m)
	}
	return out
}
