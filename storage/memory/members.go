package memory

import "sort"

// compactMin keeps small sets from compacting on every other removal.
const compactMin = 32

// memberSet is a set that remembers insertion order, for stable paging.
//
// order holds every member ever added in ascending seq order; a removed
// member leaves a tombstone so positions of others never shift under a
// cursor. Tombstones are compacted away once they are the majority, which
// keeps memory and page scans proportional to the live members.
type memberSet struct {
	seqs  map[string]uint64 // live member -> its seq
	order []slot
	dead  int // tombstones in order
}

type slot struct {
	seq    uint64
	member string
	live   bool
}

func newMemberSet() *memberSet {
	return &memberSet{seqs: make(map[string]uint64)}
}

func (ms *memberSet) len() int { return len(ms.seqs) }

func (ms *memberSet) has(member []byte) bool {
	_, ok := ms.seqs[string(member)]
	return ok
}

// add appends member, which must not be present. seq must exceed every seq
// already in the set.
func (ms *memberSet) add(member string, seq uint64) {
	ms.seqs[member] = seq
	ms.order = append(ms.order, slot{seq: seq, member: member, live: true})
}

func (ms *memberSet) remove(member []byte) {
	seq, ok := ms.seqs[string(member)]
	if !ok {
		return
	}
	delete(ms.seqs, string(member))
	i := ms.search(seq)
	ms.order[i] = slot{seq: seq} // tombstone; drops the member string
	ms.dead++
	if ms.dead >= compactMin && ms.dead*2 > len(ms.order) {
		ms.compact()
	}
}

// compact drops tombstones, keeping seq order.
func (ms *memberSet) compact() {
	live := ms.order[:0]
	for _, sl := range ms.order {
		if sl.live {
			live = append(live, sl)
		}
	}
	clear(ms.order[len(live):])
	// Give memory back when the set has shrunk a lot.
	if cap(live) > 2*len(live)+compactMin {
		live = append([]slot(nil), live...)
	}
	ms.order, ms.dead = live, 0
}

// search returns the index of the first slot with seq >= seq.
func (ms *memberSet) search(seq uint64) int {
	return sort.Search(len(ms.order), func(i int) bool { return ms.order[i].seq >= seq })
}

// page returns up to limit live members with seq > after, the seq of the
// last one, and whether live members remain beyond it.
func (ms *memberSet) page(after uint64, limit int) (members []string, last uint64, more bool) {
	i := sort.Search(len(ms.order), func(i int) bool { return ms.order[i].seq > after })
	members = make([]string, 0, min(limit, len(ms.seqs)))
	for ; i < len(ms.order) && len(members) < limit; i++ {
		if sl := ms.order[i]; sl.live {
			members = append(members, sl.member)
			last = sl.seq
		}
	}
	// Look ahead so the final page says "no more" instead of costing the
	// caller one extra, empty round trip.
	for ; i < len(ms.order); i++ {
		if ms.order[i].live {
			return members, last, true
		}
	}
	return members, last, false
}
