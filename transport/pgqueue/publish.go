package pgqueue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/transport"
)

// outgoing is one message ready to insert.
type outgoing struct {
	topic, key string
	body       []byte
	deliverAt  time.Time // zero: now
}

// Publish inserts every envelope in one transaction: all are published or
// none. The whole batch is checked first, so an invalid or oversized
// envelope leaves nothing published. Unlike the memory transport, pgqueue
// does not drop envelopes whose ID was published before.
func (t *Transport) Publish(ctx context.Context, envs ...core.Envelope) error {
	if !t.ops.enter() {
		return transport.ErrClosed
	}
	defer t.ops.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	msgs, err := t.encode(envs)
	if err != nil || len(msgs) == 0 {
		return err
	}
	return t.send(ctx, msgs)
}

// PublishRaw inserts a copy of body for immediate delivery, without
// validation.
func (t *Transport) PublishRaw(ctx context.Context, topic, key string, body []byte) error {
	if !t.ops.enter() {
		return transport.ErrClosed
	}
	defer t.ops.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := t.check(topic, key, len(body)); err != nil {
		return fmt.Errorf("pgqueue: publish raw: %w", err)
	}
	return t.send(ctx, []outgoing{{topic: topic, key: key, body: slices.Clone(body)}})
}

// PublishTx implements transport.TxPublisher. tx must be a pgx.Tx on the
// database of TxDomain (a *pgxpool.Tx qualifies); the envelopes become
// visible when it commits and vanish if it rolls back. Their NOTIFY is sent
// at commit too. Publishing takes a shared lock on each topic that the
// creation of a new consumer group of that topic waits for, so keep such
// transactions short.
func (t *Transport) PublishTx(ctx context.Context, tx any, envs ...core.Envelope) error {
	ptx, ok := tx.(pgx.Tx)
	if !ok || ptx == nil {
		return fmt.Errorf("pgqueue: publish in transaction: tx is a %T, want a pgx.Tx of a connection to %s", tx, t.domain)
	}
	if !t.ops.enter() {
		return transport.ErrClosed
	}
	defer t.ops.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	msgs, err := t.encode(envs)
	if err != nil || len(msgs) == 0 {
		return err
	}
	b := &pgx.Batch{}
	t.queuePublish(b, msgs)
	if err := execAll(ptx.SendBatch(ctx, b), b.Len()); err != nil {
		return t.fail(ctx, "publish in transaction", err)
	}
	return nil
}

// encode validates and encodes a batch.
func (t *Transport) encode(envs []core.Envelope) ([]outgoing, error) {
	msgs := make([]outgoing, 0, len(envs))
	for i, e := range envs {
		body, err := core.EncodeEnvelope(e)
		if err != nil {
			return nil, fmt.Errorf("pgqueue: publish envelope %d of %d: %w", i+1, len(envs), err)
		}
		if err := t.check(e.Topic, e.PartitionKey, len(body)); err != nil {
			return nil, fmt.Errorf("pgqueue: publish envelope %s: %w", e.ID, err)
		}
		msgs = append(msgs, outgoing{topic: e.Topic, key: e.PartitionKey, body: body, deliverAt: e.DeliverAtTime()})
	}
	return msgs, nil
}

// check rejects what the tables cannot hold, before anything is sent, with
// an error that says why.
func (t *Transport) check(topic, key string, size int) error {
	if topic == "" {
		return errors.New("empty topic")
	}
	if err := checkText("topic", topic); err != nil {
		return err
	}
	if err := checkText("partition key", key); err != nil {
		return err
	}
	if size > t.cfg.MaxMessageSize {
		return fmt.Errorf("%w: %d bytes for topic %q exceeds the %d byte limit (Config.MaxMessageSize)", ErrMessageTooLarge, size, topic, t.cfg.MaxMessageSize)
	}
	return nil
}

// checkText: topics and keys are PostgreSQL TEXT, which holds valid UTF-8
// without NUL bytes.
func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not valid UTF-8", what, s)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s %q contains a NUL byte", what, s)
	}
	return nil
}

// queuePublish adds the statements that publish msgs to b: the shared topic
// locks (in sorted order), the insert, and the notifications, which
// PostgreSQL delivers when the transaction commits.
func (t *Transport) queuePublish(b *pgx.Batch, msgs []outgoing) {
	topics := make([]string, len(msgs))
	keys := make([]string, len(msgs))
	bodies := make([][]byte, len(msgs))
	at := make([]pgtype.Timestamptz, len(msgs))
	for i, m := range msgs {
		topics[i], keys[i], bodies[i] = m.topic, m.key, m.body
		if !m.deliverAt.IsZero() {
			at[i] = pgtype.Timestamptz{Time: ceilMicro(m.deliverAt), Valid: true}
		}
	}
	distinct := slices.Compact(slices.Sorted(slices.Values(topics)))
	wakes := make([]string, len(distinct))
	for i, tp := range distinct {
		wakes[i] = wakeKey(tp)
	}
	b.Queue(t.q.lockTopicsShared, distinct, t.seed)
	b.Queue(t.q.insert, topics, keys, bodies, at)
	b.Queue(t.q.notify, t.channel, wakes)
}

// send publishes msgs in a transaction of their own: the statements go in
// one round trip, which PostgreSQL runs as one implicit transaction.
func (t *Transport) send(ctx context.Context, msgs []outgoing) error {
	ctx, stop := t.bind(ctx)
	defer stop()
	var err error
	for attempt := 1; ; attempt++ {
		b := &pgx.Batch{}
		t.queuePublish(b, msgs)
		err = execAll(t.pool.SendBatch(ctx, b), b.Len())
		// Nothing reached the server (e.g. a pooled connection the server
		// had closed): safe to send again.
		if err == nil || attempt == 3 || !pgconn.SafeToRetry(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return t.fail(ctx, "publish", err)
	}
	for _, m := range msgs {
		t.signals.wakeTopic(wakeKey(m.topic))
	}
	return nil
}

// execAll reads the results of n queued statements and closes br.
func execAll(br pgx.BatchResults, n int) error {
	for range n {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return err
		}
	}
	return br.Close()
}

// ceilMicro rounds up to PostgreSQL's microsecond resolution, so a delayed
// message is never visible before its instant.
func ceilMicro(t time.Time) time.Time {
	r := t.Truncate(time.Microsecond)
	if r.Before(t) {
		r = r.Add(time.Microsecond)
	}
	return r
}
