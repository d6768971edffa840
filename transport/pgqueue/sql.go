package pgqueue

import "strings"

// queries holds every statement with the table names interpolated once, at
// New, so the hot path builds no strings and pgx's statement cache sees the
// same text every time.
//
// Locks. Publishers take a transaction-scoped advisory lock "topic:<topic>"
// (keyed by hashtextextended(name, installation seed)) shared, the creation
// of a consumer group exclusive. So a message is either fanned out to a new
// group by its publisher or, if it was retained before the first group
// existed, adopted by that group; never neither.
//
// The decisions about one key of a keyed group (claim its head, park the
// rows behind it, promote the next) need no lock of their own: they rest on
// row locks and on READ COMMITTED taking a snapshot per statement. A claim
// judges rows it holds FOR UPDATE, and parks a row only while it holds the
// row that keeps it waiting (its key's head, or the key's delivered row)
// FOR KEY SHARE; a settlement deletes that row, which waits for the park to
// commit, and promotes in a statement of its own, whose snapshot therefore
// sees the park. Claims never wait for a lock (SKIP LOCKED): a row they
// cannot judge now is left visible and judged by a later claim.
type queries struct {
	lockTopicsShared, lockTopic string

	insert, notify string

	findGroup, createGroup, adoptRetained, anyGroup string

	claim, claimKeyed string

	ack, ackMany, promote, promoteMany, nack, deadLetter, release, renew string

	sweepAcked, sweepDead, repair string
}

// What a claim reports besides the rows it took, for the caller to decide
// when to look next (it replaces a query after every claim that found
// nothing). claimMore: are there visible rows the claim did not lock (held
// by another claimer, or beyond its window), so that another member may
// find work now? claimDue: in how many microseconds does the next hidden
// row (delayed, backing off, or claimed) become visible? Both read the
// statement's snapshot.
const (
	claimMore = `EXISTS (SELECT 1 FROM {m} WHERE group_id = $1 AND visible_at <= now() AND id NOT IN (SELECT id FROM cand))`
	claimDue  = `(SELECT (extract(epoch FROM min(visible_at) - now()) * 1000000)::bigint
	FROM {m} WHERE group_id = $1 AND visible_at > now() AND visible_at < 'infinity')`
)

func newQueries(tb tables, retain bool) queries {
	r := strings.NewReplacer("{m}", tb.messages, "{g}", tb.groups, "{dead}", tb.dead, "{acked}", tb.acked)
	q := queries{
		lockTopicsShared: `SELECT pg_advisory_xact_lock_shared(hashtextextended('topic:' || t, $2)) FROM unnest($1::text[]) AS t`,
		lockTopic:        `SELECT pg_advisory_xact_lock(hashtextextended('topic:' || $1, $2))`,

		// One row per message and consumer group, or one row without a
		// group while the topic has none (retained for the first group).
		// ready_at is when the message joins its key's order: now, or its
		// DeliverAt if later; ids break ties in publish order.
		insert: r.Replace(`INSERT INTO {m} (group_id, topic, pkey, body, ready_at, visible_at)
SELECT g.id, v.topic, v.pkey, v.body, v.ready, v.ready
FROM (
	SELECT u.topic, u.pkey, u.body, greatest(now(), coalesce(u.deliver_at, now())) AS ready, u.ord
	FROM unnest($1::text[], $2::text[], $3::bytea[], $4::timestamptz[]) WITH ORDINALITY AS u(topic, pkey, body, deliver_at, ord)
) v
CROSS JOIN LATERAL (
	SELECT id FROM {g} WHERE topic = v.topic
	UNION ALL
	SELECT NULL WHERE NOT EXISTS (SELECT 1 FROM {g} WHERE topic = v.topic)
) g
ORDER BY v.ord, g.id`),

		notify: `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`,

		findGroup:   r.Replace(`SELECT id, keyed FROM {g} WHERE topic = $1 AND name = $2`),
		anyGroup:    r.Replace(`SELECT EXISTS (SELECT 1 FROM {g} WHERE topic = $1)`),
		createGroup: r.Replace(`INSERT INTO {g} (topic, name, keyed) VALUES ($1, $2, $3) ON CONFLICT (topic, name) DO NOTHING RETURNING id`),
		// Runs under the exclusive topic lock, right after the insert.
		adoptRetained: r.Replace(`UPDATE {m} SET group_id = $1
WHERE topic = $2 AND group_id IS NULL AND NOT EXISTS (SELECT 1 FROM {g} WHERE topic = $2 AND id <> $1)`),

		// Unordered claim: the oldest visible rows, skipping rows another
		// claimer holds. A claim hides the row for the visibility timeout.
		// The last columns tell the caller what is left (see claimInfo).
		claim: r.Replace(`WITH cand AS MATERIALIZED (
	SELECT id FROM {m} WHERE group_id = $1 AND visible_at <= now()
	ORDER BY visible_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
),
claimed AS (
	UPDATE {m} m
	SET attempt = m.attempt + 1, visible_at = now() + $3::bigint * interval '1 microsecond', claim = $4
	FROM cand WHERE m.id = cand.id
	RETURNING m.id, m.pkey, m.body, m.attempt
),
info AS (
	SELECT 0::bigint AS changes, 0::bigint AS unjudged, ` + claimMore + ` AS more, ` + claimDue + ` AS due
)
SELECT c.id, c.pkey, c.body, c.attempt, i.changes, i.unjudged, i.more, i.due FROM claimed c, info i
UNION ALL
SELECT NULL, NULL, NULL, NULL, i.changes, i.unjudged, i.more, i.due FROM info i WHERE NOT EXISTS (SELECT 1 FROM claimed)`),

		// Keyed claim, in one statement. It locks a window of visible rows
		// (cand) and judges each: a row may go if its key has no
		// delivered-but-unsettled row (attempt > 0: in flight or waiting
		// out a nack's backoff; busy) and it is the key's first row in
		// (ready_at, id) order (head); a row already delivered goes again
		// as it is, and so does a row without a key. The row's own columns
		// are those of the locked version, the other rows' those of the
		// statement's snapshot: a row another member claimed since is no
		// longer visible, so it is not in cand, and the key's head in the
		// snapshot is the row that had to go first.
		//
		// A row that may not go is parked (visible_at = infinity) so later
		// claims do not scan it again, but only while the row that keeps it
		// waiting (busy, else head) is locked FOR KEY SHARE (held; rows of
		// cand are locked already): the settlement that deletes that row
		// then waits for this statement to commit, and its promote sees
		// the park. A row whose blocker is locked by someone else right now
		// is left visible (unjudged: the caller looks again shortly). The
		// key's true head, if found parked with nothing in flight (which
		// only a row deleted by hand leaves behind), is made visible.
		claimKeyed: r.Replace(`WITH cand AS MATERIALIZED (
	SELECT id, pkey, attempt, visible_at FROM {m}
	WHERE group_id = $1 AND visible_at <= now()
	ORDER BY visible_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
),
judged AS MATERIALIZED (
	SELECT c.id, c.visible_at,
		CASE WHEN c.pkey = '' OR c.attempt > 0 THEN NULL ELSE (
			SELECT x.id FROM {m} x
			WHERE x.group_id = $1 AND x.pkey = c.pkey AND x.pkey <> '' AND x.attempt > 0 LIMIT 1
		) END AS busy,
		CASE WHEN c.pkey = '' OR c.attempt > 0 THEN c.id ELSE (
			SELECT x.id FROM {m} x
			WHERE x.group_id = $1 AND x.pkey = c.pkey AND x.pkey <> '' AND x.ready_at <= now()
			ORDER BY x.ready_at, x.id LIMIT 1
		) END AS head
	FROM cand c
),
verdict AS MATERIALIZED (
	SELECT id, visible_at, head, busy, coalesce(busy, head) AS blocker,
		busy IS NULL AND (head IS NULL OR head = id) AS go
	FROM judged
),
pick AS (
	SELECT id FROM verdict WHERE go ORDER BY visible_at, id LIMIT $3
),
claimed AS (
	UPDATE {m} m
	SET attempt = m.attempt + 1, visible_at = now() + $4::bigint * interval '1 microsecond', claim = $5
	FROM pick WHERE m.id = pick.id
	RETURNING m.id, m.pkey, m.body, m.attempt
),
held AS MATERIALIZED (
	SELECT x.id FROM {m} x
	WHERE x.id IN (SELECT blocker FROM verdict WHERE NOT go)
		AND x.id NOT IN (SELECT id FROM cand) AND x.visible_at < 'infinity'
	FOR KEY SHARE SKIP LOCKED
),
parked AS (
	UPDATE {m} m SET visible_at = 'infinity'
	FROM verdict v
	WHERE m.id = v.id AND NOT v.go
		AND (v.blocker IN (SELECT id FROM cand) OR v.blocker IN (SELECT id FROM held))
	RETURNING m.id
),
promotable AS MATERIALIZED (
	SELECT x.id FROM {m} x
	WHERE x.id IN (SELECT head FROM verdict WHERE busy IS NULL AND head <> id) AND x.visible_at = 'infinity'
	FOR UPDATE SKIP LOCKED
),
promoted AS (
	UPDATE {m} m SET visible_at = now() FROM promotable p WHERE m.id = p.id
	RETURNING m.id
),
info AS (
	SELECT (SELECT count(*) FROM parked) + (SELECT count(*) FROM promoted) AS changes,
		(SELECT count(*) FROM verdict WHERE NOT go) - (SELECT count(*) FROM parked) AS unjudged,
		(SELECT count(*) FROM verdict WHERE go) > (SELECT count(*) FROM claimed) OR ` + claimMore + ` AS more,
		` + claimDue + ` AS due
)
SELECT c.id, c.pkey, c.body, c.attempt, i.changes, i.unjudged, i.more, i.due FROM claimed c, info i
UNION ALL
SELECT NULL, NULL, NULL, NULL, i.changes, i.unjudged, i.more, i.due FROM info i WHERE NOT EXISTS (SELECT 1 FROM claimed)`),

		// Makes the first row of a key visible if it was parked. Run after
		// the key's head was deleted, in a statement of its own (see
		// queries).
		promote: r.Replace(`WITH p AS (
	UPDATE {m} m SET visible_at = now()
	WHERE m.id = (
		SELECT x.id FROM {m} x
		WHERE x.group_id = $1 AND x.pkey = $2 AND x.pkey <> '' AND x.ready_at <= now()
		ORDER BY x.ready_at, x.id LIMIT 1
	) AND m.visible_at = 'infinity'
	RETURNING m.id
)
SELECT pg_notify($3, $4) FROM p`),

		// Every settlement names the claim and the attempt it settles, so a
		// consumer whose claim expired cannot settle the next delivery.
		nack: r.Replace(`WITH u AS (
	UPDATE {m} SET visible_at = now() + $4::bigint * interval '1 microsecond', claim = NULL
	WHERE id = $1 AND claim = $2 AND attempt = $3
	RETURNING 1
)
SELECT pg_notify($5, $6) FROM u`),

		deadLetter: r.Replace(`WITH d AS (
	DELETE FROM {m} WHERE id = $1 AND claim = $2 AND attempt = $3
	RETURNING topic, pkey, body, published_at
)
INSERT INTO {dead} (topic, group_name, pkey, body, reason, attempts, published_at)
SELECT topic, $4, pkey, body, $5, $6, published_at FROM d`),

		// Renews the leases of a transport's held claims: each (id, claim,
		// attempt) still in place is hidden for one more visibility timeout.
		// SKIP LOCKED: a row locked by someone else is being settled,
		// released or (its claim having expired) claimed again; it is
		// neither waited for nor renewed this round. Returns the ordinals
		// of the claims gone in the statement's snapshot, which the
		// renewal cannot bring back: a claim is never re-created.
		renew: r.Replace(`WITH l AS (
	SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[]) WITH ORDINALITY AS l(id, claim, attempt, n)
),
renewed AS (
	UPDATE {m} m SET visible_at = now() + $4::bigint * interval '1 microsecond'
	FROM (
		SELECT m.id FROM {m} m JOIN l ON m.id = l.id AND m.claim = l.claim AND m.attempt = l.attempt
		FOR UPDATE OF m SKIP LOCKED
	) c
	WHERE m.id = c.id
	RETURNING 1
)
SELECT l.n FROM l
WHERE NOT EXISTS (SELECT 1 FROM {m} m WHERE m.id = l.id AND m.claim = l.claim AND m.attempt = l.attempt)`),

		release: r.Replace(`WITH u AS (
	UPDATE {m} SET visible_at = now(), claim = NULL WHERE claim = $1
	RETURNING 1
)
SELECT pg_notify($2, $3) FROM (SELECT 1 FROM u LIMIT 1) x`),

		// Safety net, run with the cleanup: a key whose rows are all parked
		// (which the locking above never leaves behind, but a row deleted
		// by hand can) gets its first row made visible. Unparking is always
		// safe, since claims judge heads under the key lock anyway; SKIP
		// LOCKED keeps it from waiting for (or deadlocking with) claims.
		repair: r.Replace(`WITH heads AS (
	SELECT DISTINCT ON (p.group_id, p.pkey) p.id, p.group_id, p.pkey
	FROM {m} p WHERE p.visible_at = 'infinity'
	ORDER BY p.group_id, p.pkey, p.ready_at, p.id
),
stranded AS (
	SELECT m.id FROM {m} m JOIN heads h ON m.id = h.id
	WHERE NOT EXISTS (
		SELECT 1 FROM {m} x
		WHERE x.group_id = h.group_id AND x.pkey = h.pkey AND x.pkey <> '' AND x.ready_at <= now() AND x.visible_at < 'infinity'
	)
	FOR UPDATE OF m SKIP LOCKED
)
UPDATE {m} m SET visible_at = now() FROM stranded s
WHERE m.id = s.id AND m.visible_at = 'infinity'
RETURNING m.topic`),

		sweepAcked: r.Replace(`DELETE FROM {acked} WHERE id IN (
	SELECT id FROM {acked} WHERE acked_at < now() - $1::bigint * interval '1 microsecond' ORDER BY acked_at LIMIT $2
)`),
		sweepDead: r.Replace(`DELETE FROM {dead} WHERE id IN (
	SELECT id FROM {dead} WHERE dead_at < now() - $1::bigint * interval '1 microsecond' ORDER BY dead_at LIMIT $2
)`),
	}
	if retain {
		q.ack = r.Replace(`WITH d AS (
	DELETE FROM {m} WHERE id = $1 AND claim = $2 AND attempt = $3
	RETURNING id, group_id, topic, pkey, body, attempt, published_at
)
INSERT INTO {acked} (id, group_id, topic, pkey, body, attempts, published_at)
SELECT id, group_id, topic, pkey, body, attempt, published_at FROM d`)
	} else {
		q.ack = r.Replace(`DELETE FROM {m} WHERE id = $1 AND claim = $2 AND attempt = $3`)
	}
	return q
}
