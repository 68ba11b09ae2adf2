// Package cache keeps recently used values in memory with a size bound.
package cache

import (
	"container/list"
	"errors"
	"sync"
	"time"
)

// DefaultCapacity is the number of entries a cache made by New holds.
const DefaultCapacity = 1024

const (
	minCapacity = 1
	maxCapacity = 1 << 20
)

// ErrCapacity is returned by NewWithCapacity for a capacity out of range.
var ErrCapacity = errors.New("cache: capacity out of range")

type entry struct {
	key     string
	value   []byte
	expires time.Time
}

// Cache is a least-recently-used cache, safe for concurrent use.
//
// Values expire after their time to live; an expired value is
// removed when next looked up.
type Cache struct {
	mu       sync.Mutex
	capacity int
	order    *list.List
	entries  map[string]*list.Element
}

// Stats counts what a cache did.
type Stats interface {
	Hits() int
	Misses() int
}

// New makes a cache of DefaultCapacity entries.
func New() *Cache {
	cache, _ := NewWithCapacity(DefaultCapacity)
	return cache
}

// NewWithCapacity makes a cache of capacity entries.
func NewWithCapacity(capacity int) (*Cache, error) {
	if capacity < minCapacity || capacity > maxCapacity {
		return nil, ErrCapacity
	}
	return &Cache{
		capacity: capacity,
		order:    list.New(),
		entries:  make(map[string]*list.Element, capacity),
	}, nil
}

// Get returns the value of key and whether it was there.
func (c *Cache) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	element, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	found := element.Value.(*entry)
	if !found.expires.IsZero() && time.Now().After(found.expires) {
		c.removeElement(element)
		return nil, false
	}
	c.order.MoveToFront(element)
	return found.value, true
}

// Put stores value under key for ttl (zero: forever).
func (c *Cache) Put(key string, value []byte, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var expires time.Time
	if ttl > 0 {
		expires = time.Now().Add(ttl)
	}
	if element, ok := c.entries[key]; ok {
		element.Value = &entry{key, value, expires}
		c.order.MoveToFront(element)
		return
	}
	c.entries[key] = c.order.PushFront(&entry{key, value, expires})
	for c.order.Len() > c.capacity {
		c.removeElement(c.order.Back())
	}
}

func (c *Cache) removeElement(element *list.Element) {
	c.order.Remove(element)
	delete(c.entries, element.Value.(*entry).key)
}

// Len is the number of entries, expired ones included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
