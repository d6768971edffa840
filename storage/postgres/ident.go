package postgres

import (
	"fmt"
	"hash/fnv"
	"strconv"
)

// maxIdentLen is PostgreSQL's NAMEDATALEN-1: longer names are silently
// truncated by the server, which could make two names collide.
const maxIdentLen = 63

// checkIdent accepts [A-Za-z_][A-Za-z0-9_]{0,62}. Schema and table names are
// interpolated into SQL (identifiers cannot be bind parameters), so this
// check, plus quoting, is what keeps configuration from becoming SQL.
func checkIdent(name string) error {
	if name == "" {
		return fmt.Errorf("empty name")
	}
	if len(name) > maxIdentLen {
		return fmt.Errorf("%q is %d characters long; PostgreSQL names hold at most %d", name, len(name), maxIdentLen)
	}
	for i, r := range name {
		ok := r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || (i > 0 && '0' <= r && r <= '9')
		if !ok {
			return fmt.Errorf("%q: only letters, digits and _ are allowed, not starting with a digit", name)
		}
	}
	return nil
}

// quoteIdent quotes a name already accepted by checkIdent. Quoting keeps the
// case as configured and lets names that are SQL keywords (e.g. "user")
// work.
func quoteIdent(name string) string { return `"` + name + `"` }

// qualified renders "schema"."name".
func qualified(schema, name string) string { return quoteIdent(schema) + "." + quoteIdent(name) }

// indexName derives an index name from its table and a suffix, shortened
// deterministically (with a hash of the full name, so two long table names
// sharing a prefix still get distinct indexes) when the server would
// otherwise truncate it.
func indexName(table, suffix string) string {
	name := table + "_" + suffix
	if len(name) <= maxIdentLen {
		return name
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	tag := strconv.FormatUint(uint64(h.Sum32()), 36)
	keep := maxIdentLen - len(suffix) - len(tag) - 2
	return table[:keep] + "_" + tag + "_" + suffix
}

// lockKey is the advisory-lock key under which schema migrations run, one
// per schema so unrelated schemas in one database never wait for each
// other.
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("weft/storage/postgres schema migration\x00" + schema))
	return int64(h.Sum64())
}
