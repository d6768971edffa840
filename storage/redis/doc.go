// Package redis is the Redis storage driver: one Store that is both a
// storage.KeyValue and a storage.KeySet, built on go-redis.
//
// # Layout
//
// Every key starts with Config.KeyPrefix ("weft:" by default), so several
// deployments or test runs can share one database:
//
//	<prefix>kv:<key>    a hash {v: value, ver: version}
//	<prefix>set:<key>   a sorted set, every member with score 0
//
// Keys and values are binary-safe; nothing is matched by pattern.
//
// # Atomicity
//
// Put, Delete and PutMany run one Lua script (EVALSHA, falling back to EVAL
// after a server restart empties the script cache) that checks every
// expected version and only then writes, in a single run that no other
// command can interleave with. TTLs are set by PEXPIRE in the same run, and
// a write without TTL clears an earlier one with PERSIST. An expired key is
// absent, so its version starts over at 1. There is no WATCH/MULTI retry
// loop: a conflict costs one round trip and is reported at once.
//
// # Paging
//
// Sets are paged in byte order with ZRANGEBYLEX from the last member
// returned; see Page. Members present for the whole paging come back exactly
// once, and pages are full until the last one.
//
// # Failures
//
// Calls are bounded by the read and write timeouts, which a ctx deadline
// shortens. A ctx cancelled before a call stops it before anything is
// sent; one cancelled while the call waits for its reply ends the wait at
// the latest after readTimeout (go-redis does not interrupt a read).
//
// go-redis retries a call a few times on a broken connection, reconnecting
// as needed, so a server restart shows as errors while it is down and needs
// nothing afterwards. A write retried after its reply was lost sees its own
// new version and reports storage.ErrVersionConflict; callers reload, as
// for any conflict.
//
// # Requirements
//
// A single Redis server (or a replicated primary), version 5 or later; Redis
// Cluster is not supported, because a PutMany spans keys of several slots.
// Run it with maxmemory-policy noeviction: an allkeys-* policy would
// silently evict workflow state, and a volatile-* one may drop keys written
// with a TTL before their time.
package redis
