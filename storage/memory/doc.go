// Package memory is the in-process storage driver: one Store that is both a
// storage.KeyValue and a storage.KeySet.
//
// The two are separate namespaces inside one Store (a key-value key and a set
// key of the same name do not interact) but share one lifetime: Close closes
// both. Use one Store per role if they need separate lifetimes.
//
// It sits on the hot path of the embedded runtime, so it is built for speed:
// keys are spread over independently locked shards, stored values are
// immutable so copies out happen after the lock is released, and the clock is
// only read for keys that carry a TTL.
//
// Expiry is lazy: an expired key reads as absent from the moment its deadline
// passes, and its memory is reclaimed by later writes to the same shard,
// which pop a bounded number of due keys from a per-shard deadline heap. No
// goroutine is involved, so there is nothing to leak.
//
// Set paging is stable: each member gets a sequence number when added, pages
// walk members in that order, and the cursor is the last sequence number
// returned. Removals never shift other members, so members present for the
// whole paging are returned exactly once; members added during paging are
// returned once too (they sort after every cursor already handed out).
package memory
