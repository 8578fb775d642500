package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// testConcurrency checks that concurrent writers all succeed: a backend
// must queue them rather than fail with "database is locked" or a
// serialization error.
func testConcurrency(t *testing.T, fresh func(t *testing.T) store.Store) {
	t.Run("MixedWriters", func(t *testing.T) {
		s := fresh(t)
		ctx := t.Context()
		u := mustUser(t, s, "owner")
		mustAPIKey(t, s, "k1", u.ID, base)
		mustAPIKey(t, s, "k2", u.ID, base)

		const workers, writes = 16, 25
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			errs  []error
			users int
			ints  int
			last  time.Time
		)
		for w := range workers {
			wg.Go(func() {
				for i := range writes {
					var err error
					switch i % 4 {
					case 0:
						_, err = s.CreateInterception(ctx, store.Interception{
							UserID: u.ID, APIKeyID: "k1", Model: "m", StartedAt: base.Add(time.Duration(w*writes+i) * time.Millisecond),
							ToolCalls: []store.ToolCall{{Name: "t", Arguments: "{}"}},
						})
					case 1:
						at := base.Add(time.Duration(w*writes+i) * time.Second)
						err = s.TouchAPIKeys(ctx, map[string]time.Time{"k1": at, "k2": at, "gone": at})
						mu.Lock()
						if at.After(last) {
							last = at
						}
						mu.Unlock()
					case 2:
						err = s.PutSetting(ctx, fmt.Sprintf("worker-%d", w), fmt.Sprint(i))
					case 3:
						_, err = s.CreateUser(ctx, store.User{Username: fmt.Sprintf("u-%d-%d", w, i), Role: store.RoleMember})
					}
					mu.Lock()
					if err != nil {
						errs = append(errs, fmt.Errorf("worker %d write %d: %w", w, i, err))
					} else if i%4 == 0 {
						ints++
					} else if i%4 == 3 {
						users++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			t.Error(err)
		}
		if len(errs) > 0 {
			t.FailNow()
		}

		n, err := s.CountUsers(ctx)
		noErr(t, "count users", err)
		if n != int64(users+1) {
			t.Fatalf("users = %d, want %d", n, users+1)
		}
		list, err := s.ListInterceptions(ctx, store.InterceptionFilter{Limit: workers * writes})
		noErr(t, "list interceptions", err)
		if len(list) != ints {
			t.Fatalf("interceptions = %d, want %d", len(list), ints)
		}
		for _, id := range []string{"k1", "k2"} {
			k, err := s.GetAPIKey(ctx, id)
			noErr(t, "get key", err)
			sameTimePtr(t, id+" last used", k.LastUsedAt, &last)
		}
		for w := range workers {
			v, err := s.GetSetting(ctx, fmt.Sprintf("worker-%d", w))
			noErr(t, "get setting", err)
			if v != fmt.Sprint(writes-3) { // the last i with i%4 == 2
				t.Fatalf("worker-%d setting = %q, want %q", w, v, fmt.Sprint(writes-3))
			}
		}
	})
}
