package chatdebug

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestSweepCutoffs(t *testing.T) {
	t.Parallel()
	dbNow := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		staleAfter time.Duration
		retention  time.Duration
		wantStale  time.Time
		wantPurge  []time.Time
	}{
		{name: "defaults, no retention", wantStale: dbNow.Add(-10 * time.Minute)},
		{name: "seven days", retention: 7 * 24 * time.Hour, wantStale: dbNow.Add(-10 * time.Minute), wantPurge: []time.Time{dbNow.Add(-7 * 24 * time.Hour)}},
		{name: "custom stale", staleAfter: time.Hour, retention: 24 * time.Hour, wantStale: dbNow.Add(-time.Hour), wantPurge: []time.Time{dbNow.Add(-24 * time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeRuns()
			s := New(Config{Runs: f, Clock: fixedClock(dbNow), StaleAfter: tt.staleAfter, Retention: tt.retention})
			s.Sweep(context.Background())
			if len(f.finalizeCuts) != 1 || !f.finalizeCuts[0].Equal(tt.wantStale) {
				t.Fatalf("finalize cutoffs %v, want %v", f.finalizeCuts, tt.wantStale)
			}
			if len(f.purgeCuts) != len(tt.wantPurge) {
				t.Fatalf("purge cutoffs %v, want %v", f.purgeCuts, tt.wantPurge)
			}
			for i := range tt.wantPurge {
				if !f.purgeCuts[i].Equal(tt.wantPurge[i]) {
					t.Fatalf("purge cutoff %v, want %v", f.purgeCuts[i], tt.wantPurge[i])
				}
			}
		})
	}
}

func TestRunSweepsPeriodically(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFakeRuns()
		s := New(Config{Runs: f, Clock: func(context.Context) (time.Time, error) { return time.Now(), nil }, Retention: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.Run(ctx)
		}()
		time.Sleep(150 * time.Second) // synctest: fake time, sweeps at 0, 60s and 120s
		cancel()
		<-done
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.finalizeCuts) != 3 || len(f.purgeCuts) != 3 {
			t.Fatalf("%d finalisations and %d purges, want 3 each", len(f.finalizeCuts), len(f.purgeCuts))
		}
		if d := f.finalizeCuts[1].Sub(f.finalizeCuts[0]); d != time.Minute {
			t.Fatalf("sweeps %v apart, want 1m", d)
		}
	})
}
