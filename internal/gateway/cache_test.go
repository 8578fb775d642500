package gateway

import (
	"strconv"
	"testing"
	"time"
)

// TestTTLCacheBounded: a full cache stores nothing more until a sweep,
// at most once per sweepEvery, frees room from expired entries.
func TestTTLCacheBounded(t *testing.T) {
	t.Parallel()
	c := newTTLCache[int](10)
	now := time.Unix(1000, 0)
	for i := range 100 {
		c.put(strconv.Itoa(i), i, now.Add(time.Second), now)
	}
	if n := c.size(); n != 10 {
		t.Fatalf("size = %d, want 10", n)
	}
	if v, ok := c.get("3", now); !ok || v != 3 {
		t.Fatalf("get = %d, %t", v, ok)
	}
	if _, ok := c.get("50", now); ok {
		t.Fatal("an entry beyond the bound was stored")
	}
	// Replacing a key needs no room.
	c.put("3", 33, now.Add(time.Second), now)
	if v, _ := c.get("3", now); v != 33 || c.size() != 10 {
		t.Fatalf("replace: %d, size %d", v, c.size())
	}
	// Expired entries are not returned, and are swept when room is needed.
	later := now.Add(2 * time.Second)
	if _, ok := c.get("3", later); ok {
		t.Fatal("expired entry returned")
	}
	c.put("new", 1, later.Add(time.Second), later)
	if v, ok := c.get("new", later); !ok || v != 1 || c.size() != 1 {
		t.Fatalf("after sweep: %d %t, size %d", v, ok, c.size())
	}
	// A full cache of live entries is not swept on every put.
	for i := range 20 {
		c.put("live"+strconv.Itoa(i), i, later.Add(time.Hour), later)
	}
	if c.size() != 10 {
		t.Fatalf("size = %d, want 10", c.size())
	}
}
