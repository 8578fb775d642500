package storetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// openAs opens a fresh store, closed when t ends, and returns it as T.
// It fails the test when the backend does not implement T.
func openAs[T any](t *testing.T, open func(t *testing.T) store.Store) (store.Store, T) {
	t.Helper()
	s := open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	v, ok := s.(T)
	if !ok {
		var zero T
		t.Fatalf("%T does not implement %T", s, &zero)
	}
	return s, v
}

// RunDebug runs the conformance tests of store.DebugRuns. open must return
// a fresh, empty store implementing it; RunDebug closes it.
//
// Semantics pinned down here beyond the store package's comments:
//   - Create* keep a caller's ID, StartedAt and UpdatedAt; an empty ID is
//     generated, an empty Status is in_progress, a zero StartedAt is now
//     and a zero UpdatedAt is StartedAt;
//   - times come back in UTC at microsecond precision, attempt durations
//     at microsecond precision;
//   - a patch on a final row changes neither Status nor FinishedAt, but its
//     other fields apply and UpdatedAt is bumped;
//   - a patch that makes a status final without FinishedAt sets it;
//   - ListDebugRuns caps limit at 500;
//   - DeleteDebugRunsAfter with a zero before has no upper bound.
func RunDebug(t *testing.T, open func(t *testing.T) store.Store) {
	fresh := func(t *testing.T) store.DebugRuns {
		t.Helper()
		_, d := openAs[store.DebugRuns](t, open)
		return d
	}
	tests := []struct {
		name string
		run  func(t *testing.T, fresh func(t *testing.T) store.DebugRuns)
	}{
		{"RoundTrip", testDebugRoundTrip},
		{"Defaults", testDebugDefaults},
		{"NotFound", testDebugNotFound},
		{"StepNumberConflicts", testDebugStepConflict},
		{"StatusNeverRegresses", testDebugStatusNeverRegresses},
		{"Ordering", testDebugOrdering},
		{"ListLimits", testDebugListLimits},
		{"DeleteAfter", testDebugDeleteAfter},
		{"DeleteForChats", testDebugDeleteForChats},
		{"FinalizeStale", testDebugFinalizeStale},
		{"Purge", testDebugPurge},
		{"Cascade", testDebugCascade},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, fresh) })
	}
}

// sameSteps compares steps field by field, attempts included.
func sameSteps(t *testing.T, what string, got, want []store.DebugStep) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d steps, want %d", what, len(got), len(want))
	}
	for i := range got {
		sameStep(t, fmt.Sprintf("%s.steps[%d]", what, i), got[i], want[i])
	}
}

func sameStep(t *testing.T, what string, got, want store.DebugStep) {
	t.Helper()
	ga, wa := got.Attempts, want.Attempts
	got.Attempts, want.Attempts = nil, nil
	sameRecord(t, what, got, want)
	if len(ga) != len(wa) {
		t.Fatalf("%s: %d attempts, want %d", what, len(ga), len(wa))
	}
	for i := range ga {
		sameRecord(t, fmt.Sprintf("%s.attempts[%d]", what, i), ga[i], wa[i])
	}
}

func mustRun(t *testing.T, d store.DebugRuns, r store.DebugRun) store.DebugRun {
	t.Helper()
	if r.Kind == "" {
		r.Kind = store.DebugKindChatTurn
	}
	out, err := d.CreateDebugRun(t.Context(), r)
	noErr(t, "create debug run", err)
	return out
}

func mustStep(t *testing.T, d store.DebugRuns, s store.DebugStep) store.DebugStep {
	t.Helper()
	if s.Operation == "" {
		s.Operation = "stream"
	}
	out, err := d.CreateDebugStep(t.Context(), s)
	noErr(t, "create debug step", err)
	return out
}

func mustGetRun(t *testing.T, d store.DebugRuns, id string) (store.DebugRun, []store.DebugStep) {
	t.Helper()
	r, steps, err := d.GetDebugRun(t.Context(), id)
	noErr(t, "get debug run", err)
	return r, steps
}

func runIDs(runs []store.DebugRun) string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return strings.Join(ids, ",")
}

func testDebugRoundTrip(t *testing.T, fresh func(t *testing.T) store.DebugRuns) {
	d := fresh(t)
	ctx := t.Context()
	finished := base.Add(3 * time.Second)
	want := store.DebugRun{
		ID: "run-1", Kind: store.DebugKindTitle, ChatID: "chat-1", RootChatID: "root-1", ParentChatID: "parent-1",
		MessageID: "msg-1", UserID: "user-1", ModelConfigID: "mc-1", Provider: "openai", Model: "gpt-x",
		Status: store.DebugCompleted, Summary: "3 steps", StartedAt: base, UpdatedAt: base.Add(time.Second),
		FinishedAt: &finished,
	}
	got, err := d.CreateDebugRun(ctx, want)
	noErr(t, "create run", err)
	sameRecord(t, "create run", got, want)

	att := store.DebugAttempt{
		ID: "att-1", Number: 1, Method: http.MethodPost, URL: "https://api.example/v1/chat/completions",
		Status: 429,
		RequestHeader: http.Header{
			"Authorization": {"[REDACTED]"}, "Content-Type": {"application/json"}, "X-Multi": {"a", "b"},
		},
		RequestBody:     `{"model":"gpt-x"}`,
		ResponseHeader:  http.Header{"Retry-After": {"1"}},
		ResponseBody:    `{"error":{"message":"slow down"}}`,
		Error:           "429 too many requests",
		StartedAt:       base.Add(1500 * time.Millisecond),
		Duration:        1234567891 * time.Nanosecond,
		TimeToFirstByte: 456789 * time.Nanosecond,
	}
	step := store.DebugStep{
		ID: "step-1", RunID: "run-1", Number: 1, Operation: "generate", Status: store.DebugError,
		Request:  json.RawMessage(`{"messages":[{"role":"user","parts":[{"type":"text","text":"héllo"}]}]}`),
		Response: json.RawMessage(`{"text":"hi","usage":{"input_tokens":3}}`),
		Error:    "upstream said no", Attempts: []store.DebugAttempt{att},
		StartedAt: base.Add(time.Second), UpdatedAt: base.Add(2 * time.Second), FinishedAt: &finished,
	}
	gotStep, err := d.CreateDebugStep(ctx, step)
	noErr(t, "create step", err)
	wantAtt := att
	wantAtt.StepID = "step-1"
	wantAtt.Duration = 1234567 * time.Microsecond
	wantAtt.TimeToFirstByte = 456 * time.Microsecond
	wantStep := step
	wantStep.Attempts = []store.DebugAttempt{wantAtt}
	sameStep(t, "create step", gotStep, wantStep)

	// A second step with no JSON and attempts added one by one, one with
	// no headers at all.
	bare := mustStep(t, d, store.DebugStep{RunID: "run-1", Number: 2, StartedAt: base.Add(2 * time.Second)})
	if bare.Request != nil || bare.Response != nil {
		t.Fatalf("bare step JSON = %q, %q, want nil", bare.Request, bare.Response)
	}
	a2 := att
	a2.ID, a2.StepID, a2.Number, a2.Status, a2.Error = "", bare.ID, 1, 200, ""
	a2.Duration = 2 * time.Second
	a2.TimeToFirstByte = time.Millisecond
	gotA2, err := d.AddDebugAttempt(ctx, a2)
	noErr(t, "add attempt", err)
	if gotA2.ID == "" {
		t.Fatal("add attempt: ID not set")
	}
	a2.ID = gotA2.ID
	sameRecord(t, "add attempt", gotA2, a2)
	gotA3, err := d.AddDebugAttempt(ctx, store.DebugAttempt{StepID: bare.ID, Number: 2, StartedAt: base})
	noErr(t, "add headerless attempt", err)
	if gotA3.RequestHeader != nil || gotA3.ResponseHeader != nil {
		t.Fatalf("headerless attempt headers = %v, %v, want nil", gotA3.RequestHeader, gotA3.ResponseHeader)
	}
	bare.Attempts = []store.DebugAttempt{gotA2, gotA3}

	gotRun, steps := mustGetRun(t, d, "run-1")
	// Creating steps with older times never moves the run's UpdatedAt back.
	sameRecord(t, "get run", gotRun, store.DebugRun{
		ID: want.ID, Kind: want.Kind, ChatID: want.ChatID, RootChatID: want.RootChatID,
		ParentChatID: want.ParentChatID, MessageID: want.MessageID, UserID: want.UserID,
		ModelConfigID: want.ModelConfigID, Provider: want.Provider, Model: want.Model,
		Status: want.Status, Summary: want.Summary, StartedAt: want.StartedAt,
		UpdatedAt: gotRun.UpdatedAt, FinishedAt: want.FinishedAt,
	})
	if gotRun.UpdatedAt.Before(us(want.UpdatedAt)) {
		t.Fatalf("run UpdatedAt = %v, moved back from %v", gotRun.UpdatedAt, us(want.UpdatedAt))
	}
	sameSteps(t, "get run", steps, []store.DebugStep{wantStep, bare})

	list, err := d.ListDebugRuns(ctx, "chat-1", 0)
	noErr(t, "list", err)
	if len(list) != 1 {
		t.Fatalf("list = %d runs, want 1", len(list))
	}
	sameRecord(t, "list", list[0], gotRun)
}

func testDebugDefaults(t *testing.T, fresh func(t *testing.T) store.DebugRuns) {
	d := fresh(t)
	before := time.Now().Add(-time.Second)
	r := mustRun(t, d, store.DebugRun{ChatID: "c"})
	if r.ID == "" {
		t.Fatal("create run: ID not set")
	}
	if r.Status != store.DebugInProgress {
		t.Fatalf("run status = %q, want %q", r.Status, store.DebugInProgress)
	}
	if r.StartedAt.Before(before) || !r.UpdatedAt.Equal(r.StartedAt) || r.FinishedAt != nil {
		t.Fatalf("run times = %v, %v, %v; want now, StartedAt, nil", r.StartedAt, r.UpdatedAt, r.FinishedAt)
	}
	s := mustStep(t, d, store.DebugStep{RunID: r.ID, Number: 1})
	if s.ID == "" || s.Status != store.DebugInProgress || s.StartedAt.Before(before) || !s.UpdatedAt.Equal(s.StartedAt) {
		t.Fatalf("step defaults = %+v", s)
	}
	gotRun, steps := mustGetRun(t, d, r.ID)
	if gotRun.Status != store.DebugInProgress || len(steps) != 1 {
		t.Fatalf("get = %q with %d steps, want in_progress with 1", gotRun.Status, len(steps))
	}
	sameStep(t, "get step", steps[0], s)
}

func testDebugNotFound(t *testing.T, fresh func(t *testing.T) store.DebugRuns) {
	d := fresh(t)
	ctx := t.Context()
	mustRun(t, d, store.DebugRun{ID: "r", ChatID: "c"})
	_, _, err := d.GetDebugRun(ctx, "missing")
	wantErr(t, "get", err, store.ErrNotFound)
	_, err = d.UpdateDebugRun(ctx, "missing", store.DebugRunPatch{Summary: ptr("x")})
	wantErr(t, "update run", err, store.ErrNotFound)
	_, err = d.CreateDebugStep(ctx, store.DebugStep{RunID: "missing", Number: 1})
	wantErr(t, "create step of missing run", err, store.ErrNotFound)
	_, err = d.UpdateDebugStep(ctx, "missing", store.DebugStepPatch{Error: ptr("x")})
	wantErr(t, "update step", err, store.ErrNotFound)
	_, err = d.AddDebugAttempt(ctx, store.DebugAttempt{StepID: "missing", Number: 1})
	wantErr(t, "add attempt to missing step", err, store.ErrNotFound)
	list, err := d.ListDebugRuns(ctx, "other", 0)
	noErr(t, "list other chat", err)
	if len(list) != 0 {
		t.Fatalf("list other chat = %d runs, want 0", len(list))
	}
}

func testDebugStepConflict(t *testing.T, fresh func(t *testing.T) store.DebugRuns) {
	d := fresh(t)
	r1 := mustRun(t, d, store.DebugRun{ChatID: "c"})
	r2 := mustRun(t, d, store.DebugRun{ChatID: "c"})
	mustStep(t, d, store.DebugStep{RunID: r1.ID, Number: 1})
	_, err := d.CreateDebugStep(t.Context(), store.DebugStep{RunID: r1.ID, Number: 1})
	wantErr(t, "create duplicate step number", err, store.ErrConflict)
	// The same number in another run is fine.
	mustStep(t, d, store.DebugStep{RunID: r2.ID, Number: 1})
	_, steps := mustGetRun(t, d, r1.ID)
	if len(steps) != 1 {
		t.Fatalf("run 1 has %d steps, want 1", len(steps))
	}
}

func testDebugStatusNeverRegresses(t *testing.T, fresh func(t *testing.T) store.DebugRuns) {
	finals := []store.DebugStatus{store.DebugCompleted, store.DebugError, store.DebugInterrupted}
	for _, final := range finals {
		t.Run(string(final), func(t *testing.T) {
			d := fresh(t)
			ctx := t.Context()
			r := mustRun(t, d, store.DebugRun{ChatID: "c", StartedAt: base})
			s := mustStep(t, d, store.DebugStep{RunID: r.ID, Number: 1, StartedAt: base})

			// Finishing without FinishedAt sets it; with it, keeps it.
			done, err := d.UpdateDebugRun(ctx, r.ID, store.DebugRunPatch{Status: ptr(final), Summary: ptr("done")})
			noErr(t, "finish run", err)
			if done.Status != final || done.FinishedAt == nil || done.Summary != "done" {
				t.Fatalf("finished run = %q %v %q, want %q with FinishedAt and summary", done.Status, fmtPtr(done.FinishedAt), done.Summary, final)
			}
			if !done.UpdatedAt.After(us(base)) {
				t.Fatalf("finished run UpdatedAt = %v, not bumped past %v", done.UpdatedAt, us(base))
			}
			stepEnd := base.Add(time.Minute)
			sd, err := d.UpdateDebugStep(ctx, s.ID, store.DebugStepPatch{
				Status: ptr(final), FinishedAt: &stepEnd, Response: json.RawMessage(`{"text":"a"}`), Error: ptr("e1"),
			})
			noErr(t, "finish step", err)
			if sd.Status != final || string(sd.Response) != `{"text":"a"}` || sd.Error != "e1" {
				t.Fatalf("finished step = %+v", sd)
			}
			sameTimePtr(t, "finished step FinishedAt", sd.FinishedAt, &stepEnd)

			// A late in_progress patch and a different final status change
			// neither status nor FinishedAt, but the rest applies.
			later := base.Add(time.Hour)
			other := store.DebugCompleted
			if final == store.DebugCompleted {
				other = store.DebugError
			}
			for _, st := range []store.DebugStatus{store.DebugInProgress, other} {
				late, err := d.UpdateDebugRun(ctx, r.ID, store.DebugRunPatch{
					Status: ptr(st), FinishedAt: &later, Summary: ptr("late " + string(st)),
				})
				noErr(t, "late run patch", err)
				if late.Status != final || late.Summary != "late "+string(st) {
					t.Fatalf("after late %q patch: run = %q %q, want %q", st, late.Status, late.Summary, final)
				}
				sameTimePtr(t, "run FinishedAt after late patch", late.FinishedAt, done.FinishedAt)
				if late.UpdatedAt.Before(done.UpdatedAt) {
					t.Fatalf("late patch moved UpdatedAt back: %v < %v", late.UpdatedAt, done.UpdatedAt)
				}

				ls, err := d.UpdateDebugStep(ctx, s.ID, store.DebugStepPatch{
					Status: ptr(st), FinishedAt: &later, Error: ptr("late " + string(st)),
				})
				noErr(t, "late step patch", err)
				if ls.Status != final || ls.Error != "late "+string(st) || string(ls.Response) != `{"text":"a"}` {
					t.Fatalf("after late %q patch: step = %q %q %q", st, ls.Status, ls.Error, ls.Response)
				}
				sameTimePtr(t, "step FinishedAt after late patch", ls.FinishedAt, &stepEnd)
			}

			got, steps := mustGetRun(t, d, r.ID)
			if got.Status != final || steps[0].Status != final {
				t.Fatalf("stored statuses = %q, %q, want %q", got.Status, steps[0].Status, final)
			}
		})
	}
	t.Run("InProgressPatchKeepsInProgress", func(t *testing.T) {
		d := fresh(t)
		r := mustRun(t, d, store.DebugRun{ChatID: "c", StartedAt: base})
		got, err := d.UpdateDebugRun(t.Context(), r.ID, store.DebugRunPatch{Status: ptr(store.DebugInProgress), Summary: ptr("s")})
		noErr(t, "patch", err)
		if got.Status != store.DebugInProgress || got.FinishedAt != nil || got.Summary != "s" {
			t.Fatalf("patched run = %q %v %q", got.Status, fmtPtr(got.FinishedAt), got.Summary)
		}
		if !got.UpdatedAt.After(us(base)) {
			t.Fatalf("UpdatedAt = %v, not bumped", got.UpdatedAt)
		}
	})
}

func testDebugOrdering(t *testing.T, fresh func(t *testing.T) store.DebugRuns) {
	d := fresh(t)
	ctx := t.Context()
	// Created out of order; listed newest first.
	for _, i := range []int{2, 0, 3, 1} {
		mustRun(t, d, store.DebugRun{ID: fmt.Sprintf("r%d", i), ChatID: "c", StartedAt: base.Add(time.Duration(i) * time.Minute)})
	}
	mustRun(t, d, store.DebugRun{ID: "other", ChatID: "c2", StartedAt: base.Add(time.Hour)})
	list, err := d.ListDebugRuns(ctx, "c", 0)
	noErr(t, "list", err)
	if got, want := runIDs(list), "r3,r2,r1,r0"; got != want {
		t.Fatalf("list = %s, want %s", got, want)
	}

	run := list[0]
	for _, n := range []int{3, 1, 2} {
		s := mustStep(t, d, store.DebugStep{ID: fmt.Sprintf("s%d", n), RunID: run.ID, Number: n, StartedAt: base})
		for _, an := range []int{2, 1} {
			_, err := d.AddDebugAttempt(ctx, store.DebugAttempt{StepID: s.ID, Number: an, URL: fmt.Sprintf("%d.%d", n, an), StartedAt: base})
			noErr(t, "add attempt", err)
		}
	}
	_, steps := mustGetRun(t, d, run.ID)
	var got []string
	for _, s := range steps {
		for _, a := range s.Attempts {
			if a.StepID != s.ID {
				t.Fatalf("attempt %s under step %s has StepID %s", a.URL, s.ID, a.StepID)
			}
			got = append(got, a.URL)
		}
	}
	if g, want := strings.Join(got, " "), "1.1 1.2 2.1 2.2 3.1 3.2"; g != want {
		t.Fatalf("attempts in order = %s, want %s", g, want)
	}
}

func testDebugListLimits(t *testing.T, fresh func(t *testing.T) store.DebugRuns) {
	d := fresh(t)
	ctx := t.Context()
	const n = 505
	for i := range n {
		mustRun(t, d, store.DebugRun{ChatID: "c", StartedAt: base.Add(time.Duration(i) * time.Second)})
	}
	tests := []struct {
		name  string
		limit int
		want  int
	}{
		{"Zero", 0, 50},
		{"Negative", -1, 50},
		{"Small", 7, 7},
		{"Capped", 1000, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := d.ListDebugRuns(ctx, "c", tt.limit)
			noErr(t, "list", err)
			if len(list) != tt.want {
				t.Fatalf("list(%d) = %d runs, want %d", tt.limit, len(list), tt.want)
			}
			sameTime(t, "newest", list[0].StartedAt, base.Add((n-1)*time.Second))
		})
	}
}

func testDebugDeleteAfter(t *testing.T, fresh func(t *testing.T) store.DebugRuns) {
	d := fresh(t)
	ctx := t.Context()
	for i := range 4 {
		r := mustRun(t, d, store.DebugRun{ID: fmt.Sprintf("r%d", i), ChatID: "c", StartedAt: base.Add(time.Duration(i) * time.Minute)})
		mustStep(t, d, store.DebugStep{RunID: r.ID, Number: 1, StartedAt: base})
	}
	mustRun(t, d, store.DebugRun{ID: "other", ChatID: "c2", StartedAt: base.Add(time.Minute)})

	// From is inclusive, before exclusive: r1 and r2 go, r0 (before the
	// edit) and r3 (the turn that replaced it) stay.
	n, err := d.DeleteDebugRunsAfter(ctx, "c", base.Add(time.Minute), base.Add(3*time.Minute))
	noErr(t, "delete after", err)
	if n != 2 {
		t.Fatalf("deleted %d runs, want 2", n)
	}
	list, err := d.ListDebugRuns(ctx, "c", 0)
	noErr(t, "list", err)
	if got, want := runIDs(list), "r3,r0"; got != want {
		t.Fatalf("left = %s, want %s", got, want)
	}
	_, _, err = d.GetDebugRun(ctx, "r1")
	wantErr(t, "get deleted run", err, store.ErrNotFound)
	mustGetRun(t, d, "other")

	// A zero before has no upper bound.
	n, err = d.DeleteDebugRunsAfter(ctx, "c", base.Add(time.Second), time.Time{})
	noErr(t, "delete after, unbounded", err)
	if n != 1 {
		t.Fatalf("deleted %d runs, want 1", n)
	}
	list, err = d.ListDebugRuns(ctx, "c", 0)
	noErr(t, "list", err)
	if got, want := runIDs(list), "r0"; got != want {
		t.Fatalf("left = %s, want %s", got, want)
	}
}

func testDebugDeleteForChats(t *testing.T, fresh func(t *testing.T) store.DebugRuns) {
	d := fresh(t)
	ctx := t.Context()
	for _, c := range []string{"a", "a", "b", "c"} {
		mustRun(t, d, store.DebugRun{ChatID: c})
	}
	n, err := d.DeleteDebugRunsForChats(ctx, nil)
	noErr(t, "delete for no chats", err)
	if n != 0 {
		t.Fatalf("delete for no chats = %d, want 0", n)
	}
	n, err = d.DeleteDebugRunsForChats(ctx, []string{"a", "b", "missing"})
	noErr(t, "delete for chats", err)
	if n != 3 {
		t.Fatalf("deleted %d runs, want 3", n)
	}
	for _, tt := range []struct {
		chat string
		want int
	}{{"a", 0}, {"b", 0}, {"c", 1}} {
		list, err := d.ListDebugRuns(ctx, tt.chat, 0)
		noErr(t, "list", err)
		if len(list) != tt.want {
			t.Fatalf("chat %s has %d runs, want %d", tt.chat, len(list), tt.want)
		}
	}
}

func testDebugFinalizeStale(t *testing.T, fresh func(t *testing.T) store.DebugRuns) {
	d := fresh(t)
	ctx := t.Context()
	cutoff := base.Add(time.Hour)
	stale := mustRun(t, d, store.DebugRun{ChatID: "c", StartedAt: base})
	open := mustStep(t, d, store.DebugStep{RunID: stale.ID, Number: 1, StartedAt: base})
	doneAt := base.Add(time.Minute)
	closed := mustStep(t, d, store.DebugStep{
		RunID: stale.ID, Number: 2, Status: store.DebugCompleted, StartedAt: base, FinishedAt: &doneAt,
	})
	fresh1 := mustRun(t, d, store.DebugRun{ChatID: "c", StartedAt: base, UpdatedAt: cutoff})
	finished := mustRun(t, d, store.DebugRun{ChatID: "c", StartedAt: base, Status: store.DebugCompleted, FinishedAt: &doneAt})

	n, err := d.FinalizeStaleDebugRuns(ctx, cutoff)
	noErr(t, "finalize", err)
	if n != 1 {
		t.Fatalf("finalized %d runs, want 1", n)
	}

	r, steps := mustGetRun(t, d, stale.ID)
	if r.Status != store.DebugError || r.FinishedAt == nil || !strings.HasPrefix(r.Summary, "abandoned") {
		t.Fatalf("stale run = %q %v %q, want error, finished, abandoned", r.Status, fmtPtr(r.FinishedAt), r.Summary)
	}
	if !r.UpdatedAt.After(us(cutoff)) {
		t.Fatalf("stale run UpdatedAt = %v, not bumped", r.UpdatedAt)
	}
	if s := steps[0]; s.ID != open.ID || s.Status != store.DebugError || s.FinishedAt == nil || !strings.HasPrefix(s.Error, "abandoned") {
		t.Fatalf("open step = %q %v %q, want error, finished, abandoned", s.Status, fmtPtr(s.FinishedAt), s.Error)
	}
	sameStep(t, "closed step", steps[1], closed)

	for _, want := range []store.DebugRun{fresh1, finished} {
		got, _ := mustGetRun(t, d, want.ID)
		sameRecord(t, "untouched run", got, want)
	}

	n, err = d.FinalizeStaleDebugRuns(ctx, cutoff)
	noErr(t, "finalize again", err)
	if n != 0 {
		t.Fatalf("second finalize = %d runs, want 0", n)
	}
}

func testDebugPurge(t *testing.T, fresh func(t *testing.T) store.DebugRuns) {
	d := fresh(t)
	ctx := t.Context()
	for i := range 3 {
		mustRun(t, d, store.DebugRun{ID: fmt.Sprintf("r%d", i), ChatID: fmt.Sprintf("c%d", i), StartedAt: base.Add(time.Duration(i) * time.Hour)})
	}
	n, err := d.PurgeDebugRuns(ctx, base.Add(time.Hour))
	noErr(t, "purge", err)
	if n != 1 {
		t.Fatalf("purged %d runs, want 1", n)
	}
	_, _, err = d.GetDebugRun(ctx, "r0")
	wantErr(t, "get purged", err, store.ErrNotFound)
	mustGetRun(t, d, "r1")
	mustGetRun(t, d, "r2")
}

// testDebugCascade checks that deleting a run deletes its steps and
// attempts, by reusing their IDs: leftovers would conflict.
func testDebugCascade(t *testing.T, fresh func(t *testing.T) store.DebugRuns) {
	deletes := []struct {
		name string
		del  func(t *testing.T, d store.DebugRuns) (int64, error)
	}{
		{"Purge", func(t *testing.T, d store.DebugRuns) (int64, error) {
			return d.PurgeDebugRuns(t.Context(), base.Add(time.Hour))
		}},
		{"DeleteAfter", func(t *testing.T, d store.DebugRuns) (int64, error) {
			return d.DeleteDebugRunsAfter(t.Context(), "c", base, time.Time{})
		}},
		{"DeleteForChats", func(t *testing.T, d store.DebugRuns) (int64, error) {
			return d.DeleteDebugRunsForChats(t.Context(), []string{"c"})
		}},
	}
	for _, tt := range deletes {
		t.Run(tt.name, func(t *testing.T) {
			d := fresh(t)
			ctx := t.Context()
			build := func() {
				mustRun(t, d, store.DebugRun{ID: "r", ChatID: "c", StartedAt: base})
				mustStep(t, d, store.DebugStep{ID: "s", RunID: "r", Number: 1, StartedAt: base})
				_, err := d.AddDebugAttempt(ctx, store.DebugAttempt{ID: "a", StepID: "s", Number: 1, StartedAt: base})
				noErr(t, "add attempt", err)
			}
			build()
			n, err := tt.del(t, d)
			noErr(t, "delete", err)
			if n != 1 {
				t.Fatalf("deleted %d runs, want 1", n)
			}
			build()
			_, steps := mustGetRun(t, d, "r")
			if len(steps) != 1 || len(steps[0].Attempts) != 1 {
				t.Fatalf("rebuilt run has %d steps, want 1 with 1 attempt", len(steps))
			}
		})
	}
}
