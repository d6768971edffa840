package redis

import goredis "github.com/redis/go-redis/v9"

// writeScript applies a batch of versioned writes, all or none. Put, Delete
// and PutMany all go through it, so there is one piece of Lua to trust.
//
// A value lives in a hash {v: bytes, ver: decimal version}; one key holds
// both, so they expire together and never disagree.
//
//	KEYS[i]      the hash of write i
//	ARGV[3i-2]   its expected version, in decimal ("0": absent)
//	ARGV[3i-1]   "d" to delete, else the TTL in milliseconds ("0": none)
//	ARGV[3i]     the value (ignored for a delete)
//
// It returns nil when any expected version differs (nothing was changed),
// else the new version of each key (0 for deletes).
//
// Why this is atomic: Redis runs a script to completion before serving any
// other command, and it sees keys whose TTL has passed as absent. Every
// check happens before the first write, and a check is where the script can
// fail (WRONGTYPE if a foreign value sits under a key); once a script has
// written, Redis lets it finish even if the server reaches maxmemory
// meanwhile, so there is no half-applied batch.
//
// Versions are compared as strings: Lua numbers are doubles, which cannot
// hold every uint64, and HINCRBY writes canonical decimal, the same form
// strconv.FormatUint produces.
var writeScript = goredis.NewScript(`
local n = #KEYS
for i = 1, n do
  local cur = redis.call('HGET', KEYS[i], 'ver') or '0'
  if cur ~= ARGV[3*i-2] then
    return false
  end
end
local out = {}
for i = 1, n do
  local key, op = KEYS[i], ARGV[3*i-1]
  if op == 'd' then
    redis.call('DEL', key)
    out[i] = 0
  else
    redis.call('HSET', key, 'v', ARGV[3*i])
    out[i] = redis.call('HINCRBY', key, 'ver', 1)
    if op == '0' then
      redis.call('PERSIST', key)
    else
      redis.call('PEXPIRE', key, op)
    end
  end
end
return out
`)
