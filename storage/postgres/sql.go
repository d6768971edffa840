package postgres

import (
	"strings"

	"github.com/weftio/weft/internal/pgsetup"
)

// queries holds every statement with the configured schema and tables
// interpolated once, at New, so the hot path does no string building and
// pgx's statement cache sees the same text every time.
type queries struct {
	get, getMany                string
	insert, update              string
	deleteVersion, deleteAbsent string
	claimAbsent, releaseClaim   string
	sweep                       string

	add, remove, page string
}

// live is the condition every read and versioned write applies: a row whose
// deadline has passed does not exist. It uses the server's clock so every
// client agrees, whatever its own clock says.
const live = `(expires_at IS NULL OR expires_at > now())`

// expiresAt computes the deadline from a TTL in microseconds passed as $3
// (0: no deadline), again on the server's clock.
const expiresAt = `CASE WHEN $3::bigint > 0 THEN now() + $3::bigint * interval '1 microsecond' END`

func newQueries(c Config) queries {
	kv := pgsetup.Qualified(c.Schema, c.KeyValueTable)
	ks := pgsetup.Qualified(c.Schema, c.KeySetTable)
	r := strings.NewReplacer("{kv}", kv, "{ks}", ks, "{live}", live, "{expires}", expiresAt)
	return queries{
		get: r.Replace(`SELECT value, version FROM {kv} WHERE key = $1 AND {live}`),

		getMany: r.Replace(`SELECT key, value, version FROM {kv} WHERE key = ANY($1::text[]) AND {live}`),

		// Expected 0 means "absent or expired". One statement covers both:
		// a missing key is inserted; an existing row is overwritten only when
		// expired (starting over at version 1). A live row leaves the WHERE
		// false, so nothing is returned: a conflict. ON CONFLICT waits for a
		// concurrent inserter of the same key, so two callers cannot both win.
		insert: r.Replace(`INSERT INTO {kv} AS t (key, value, version, expires_at, updated_at)
VALUES ($1, $2, 1, {expires}, now())
ON CONFLICT (key) DO UPDATE
SET value = EXCLUDED.value, version = 1, expires_at = EXCLUDED.expires_at, updated_at = now()
WHERE t.expires_at IS NOT NULL AND t.expires_at <= now()
RETURNING version`),

		// Expected > 0: the row lock taken by UPDATE makes check-and-bump
		// atomic; a concurrent writer's commit is re-checked against the
		// WHERE (READ COMMITTED re-evaluation), so a lost update is
		// impossible. An expired row has version 0 and never matches.
		update: r.Replace(`UPDATE {kv}
SET value = $2, version = version + 1, expires_at = {expires}, updated_at = now()
WHERE key = $1 AND version = $4 AND {live}
RETURNING version`),

		deleteVersion: r.Replace(`DELETE FROM {kv} WHERE key = $1 AND version = $2 AND {live}`),

		// Delete with expected 0 succeeds when the key is absent; an expired
		// row is absent, so it is reclaimed on the way. Both parts run on
		// one snapshot, so the EXISTS still sees the row the CTE deletes and
		// filters it out by its deadline, as intended.
		deleteAbsent: r.Replace(`WITH expired AS (DELETE FROM {kv} WHERE key = $1 AND expires_at <= now())
SELECT EXISTS (SELECT 1 FROM {kv} WHERE key = $1 AND {live})`),

		// Inside PutMany a "must be absent" check has to hold until commit,
		// or two batches could each see the other's new key as absent (write
		// skew). A plain SELECT locks nothing, so the check inserts a
		// placeholder (version 0, never committed: releaseClaim deletes it in
		// the same transaction), which holds the key's unique-index slot
		// against concurrent inserters exactly like a real insert would.
		claimAbsent: r.Replace(`INSERT INTO {kv} AS t (key, value, version, expires_at, updated_at)
VALUES ($1, ''::bytea, 0, NULL, now())
ON CONFLICT (key) DO UPDATE
SET value = ''::bytea, version = 0, expires_at = NULL, updated_at = now()
WHERE t.expires_at IS NOT NULL AND t.expires_at <= now()
RETURNING version`),
		releaseClaim: r.Replace(`DELETE FROM {kv} WHERE key = $1 AND version = 0`),

		// Reclaims a bounded batch of expired rows. SKIP LOCKED leaves rows
		// a writer holds (perhaps reviving them) alone, and the outer
		// condition re-checks the deadline on the locked row.
		sweep: r.Replace(`DELETE FROM {kv} WHERE key IN (
	SELECT key FROM {kv} WHERE expires_at <= now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED
) AND expires_at <= now()`),

		add:    r.Replace(`INSERT INTO {ks} (key, member) VALUES ($1, $2) ON CONFLICT (key, member) DO NOTHING`),
		remove: r.Replace(`DELETE FROM {ks} WHERE key = $1 AND member = $2`),
		page:   r.Replace(`SELECT id, member FROM {ks} WHERE key = $1 AND id > $2 ORDER BY id LIMIT $3`),
	}
}
