package storage

import (
	"container/list"
	"context"
	"strconv"
	"sync"
	"time"
)

// CacheConfig sizes the read cache. The zero value means no cache, as in
// the systems users know: a cache is opt-in.
type CacheConfig struct {
	MaximumSize       int           `yaml:"maximumSize" envconfig:"MAXIMUM_SIZE" default:"0" desc:"entries kept by the read cache (0: no cache)"`
	ExpireAfterWrite  time.Duration `yaml:"expireAfterWrite" envconfig:"EXPIRE_AFTER_WRITE" default:"1h" desc:"how long a cached entry lives after it was read from the store"`
	ExpireAfterAccess time.Duration `yaml:"expireAfterAccess" envconfig:"EXPIRE_AFTER_ACCESS" default:"1h" desc:"how long a cached entry lives without being read"`
}

// ValueReader serves unversioned reads, possibly from a cache. Versioned
// reads (KeyValue.Get, used for read-modify-write) never use a cache.
type ValueReader interface {
	GetValue(ctx context.Context, key string) ([]byte, error)
}

// ReadValue reads key without its version, from a cache when kv has one.
func ReadValue(ctx context.Context, kv KeyValue, key string) ([]byte, error) {
	if r, ok := kv.(ValueReader); ok {
		return r.GetValue(ctx, key)
	}
	v, _, err := kv.Get(ctx, key)
	return v, err
}

// CachedKeyValue wraps kv with a read cache for GetValue. Get, GetMany and
// writes go to kv; writes through this wrapper drop the cached entry. The
// cache is per process: writes by other processes are seen once the entry
// expires.
func CachedKeyValue(kv KeyValue, cfg CacheConfig) KeyValue {
	if cfg.MaximumSize <= 0 {
		return kv
	}
	c := &cachedKV{KeyValue: kv, lru: newLRU(cfg)}
	if tkv, ok := kv.(TxKeyValue); ok {
		return &cachedTxKV{cachedKV: c, tx: tkv}
	}
	return c
}

// cachedTxKV keeps a transactional driver transactional under the cache.
type cachedTxKV struct {
	*cachedKV
	tx TxKeyValue
}

func (c *cachedTxKV) PutTx(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration, hook TxHook) (uint64, error) {
	c.lru.drop(key)
	defer c.lru.drop(key)
	return c.tx.PutTx(ctx, key, value, expected, ttl, hook)
}

func (c *cachedTxKV) PutManyTx(ctx context.Context, writes []Write, hook TxHook) ([]uint64, error) {
	drop := func() {
		for _, w := range writes {
			c.lru.drop(w.Key)
		}
	}
	drop()
	defer drop()
	return c.tx.PutManyTx(ctx, writes, hook)
}

func (c *cachedTxKV) TxDomain() string { return c.tx.TxDomain() }

type cachedKV struct {
	KeyValue
	lru *lru
}

func (c *cachedKV) GetValue(ctx context.Context, key string) ([]byte, error) {
	if v, ok := c.lru.get(key); ok {
		return clone(v.([]byte)), nil
	}
	v, _, err := c.KeyValue.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	c.lru.put(key, clone(v))
	return v, nil
}

// Writes drop the entry before and after: a read racing with the write
// may cache the old value in between, and the second drop removes it.
func (c *cachedKV) Put(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration) (uint64, error) {
	c.lru.drop(key)
	defer c.lru.drop(key)
	return c.KeyValue.Put(ctx, key, value, expected, ttl)
}

func (c *cachedKV) Delete(ctx context.Context, key string, expected uint64) error {
	c.lru.drop(key)
	defer c.lru.drop(key)
	return c.KeyValue.Delete(ctx, key, expected)
}

func (c *cachedKV) PutMany(ctx context.Context, writes []Write) ([]uint64, error) {
	drop := func() {
		for _, w := range writes {
			c.lru.drop(w.Key)
		}
	}
	drop()
	defer drop()
	return c.KeyValue.PutMany(ctx, writes)
}

// CachedKeySet wraps ks with a cache of pages; Add and Remove through the
// wrapper drop every cached page of their key.
func CachedKeySet(ks KeySet, cfg CacheConfig) KeySet {
	if cfg.MaximumSize <= 0 {
		return ks
	}
	return &cachedKS{KeySet: ks, lru: newLRU(cfg), pages: map[string]map[string]bool{}}
}

type cachedKS struct {
	KeySet
	lru   *lru
	mu    sync.Mutex
	pages map[string]map[string]bool // set key → cache keys of its pages
}

type page struct {
	members [][]byte
	next    string
}

func (c *cachedKS) Page(ctx context.Context, key, cursor string, limit int) ([][]byte, string, error) {
	ck := key + "\x00" + cursor + "\x00" + strconv.Itoa(limit)
	if v, ok := c.lru.get(ck); ok {
		p := v.(page)
		return cloneAll(p.members), p.next, nil
	}
	m, next, err := c.KeySet.Page(ctx, key, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	c.mu.Lock()
	if c.pages[key] == nil {
		c.pages[key] = map[string]bool{}
	}
	c.pages[key][ck] = true
	c.mu.Unlock()
	c.lru.put(ck, page{members: cloneAll(m), next: next})
	return m, next, nil
}

func (c *cachedKS) invalidate(key string) {
	c.mu.Lock()
	cks := c.pages[key]
	delete(c.pages, key)
	c.mu.Unlock()
	for ck := range cks {
		c.lru.drop(ck)
	}
}

func (c *cachedKS) Add(ctx context.Context, key string, member []byte) error {
	c.invalidate(key)
	defer c.invalidate(key)
	return c.KeySet.Add(ctx, key, member)
}

func (c *cachedKS) Remove(ctx context.Context, key string, member []byte) error {
	c.invalidate(key)
	defer c.invalidate(key)
	return c.KeySet.Remove(ctx, key, member)
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func cloneAll(bs [][]byte) [][]byte {
	out := make([][]byte, len(bs))
	for i, b := range bs {
		out[i] = clone(b)
	}
	return out
}

// lru is a size-bounded cache with expiry after write and after access.
type lru struct {
	mu    sync.Mutex
	cfg   CacheConfig
	now   func() time.Time
	order *list.List // front = most recently used
	items map[string]*list.Element
}

type lruItem struct {
	key              string
	value            any
	written, touched time.Time
}

func newLRU(cfg CacheConfig) *lru {
	return &lru{cfg: cfg, now: time.Now, order: list.New(), items: map[string]*list.Element{}}
}

func (l *lru) get(key string) (any, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.items[key]
	if !ok {
		return nil, false
	}
	it := el.Value.(*lruItem)
	now := l.now()
	if (l.cfg.ExpireAfterWrite > 0 && now.Sub(it.written) >= l.cfg.ExpireAfterWrite) ||
		(l.cfg.ExpireAfterAccess > 0 && now.Sub(it.touched) >= l.cfg.ExpireAfterAccess) {
		l.order.Remove(el)
		delete(l.items, key)
		return nil, false
	}
	it.touched = now
	l.order.MoveToFront(el)
	return it.value, true
}

func (l *lru) put(key string, v any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if el, ok := l.items[key]; ok {
		it := el.Value.(*lruItem)
		it.value, it.written, it.touched = v, now, now
		l.order.MoveToFront(el)
		return
	}
	l.items[key] = l.order.PushFront(&lruItem{key: key, value: v, written: now, touched: now})
	for l.order.Len() > l.cfg.MaximumSize {
		last := l.order.Back()
		l.order.Remove(last)
		delete(l.items, last.Value.(*lruItem).key)
	}
}

func (l *lru) drop(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.items[key]; ok {
		l.order.Remove(el)
		delete(l.items, key)
	}
}

// MaxValueSize forwards the wrapped store's limit (see Limited); the cache
// does not change what is written.
func (c *cachedKV) MaxValueSize() int { return MaxValueSize(c.KeyValue) }
