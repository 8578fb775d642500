package chatdebug

import (
	"context"
	"time"
)

// Run finalises runs left in progress by a crash (not updated for
// StaleAfter) and, when Retention is set, purges older runs, once at start
// and then every SweepInterval until ctx ends.
func (s *Service) Run(ctx context.Context) {
	if s == nil {
		return
	}
	t := time.NewTicker(s.c.SweepInterval)
	defer t.Stop()
	for {
		s.Sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep runs one finalisation and purge pass, with cutoffs from the
// database's clock. Errors are logged; the next pass tries again.
func (s *Service) Sweep(ctx context.Context) {
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.c.CleanupTimeout)
	defer cancel()
	now, err := s.c.Clock(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "debug sweep: read database time", "error", err)
		return
	}
	if n, err := s.c.Runs.FinalizeStaleDebugRuns(ctx, now.Add(-s.c.StaleAfter)); err != nil {
		s.log.WarnContext(ctx, "debug sweep: finalise stale runs", "error", err)
	} else if n > 0 {
		s.log.InfoContext(ctx, "debug sweep: finalised stale runs", "count", n)
	}
	if s.c.Retention <= 0 {
		return
	}
	if n, err := s.c.Runs.PurgeDebugRuns(ctx, now.Add(-s.c.Retention)); err != nil {
		s.log.WarnContext(ctx, "debug sweep: purge old runs", "error", err)
	} else if n > 0 {
		s.log.InfoContext(ctx, "debug sweep: purged old runs", "count", n)
	}
}
