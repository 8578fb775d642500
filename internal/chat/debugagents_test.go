package chat

import (
	"context"
	"testing"

	"github.com/chatd/chatd/internal/chatdebug"
	"github.com/chatd/chatd/internal/route"
	"github.com/chatd/chatd/internal/store"
)

// recorded makes e's router record every model call (deployment-wide)
// and returns the recorder; call before building services.
func (e *env) recorded() *chatdebug.Service {
	e.t.Helper()
	dbg := chatdebug.New(chatdebug.Config{
		Runs: e.db, UserSettings: e.db, Settings: e.db, Clock: e.db.Now, Force: true, Logger: e.log,
	})
	e.t.Cleanup(func() { _ = dbg.Close(context.Background()) })
	e.router = route.New(route.Config{Store: e.db, Keyring: e.kr, Gateway: e.gw, Logger: e.log, Debug: dbg})
	return dbg
}

// runsOf returns a chat's debug runs, oldest first, with their steps.
func (e *env) runsOf(chatID string) (runs []store.DebugRun, steps map[string][]store.DebugStep) {
	e.t.Helper()
	rs, err := e.db.ListDebugRuns(e.t.Context(), chatID, 50)
	if err != nil {
		e.t.Fatalf("list runs: %v", err)
	}
	steps = map[string][]store.DebugStep{}
	for i := len(rs) - 1; i >= 0; i-- {
		_, st, err := e.db.GetDebugRun(e.t.Context(), rs[i].ID)
		if err != nil {
			e.t.Fatalf("get run: %v", err)
		}
		runs = append(runs, rs[i])
		steps[rs[i].ID] = st
	}
	return runs, steps
}

// TestAdvisorCallIsAStepOfTheTurnRun: with recording on, the advisor's
// model call is recorded as a step of the turn that made it.
func TestAdvisorCallIsAStepOfTheTurnRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t,
		toolReply("call_1", "advisor", `{"question":"Map or slice?"}`),
		textReply("A map."),
		textReply("Done."),
	)
	e.recorded()
	s := e.service(nil)
	e.withAdvisor(s)
	c := e.newChat(s, "Count the words.")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))

	runs, steps := e.runsOf(c.ID)
	var turn []store.DebugRun
	for _, r := range runs {
		if r.Kind == store.DebugKindChatTurn {
			turn = append(turn, r)
		}
	}
	if len(turn) != 1 {
		t.Fatalf("chat turn runs = %+v, want one", turn)
	}
	if got := len(steps[turn[0].ID]); got != 3 {
		t.Fatalf("the turn's run has %d steps, want 3 (model, advisor, model)", got)
	}
}

// TestManualCompactionIsRecorded: a manual compaction records a run of
// its own, of kind compaction, finished with the summary call as a step.
func TestManualCompactionIsRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t,
		textReply("answer-one"), textReply("answer-two"), textReply("answer-three"),
		textReply("SUMMARY-OF-ONE"),
	)
	e.recorded()
	s := e.service(nil)
	c := e.newChat(s, "question-one")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))
	exchange(t, s, e, events, c.ID, "question-two")
	exchange(t, s, e, events, c.ID, "question-three")
	if _, err := s.Compact(t.Context(), c.ID, e.key); err != nil {
		t.Fatalf("compact: %v", err)
	}
	next(t, events, isSummary)
	// Finishing the run happens before the summary commits.
	runs, steps := e.runsOf(c.ID)
	var found bool
	for _, r := range runs {
		if r.Kind != store.DebugKindCompaction {
			continue
		}
		found = true
		if r.Status != store.DebugCompleted || len(steps[r.ID]) != 1 {
			t.Fatalf("compaction run = %+v with %d steps, want completed with 1", r, len(steps[r.ID]))
		}
	}
	if !found {
		t.Fatalf("no compaction run among %+v", runs)
	}
}
