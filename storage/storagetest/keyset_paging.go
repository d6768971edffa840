package storagetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/weftio/weft/storage"
)

func testPageLarge(t *testing.T, s storage.KeySet, p string) {
	k := p + "set"
	members := numbered("m", 2500)
	mustAdd(t, s, k, members...)
	wantMembers(t, pageAll(t, s, k, 100, nil), asStrings(members))
}

func testPageLimitOne(t *testing.T, s storage.KeySet, p string) {
	k := p + "set"
	members := numbered("m", 40)
	mustAdd(t, s, k, members...)
	// mustPage (inside pageAll) fails if any page has more than one member.
	wantMembers(t, pageAll(t, s, k, 1, nil), asStrings(members))
}

func testPageInvalidLimit(t *testing.T, s storage.KeySet, p string) {
	absent, k := p+"absent", p+"set"
	mustAdd(t, s, k, []byte("m"))
	for _, key := range []string{absent, k} {
		for _, limit := range []int{0, -1} {
			if _, _, err := s.Page(t.Context(), key, "", limit); err == nil {
				t.Errorf("Page(%q, limit %d): no error", key, limit)
			}
		}
	}
}

// testPageRemoveDuringPaging removes members (both already returned and not
// yet returned) and adds new ones between pages. Members present throughout
// must come back exactly once; nothing may come back twice.
func testPageRemoveDuringPaging(t *testing.T, s storage.KeySet, p string) {
	const n, limit, removePerPage, addPerPage = 600, 25, 6, 3
	k := p + "set"
	members := asStrings(numbered("m", n))
	for _, m := range members {
		mustAdd(t, s, k, []byte(m))
	}

	rng := rand.New(rand.NewPCG(42, 7))
	order := rng.Perm(n) // removal order spread over the whole set
	removed := make(map[string]bool)
	var added []string
	between := func(page int) {
		for range removePerPage {
			if len(order) == 0 {
				return
			}
			m := members[order[0]]
			order = order[1:]
			mustRemove(t, s, k, []byte(m))
			removed[m] = true
		}
		for i := range addPerPage {
			m := fmt.Sprintf("n%05d", page*addPerPage+i)
			mustAdd(t, s, k, []byte(m))
			added = append(added, m)
		}
	}
	got := pageAll(t, s, k, limit, between)

	if d := firstDuplicate(got); d != "" {
		t.Fatalf("member %q returned twice while paging with removals", d)
	}
	var stayed []string
	for _, m := range members {
		if !removed[m] {
			stayed = append(stayed, m)
		}
	}
	if missing := diff(stayed, got); len(missing) > 0 {
		t.Fatalf("%d members present throughout were skipped: %s", len(missing), quoteFew(missing))
	}
	known := slices.Concat(members, added)
	if extra := diff(got, known); len(extra) > 0 {
		t.Fatalf("paging returned members never added: %s", quoteFew(extra))
	}
}
