package pgqueue

import "strings"

// queries holds every statement with the table names interpolated once, at
// New, so the hot path builds no strings and pgx's statement cache sees the
// same text every time.
//
// Locks. Two kinds of transaction-scoped advisory locks, keyed by
// hashtextextended(name, installation seed):
//
//   - "topic:<topic>": publishers take it shared, the creation of a consumer
//     group exclusive. So a message is either fanned out to a new group by
//     its publisher or, if it was retained before the first group existed,
//     adopted by that group; never neither.
//   - "key:<group id>/<partition key>": serializes the decisions about one
//     key of a keyed group (claim, park, promote). Claims only try it and
//     skip a busy key; acks and dead-letters wait for it.
//
// A statement's snapshot is taken when it starts, so every lock is taken in
// a statement of its own before the statements that rely on it.
type queries struct {
	lockTopicsShared, lockTopic, lockKey string

	insert, notify string

	findGroup, createGroup, adoptRetained, anyGroup string

	claim, candidates, claimKeyed, nextDue string

	ack, promote, nack, deadLetter, release, renew string

	sweepAcked, sweepDead, repair string
}

func newQueries(tb tables, retain bool) queries {
	r := strings.NewReplacer("{m}", tb.messages, "{g}", tb.groups, "{dead}", tb.dead, "{acked}", tb.acked)
	q := queries{
		lockTopicsShared: `SELECT pg_advisory_xact_lock_shared(hashtextextended('topic:' || t, $2)) FROM unnest($1::text[]) AS t`,
		lockTopic:        `SELECT pg_advisory_xact_lock(hashtextextended('topic:' || $1, $2))`,
		lockKey:          `SELECT pg_advisory_xact_lock(hashtextextended('key:' || $1::bigint || '/' || $2, $3))`,

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
		claim: r.Replace(`UPDATE {m} m
SET attempt = m.attempt + 1, visible_at = now() + $3::bigint * interval '1 microsecond', claim = $4
FROM (
	SELECT id FROM {m} WHERE group_id = $1 AND visible_at <= now()
	ORDER BY visible_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
) c
WHERE m.id = c.id
RETURNING m.id, m.pkey, m.body, m.attempt`),

		// Keyed claim, step 1 (in a transaction): lock a window of visible
		// rows and try the key lock of each. Rows without a key need none.
		candidates: r.Replace(`SELECT c.id, c.pkey = '' OR pg_try_advisory_xact_lock(hashtextextended('key:' || $1::bigint || '/' || c.pkey, $3))
FROM (
	SELECT id, pkey FROM {m} WHERE group_id = $1 AND visible_at <= now()
	ORDER BY visible_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
) c`),

		// Keyed claim, step 2, with a snapshot taken after the key locks:
		// a candidate may go if its key has no delivered-but-unsettled row
		// (attempt > 0: in flight or waiting out a nack backoff) and it is
		// the key's first row in (ready_at, id) order; a row already
		// delivered goes again as it is. Other candidates are parked
		// (visible_at = infinity) so later claims do not scan them, and the
		// key's true head, if parked, is made visible. Settling a head
		// promotes the next parked row (promote).
		claimKeyed: r.Replace(`WITH cand AS MATERIALIZED (
	SELECT m.id, m.visible_at,
		CASE WHEN m.pkey = '' OR m.attempt > 0 THEN NULL ELSE (
			SELECT x.id FROM {m} x
			WHERE x.group_id = $1 AND x.pkey = m.pkey AND x.pkey <> '' AND x.attempt > 0 LIMIT 1
		) END AS busy,
		CASE WHEN m.pkey = '' OR m.attempt > 0 THEN m.id ELSE (
			SELECT x.id FROM {m} x
			WHERE x.group_id = $1 AND x.pkey = m.pkey AND x.pkey <> '' AND x.ready_at <= now()
			ORDER BY x.ready_at, x.id LIMIT 1
		) END AS head
	FROM {m} m
	WHERE m.id = ANY($2::bigint[]) AND m.group_id = $1 AND m.visible_at <= now()
),
verdict AS (
	SELECT id, visible_at, head, busy, busy IS NULL AND (head IS NULL OR head = id) AS go FROM cand
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
parked AS (
	UPDATE {m} m SET visible_at = 'infinity'
	FROM verdict v WHERE m.id = v.id AND NOT v.go
	RETURNING m.id
),
promoted AS (
	UPDATE {m} m SET visible_at = now()
	WHERE m.id IN (SELECT head FROM verdict WHERE busy IS NULL AND head <> id) AND m.visible_at = 'infinity'
	RETURNING m.id
),
changes AS (
	SELECT (SELECT count(*) FROM parked) + (SELECT count(*) FROM promoted) AS n
)
SELECT c.id, c.pkey, c.body, c.attempt, changes.n FROM claimed c, changes
UNION ALL
SELECT NULL, NULL, NULL, NULL, changes.n FROM changes WHERE NOT EXISTS (SELECT 1 FROM claimed)`),

		// After an empty claim: are there visible rows (held by another
		// claimer right now), and in how many microseconds does the next
		// hidden row (delayed, backing off, or claimed) become visible?
		nextDue: r.Replace(`SELECT
	EXISTS (SELECT 1 FROM {m} WHERE group_id = $1 AND visible_at <= now()),
	(SELECT (extract(epoch FROM min(visible_at) - now()) * 1000000)::bigint
	 FROM {m} WHERE group_id = $1 AND visible_at > now() AND visible_at < 'infinity')`),

		// Makes the first row of a key visible if it was parked. Run under
		// the key lock after the key's head was deleted.
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
