// Package pgqueue is the PostgreSQL transport of weft: messages are rows,
// claimed with SELECT ... FOR UPDATE SKIP LOCKED, and waiting consumers are
// woken by LISTEN/NOTIFY, by polling, or both (see Mode).
//
// # Tables
//
// New creates, if missing, the schema (default "weft") and these tables
// (names prefixed with Config.TablePrefix, default "queue_"), under a
// transaction-scoped advisory lock so several processes can start at once:
//
//	groups          id, topic, name, keyed: one row per consumer group
//	messages        one row per message and group: group_id (NULL while the
//	                topic has no group), topic, pkey, body, ready_at,
//	                visible_at, attempt, claim, published_at
//	dead_letters    messages given up on, with the reason and attempt count
//	acked           acknowledged messages, kept for Config.Retention
//	schema_version  one row: the layout version
//
// Every group gets its own copy of each message, so groups never contend
// with each other and an ack is a single-row delete. A message published to
// a topic that has no group yet is kept and adopted by the topic's first
// group, as the memory transport does.
//
// # Claims, order and redelivery
//
// A row is deliverable while visible_at <= now() (the server's clock). A
// claim sets visible_at to now() + VisibilityTimeout, increments attempt and
// stamps the member's claim token. The claim is a lease: while the delivery
// is held (neither settled nor released), the Transport renews it every
// VisibilityTimeout/3, setting visible_at to now() + VisibilityTimeout again
// for all its held deliveries in one statement (none when nothing is held).
// A handler may thus run for as long as its process lives, while the claims
// of a process that died (killed, or cut off from the database) lapse
// within one VisibilityTimeout: the rows become visible again, and the next
// claim counts one more attempt. Ack deletes the row, Nack sets visible_at
// to now() + Backoff(attempt), and Subscription.Close and Transport.Close
// make the member's claimed rows visible at once. A row claimed more than
// MaxAttempts times without being settled is dead-lettered when it is
// claimed next. Settlements name the claim token and attempt, so a consumer
// whose claim lapsed cannot settle someone else's delivery; it gets
// ErrClaimLost, as does one whose renewal found the claim gone.
//
// On a keyed group a message joins its key's order at ready_at, the later of
// its publication and its DeliverAt, so a delayed message never holds its
// key back. A key's head, the first row in (ready_at, id) order, is the only
// one that may be claimed, and only while no row of the key has been
// delivered without being settled (in flight, or waiting out a nack's
// backoff). The decisions about a key are serialized by a transaction-scoped
// advisory lock on (group, key), which claims only try (a busy key is
// skipped, never waited for). Rows found waiting behind their key's head
// are parked (visible_at = infinity) so claims do not scan them again;
// settling the head makes the next one visible (and the periodic cleanup
// releases a key whose head was deleted by hand). A keyed claim is one
// transaction of three round trips; an unkeyed claim is a single UPDATE.
//
// # Wake-ups
//
// Publishing notifies the installation's channel with the topic (NOTIFY is
// delivered at commit, also for PublishTx); so do nacks and Close, for the
// other members of a group. Each Transport holds one dedicated listener
// connection, reconnects it with backoff when it is lost (and wakes every
// waiter afterwards, since notifications sent meanwhile are lost), and
// checks its health when it has been quiet. A waiting Receive holds no
// connection; it also wakes at the instant the next hidden row of its
// group becomes visible (a delayed message, a nack's backoff, a claim's
// visibility timeout), learnt when it last looked. Modes:
//
//   - Hybrid (default): notifications, plus a poll every PollInterval while
//     the listener is down or has heard nothing for FallbackThreshold.
//   - EventDrivenOnly: notifications and timers only; a waiting Receive also
//     looks once per VisibilityTimeout for claims of consumers that died
//     unseen.
//   - PollingOnly: no listener; a poll every PollInterval.
//
// Within one process, publishes, nacks and releases also wake the local
// subscriptions directly. Waiting Receive calls queue per group: an event
// wakes one of them, and one that claims a message wakes the next, so a
// burst of n messages costs about n+1 claims however many consumers wait.
// Publishing notifies in every mode, so transports of different modes can
// share the tables.
//
// # Transactions
//
// PublishTx inserts into the caller's pgx.Tx, so a storage write and the
// messages it produces commit or roll back together; TxDomain names the
// database in the form storage/postgres uses. Publishing takes a shared
// advisory lock per topic, which creating a new group of that topic waits
// for; publishers never wait for each other.
//
// # Limits
//
// PostgreSQL 12 or later is required.
// Topics, keys and group names are TEXT: valid UTF-8 without NUL. Bodies are
// BYTEA up to Config.MaxMessageSize (default 5 MiB). Delivery is
// at-least-once; envelopes are not deduplicated by ID. A group outlives its
// members and keeps receiving messages until its rows are deleted by hand.
// The driver uses pgx's prepared-statement cache and a dedicated LISTEN
// session, so put it behind PgBouncer only in session pooling mode.
package pgqueue
