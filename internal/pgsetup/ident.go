package pgsetup

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// MaxIdentLen is PostgreSQL's NAMEDATALEN-1: longer names are silently
// truncated by the server, which could make two names collide.
const MaxIdentLen = 63

// CheckIdent accepts [A-Za-z_][A-Za-z0-9_]{0,62}. Schema and table names are
// interpolated into SQL (identifiers cannot be bind parameters), so this
// check, plus quoting, is what keeps configuration from becoming SQL.
func CheckIdent(name string) error {
	if name == "" {
		return fmt.Errorf("empty name")
	}
	if len(name) > MaxIdentLen {
		return fmt.Errorf("%q is %d characters long; PostgreSQL names hold at most %d", name, len(name), MaxIdentLen)
	}
	for i, r := range name {
		ok := r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || (i > 0 && '0' <= r && r <= '9')
		if !ok {
			return fmt.Errorf("%q: only letters, digits and _ are allowed, not starting with a digit", name)
		}
	}
	return nil
}

// CheckSchema accepts a schema name: a name CheckIdent accepts that does not
// start with pg_, which PostgreSQL reserves.
func CheckSchema(name string) error {
	if err := CheckIdent(name); err != nil {
		return err
	}
	if strings.HasPrefix(name, "pg_") {
		return fmt.Errorf("%q: names starting with pg_ are reserved by PostgreSQL", name)
	}
	return nil
}

// QuoteIdent quotes a name already accepted by CheckIdent (or built from
// such names). Quoting keeps the case as configured and lets names that are
// SQL keywords (e.g. "user") work.
func QuoteIdent(name string) string { return `"` + name + `"` }

// Qualified renders "schema"."name".
func Qualified(schema, name string) string { return QuoteIdent(schema) + "." + QuoteIdent(name) }

// IndexName derives an index name from its table and a suffix, shortened
// deterministically (with a hash of the full name, so two long table names
// sharing a prefix still get distinct indexes) when the server would
// otherwise truncate it.
func IndexName(table, suffix string) string {
	name := table + "_" + suffix
	if len(name) <= MaxIdentLen {
		return name
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	tag := strconv.FormatUint(uint64(h.Sum32()), 36)
	keep := MaxIdentLen - len(suffix) - len(tag) - 2
	return table[:keep] + "_" + tag + "_" + suffix
}
