package chatdebug

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/store"
)

// failingRuns fails every CreateDebugRun.
type failingRuns struct{ *fakeRuns }

func (failingRuns) CreateDebugRun(context.Context, store.DebugRun) (store.DebugRun, error) {
	return store.DebugRun{}, errors.New("disk full")
}

func TestStartRunTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFakeRuns()
		f.createBlock = make(chan struct{})
		logs := &logRecorder{}
		s := New(Config{Runs: f, Clock: fixedClock(time.Now()), Logger: slogOf(logs)})

		start := time.Now()
		r := s.StartRun(context.Background(), testRun())
		if r != nil {
			t.Fatalf("StartRun returned a run from a blocked store")
		}
		if took := time.Since(start); took != 5*time.Second {
			t.Fatalf("StartRun took %v, want the 5s CreateTimeout", took)
		}
		// The caller goes on unrecorded: a nil run wraps nothing.
		m := &fakeModel{resp: &fantasy.Response{}}
		if r.WrapModel(m) != fantasy.LanguageModel(m) {
			t.Fatalf("nil run wrapped the model")
		}
		if !containsLine(logs.all(), "create run timed out") {
			t.Fatalf("no warning logged: %q", logs.all())
		}

		// The store wakes up later: the orphan run is finished, not left
		// in progress.
		close(f.createBlock)
		if err := s.Close(context.Background()); err != nil {
			t.Fatalf("close: %v", err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.runs) != 1 {
			t.Fatalf("%d runs", len(f.runs))
		}
		for _, run := range f.runs {
			if run.Status != store.DebugError {
				t.Fatalf("late run status %q, want error", run.Status)
			}
		}
	})
}

func TestStartRunError(t *testing.T) {
	t.Parallel()
	logs := &logRecorder{}
	s := New(Config{Runs: failingRuns{newFakeRuns()}, Clock: fixedClock(time.Now()), Logger: slogOf(logs)})
	if r := s.StartRun(context.Background(), testRun()); r != nil {
		t.Fatalf("StartRun returned a run from a failing store")
	}
	if !containsLine(logs.all(), "disk full") {
		t.Fatalf("no warning logged: %q", logs.all())
	}
}

func TestStatusNeverRegresses(t *testing.T) {
	t.Parallel()
	f := newFakeRuns()
	s := newTestService(t, f)
	r := s.StartRun(context.Background(), testRun())
	r.Finish(context.Background(), store.DebugInterrupted, "stopped by user")
	r.Finish(context.Background(), store.DebugInProgress, "late heartbeat")
	r.Finish(context.Background(), store.DebugCompleted, "late completion")
	run := f.run(r.ID())
	if run.Status != store.DebugInterrupted || run.Summary != "stopped by user" || run.FinishedAt == nil {
		t.Fatalf("run %q %q finished %v", run.Status, run.Summary, run.FinishedAt)
	}
}

func TestSubscribe(t *testing.T) {
	t.Parallel()
	f := newFakeRuns()
	s := newTestService(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	events := s.Subscribe(ctx, "c1")
	other := s.Subscribe(ctx, "c2")

	r := s.StartRun(context.Background(), testRun())
	m := r.WrapModel(&fakeModel{resp: &fantasy.Response{}})
	if _, err := m.Generate(context.Background(), fantasy.Call{}); err != nil {
		t.Fatalf("generate: %v", err)
	}
	r.Finish(context.Background(), store.DebugCompleted, "")

	want := []EventKind{RunCreated, StepCreated, StepFinished, RunFinished}
	for _, k := range want {
		ev := <-events
		if ev.Kind != k || ev.ChatID != "c1" || ev.RunID != r.ID() {
			t.Fatalf("event %+v, want %s", ev, k)
		}
	}
	cancel()
	for ev := range events {
		t.Fatalf("unexpected event %+v", ev)
	}
	for ev := range other {
		t.Fatalf("other chat got %+v", ev)
	}
}
