package postgres_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// TestTouchAPIKeysNoDeadlock flushes overlapping batches from many
// goroutines at once, as replicas do. Map order is random, so rows locked
// in batch order would deadlock (SQLSTATE 40P01).
func TestTouchAPIKeysNoDeadlock(t *testing.T) {
	t.Parallel()
	db := open(t)
	ctx := t.Context()
	u, err := db.CreateUser(ctx, store.User{Username: "u", Role: store.RoleMember})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	const keys = 300
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range keys {
		if _, err := db.CreateAPIKey(ctx, store.APIKey{ID: fmt.Sprintf("k%03d", i), UserID: u.ID, Kind: store.APIKeyKindAPI, SecretHash: []byte{1}}); err != nil {
			t.Fatalf("CreateAPIKey: %v", err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*10)
	for w := range 8 {
		wg.Go(func() {
			for i := range 10 {
				batch := make(map[string]time.Time, keys)
				for k := range keys {
					batch[fmt.Sprintf("k%03d", k)] = base.Add(time.Duration(w*10+i) * time.Second)
				}
				errs <- db.TouchAPIKeys(ctx, batch)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("TouchAPIKeys: %v", err)
		}
	}
	k, err := db.GetAPIKey(ctx, "k150")
	if err != nil {
		t.Fatalf("GetAPIKey: %v", err)
	}
	if want := base.Add(79 * time.Second); k.LastUsedAt == nil || !k.LastUsedAt.Equal(want) {
		t.Fatalf("LastUsedAt = %v, want %v", k.LastUsedAt, want)
	}
}
