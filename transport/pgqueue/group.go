package pgqueue

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// groupInfo is a consumer group's row. Groups are never deleted: messages
// keep accumulating for a group while it has no members.
type groupInfo struct {
	id    int64
	name  string
	keyed bool
}

// joinGroup returns the group, creating it on first use. Every member of a
// group must agree on Keyed.
func (t *Transport) joinGroup(ctx context.Context, topic, name string, keyed bool) (groupInfo, error) {
	cacheKey := topic + "\x00" + name
	t.mu.Lock()
	g, ok := t.groups[cacheKey]
	t.mu.Unlock()
	if !ok {
		var err error
		if g, err = t.loadOrCreateGroup(ctx, topic, name, keyed); err != nil {
			return groupInfo{}, t.fail(ctx, fmt.Sprintf("subscribe to %q", topic), err)
		}
		t.mu.Lock()
		t.groups[cacheKey] = g
		t.mu.Unlock()
	}
	if g.keyed != keyed {
		return groupInfo{}, fmt.Errorf("pgqueue: subscribe to %q: group %q has Keyed=%t, cannot join it with Keyed=%t", topic, name, g.keyed, keyed)
	}
	return g, nil
}

// loadOrCreateGroup creates a group under the topic's exclusive lock, so no
// publish is half-way between reading the topic's groups and inserting. The
// first group of a topic adopts the messages retained until then.
func (t *Transport) loadOrCreateGroup(ctx context.Context, topic, name string, keyed bool) (groupInfo, error) {
	g := groupInfo{name: name}
	err := t.pool.QueryRow(ctx, t.q.findGroup, topic, name).Scan(&g.id, &g.keyed)
	if err == nil || !errors.Is(err, pgx.ErrNoRows) {
		return g, err
	}
	err = pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, t.q.lockTopic, topic, t.seed); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, t.q.createGroup, topic, name, keyed).Scan(&g.id)
		if errors.Is(err, pgx.ErrNoRows) {
			// Created meanwhile by another process.
			return tx.QueryRow(ctx, t.q.findGroup, topic, name).Scan(&g.id, &g.keyed)
		}
		if err != nil {
			return err
		}
		g.keyed = keyed
		tag, err := tx.Exec(ctx, t.q.adoptRetained, g.id, topic)
		if err == nil && tag.RowsAffected() > 0 {
			t.log.Debug("pgqueue: first group of a topic adopted retained messages", "topic", topic, "group", name, "messages", tag.RowsAffected())
		}
		return err
	})
	return g, err
}
