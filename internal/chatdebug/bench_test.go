package chatdebug

import (
	"context"
	"testing"
	"time"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/store"
)

// discardRuns accepts every write and keeps nothing, so the benchmarks
// measure recording, not a store.
type discardRuns struct{ *fakeRuns }

func (discardRuns) CreateDebugRun(_ context.Context, r store.DebugRun) (store.DebugRun, error) {
	return r, nil
}

func (discardRuns) UpdateDebugRun(context.Context, string, store.DebugRunPatch) (store.DebugRun, error) {
	return store.DebugRun{}, nil
}

func (discardRuns) CreateDebugStep(_ context.Context, s store.DebugStep) (store.DebugStep, error) {
	return s, nil
}

func (discardRuns) UpdateDebugStep(context.Context, string, store.DebugStepPatch) (store.DebugStep, error) {
	return store.DebugStep{}, nil
}

func benchParts() []fantasy.StreamPart {
	parts := []fantasy.StreamPart{{Type: fantasy.StreamPartTypeTextStart, ID: "0"}}
	for range 200 {
		parts = append(parts, fantasy.StreamPart{Type: fantasy.StreamPartTypeTextDelta, ID: "0", Delta: "some streamed words "})
	}
	return append(parts,
		fantasy.StreamPart{Type: fantasy.StreamPartTypeTextEnd, ID: "0"},
		fantasy.StreamPart{Type: fantasy.StreamPartTypeFinish, FinishReason: fantasy.FinishReasonStop, Usage: fantasy.Usage{InputTokens: 100, OutputTokens: 200}},
	)
}

func benchStream(b *testing.B, m fantasy.LanguageModel) {
	call := testCall()
	b.ReportAllocs()
	for b.Loop() {
		seq, err := m.Stream(context.Background(), call)
		if err != nil {
			b.Fatal(err)
		}
		for range seq {
		}
	}
}

// BenchmarkUnrecordedStream is a stream call with recording off: the model
// is the routed one itself.
func BenchmarkUnrecordedStream(b *testing.B) {
	var r *Run
	benchStream(b, r.WrapModel(&fakeModel{parts: benchParts()}))
}

// BenchmarkRecordedStream is the same call recorded: the per-call cost of
// normalising, accumulating, redacting and queueing the writes.
func BenchmarkRecordedStream(b *testing.B) {
	s := New(Config{Runs: discardRuns{newFakeRuns()}, Clock: fixedClock(time.Now())})
	r := s.StartRun(context.Background(), testRun())
	benchStream(b, r.WrapModel(&fakeModel{parts: benchParts()}))
	r.Finish(context.Background(), store.DebugCompleted, "")
	if err := s.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}
