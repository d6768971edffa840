package knative

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/storage"
)

// delays keeps delayed envelopes in storage until they are due.
//
// Each envelope is a record under msg:<topic>:<id>, listed in the set of
// the minute it is due (minute:<unix minute>), which is listed in the set
// of its hour (hour:<unix hour>), which is listed in hours. A publisher
// writes them in that order (record first), so a crash part way leaves a
// record a retried publish completes, never a listing without a record
// that matters. The pump sweeps the current and the previous hour on each
// tick, and every hour listed (those left over while no process ran) every
// indexEvery.
type delays struct {
	t      *Transport
	kv     storage.KeyValue
	ks     storage.KeySet
	prefix string

	mu        sync.Mutex
	hours     []int64
	refreshed time.Time
}

// indexEvery is how often the pump rereads the list of hours.
const indexEvery = 30 * time.Second

// record is a kept envelope.
type record struct {
	Env   json.RawMessage `json:"env"`
	Due   int64           `json:"due"`             // unix ms
	Claim int64           `json:"claim,omitempty"` // unix ms: a poster holds it until then
}

func (d *delays) msgKey(env core.Envelope) string {
	return d.prefix + "msg:" + env.Topic + ":" + env.ID
}
func (d *delays) minuteKey(m int64) string { return d.prefix + "minute:" + strconv.FormatInt(m, 10) }
func (d *delays) hourKey(h int64) string   { return d.prefix + "hour:" + strconv.FormatInt(h, 10) }
func (d *delays) hoursKey() string         { return d.prefix + "hours" }

// add keeps env until due.
func (d *delays) add(ctx context.Context, env core.Envelope, due time.Time) error {
	b, err := core.EncodeEnvelope(env)
	if err != nil {
		return err
	}
	rec, err := json.Marshal(record{Env: b, Due: due.UnixMilli()})
	if err != nil {
		return err
	}
	key := d.msgKey(env)
	if _, err := d.kv.Put(ctx, key, rec, 0, 0); err != nil && !errors.Is(err, storage.ErrVersionConflict) {
		// A conflict is the same message kept already: its listings are
		// completed below all the same.
		return fmt.Errorf("knative: keep delayed envelope %s: %w", env.ID, err)
	}
	m := due.Unix() / 60
	h := m / 60
	for _, w := range []struct{ set, member string }{
		{d.minuteKey(m), key},
		{d.hourKey(h), strconv.FormatInt(m, 10)},
		{d.hoursKey(), strconv.FormatInt(h, 10)},
	} {
		if err := d.ks.Add(ctx, w.set, []byte(w.member)); err != nil {
			return fmt.Errorf("knative: list delayed envelope %s: %w", env.ID, err)
		}
	}
	return nil
}

// pump sweeps for due envelopes until the transport closes.
func (d *delays) pump() {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-d.t.done
		cancel()
	}()
	defer cancel()
	poll := d.t.cfg.DelayPoll
	for {
		// Jitter, so the replicas of a role do not sweep in step.
		wait := poll/2 + rand.N(poll)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if err := d.sweep(ctx); err != nil && ctx.Err() == nil {
			d.t.log.Warn("knative: sweeping delayed messages failed; trying again", "err", err)
		}
	}
}

// sweep posts every kept envelope that is due.
func (d *delays) sweep(ctx context.Context) error {
	now := d.t.cfg.Now()
	cur := now.Unix() / 3600
	hours := []int64{cur - 1, cur}
	d.mu.Lock()
	stale := now.Sub(d.refreshed) >= indexEvery
	d.mu.Unlock()
	if stale {
		listed, err := d.members(ctx, d.hoursKey())
		if err != nil {
			return err
		}
		var hs []int64
		for _, s := range listed {
			if h, err := strconv.ParseInt(s, 10, 64); err == nil {
				hs = append(hs, h)
			} else {
				d.t.log.Error("knative: a delayed-message hour is not a number; removing it", "set", d.hoursKey(), "member", s)
				_ = d.ks.Remove(ctx, d.hoursKey(), []byte(s))
			}
		}
		d.mu.Lock()
		d.hours, d.refreshed = hs, now
		d.mu.Unlock()
	}
	d.mu.Lock()
	hours = append(hours, d.hours...)
	d.mu.Unlock()
	slices.Sort(hours)
	var errs []error
	for _, h := range slices.Compact(hours) {
		if h <= cur {
			if err := d.sweepHour(ctx, h, now); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// sweepHour sweeps the due minutes of hour h and drops the hour from the
// list once it has none.
func (d *delays) sweepHour(ctx context.Context, h int64, now time.Time) error {
	minutes, err := d.members(ctx, d.hourKey(h))
	if err != nil {
		return err
	}
	if len(minutes) == 0 {
		return d.unlist(ctx, d.hoursKey(), strconv.FormatInt(h, 10), d.hourKey(h))
	}
	var errs []error
	for _, s := range minutes {
		m, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			d.t.log.Error("knative: a delayed-message minute is not a number; removing it", "set", d.hourKey(h), "member", s)
			_ = d.ks.Remove(ctx, d.hourKey(h), []byte(s))
			continue
		}
		if m*60 > now.Unix() {
			continue // not due yet
		}
		empty, err := d.sweepMinute(ctx, m, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if empty {
			if err := d.unlist(ctx, d.hourKey(h), s, d.minuteKey(m)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// unlist removes member from set once the set it names (child) is empty,
// and lists it again if child filled meanwhile (a publisher lists the
// child's member before the child itself).
func (d *delays) unlist(ctx context.Context, set, member, child string) error {
	if err := d.ks.Remove(ctx, set, []byte(member)); err != nil {
		return err
	}
	again, _, err := d.ks.Page(ctx, child, "", 1)
	if err != nil || len(again) == 0 {
		return err
	}
	return d.ks.Add(ctx, set, []byte(member))
}

// sweepMinute posts the due envelopes listed for minute m; empty reports
// that it lists none any more.
func (d *delays) sweepMinute(ctx context.Context, m int64, now time.Time) (empty bool, err error) {
	set := d.minuteKey(m)
	keys, err := d.members(ctx, set)
	if err != nil {
		return false, err
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		left = len(keys)
		sem  = make(chan struct{}, 16)
	)
	for _, key := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if done := d.post(ctx, set, key, now); done {
				mu.Lock()
				left--
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return left == 0, nil
}

// post claims, posts and removes one kept envelope if it is due; done
// reports that it is no longer kept.
func (d *delays) post(ctx context.Context, set, key string, now time.Time) (done bool) {
	val, ver, err := d.kv.Get(ctx, key)
	if err != nil {
		d.t.log.Warn("knative: reading a delayed message failed", "key", key, "err", err)
		return false
	}
	if ver == 0 { // posted by another process, which had not unlisted it yet
		return d.ks.Remove(ctx, set, []byte(key)) == nil
	}
	var rec record
	if err := json.Unmarshal(val, &rec); err != nil {
		d.t.log.Error("knative: a delayed message is not readable; it stays in storage under its key", "key", key, "err", err)
		return false
	}
	if rec.Due > now.UnixMilli() || rec.Claim > now.UnixMilli() {
		return false
	}
	env, err := core.DecodeEnvelope(rec.Env)
	if err != nil {
		d.t.log.Error("knative: a delayed message is not an envelope; it stays in storage under its key", "key", key, "err", err)
		return false
	}
	rec.Claim = now.Add(d.t.cfg.DelayClaim).UnixMilli()
	claimed, err := json.Marshal(rec)
	if err != nil {
		return false
	}
	v2, err := d.kv.Put(ctx, key, claimed, ver, 0)
	if err != nil { // another process claimed it first, or storage failed
		if !errors.Is(err, storage.ErrVersionConflict) {
			d.t.log.Warn("knative: claiming a delayed message failed", "key", key, "err", err)
		}
		return false
	}
	if err := d.t.post(ctx, env); err != nil {
		d.t.log.Warn("knative: posting a due delayed message failed; it is posted again once the claim lapses", "id", env.ID, "topic", env.Topic, "in", d.t.cfg.DelayClaim, "err", err)
		return false
	}
	if err := d.kv.Delete(ctx, key, v2); err != nil && !errors.Is(err, storage.ErrVersionConflict) {
		d.t.log.Warn("knative: removing a posted delayed message failed; it may be posted again", "id", env.ID, "err", err)
		return false
	}
	return d.ks.Remove(ctx, set, []byte(key)) == nil
}

// members pages through a whole set.
func (d *delays) members(ctx context.Context, set string) ([]string, error) {
	var out []string
	cursor := ""
	for {
		page, next, err := d.ks.Page(ctx, set, cursor, 500)
		if err != nil {
			return nil, err
		}
		for _, m := range page {
			out = append(out, string(m))
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}
