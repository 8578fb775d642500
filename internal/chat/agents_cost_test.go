package chat

import (
	"net/http"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// TestCostMatchesRecordsAfterEdit: a chat's cost still equals the sum of
// the gateway's records for it after an edit dropped the messages of
// paid calls, and with summary calls that left no message: one that
// failed after the provider reported its usage (an empty summary, in a
// turn) and one whose commit was refused (a manual compaction outdated
// by the edit).
func TestCostMatchesRecordsAfterEdit(t *testing.T) {
	t.Parallel()
	asked := make(chan struct{})
	refused, sumGate := gated(textReply("SUMMARY-OF-ALL"))
	refused.OnRequest = func(*http.Request) { close(asked) }
	e := newEnv(t,
		textReply("answer-one"), textReply("answer-two"), withPrompt(100, textReply("answer-three")),
		textReply(), // an empty summary, paid for
		textReply("answer-four"),
		refused,
		textReply("answer-edited"),
	)
	e.setContextLimit(100)
	compacted := make(chan string, 1)
	s := e.service(func(c *Config) { c.compactDone = func(id string) { compacted <- id } })
	c := e.newChat(s, "question-one")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))
	exchange(t, s, e, events, c.ID, "question-two")
	exchange(t, s, e, events, c.ID, "question-three")
	// Over the threshold: the turn asks for a summary, gets an empty one
	// and goes on without it.
	exchange(t, s, e, events, c.ID, "question-four")
	if got, want := roles(e.messages(c.ID)), "user,assistant,user,assistant,user,assistant,user,assistant"; got != want {
		t.Fatalf("roles = %s, want %s", got, want)
	}

	// A manual compaction is being written when an edit drops everything
	// it covers: its commit is refused.
	e.setContextLimit(0)
	if _, err := s.Compact(t.Context(), c.ID, e.key); err != nil {
		t.Fatalf("compact: %v", err)
	}
	<-asked
	first := e.messages(c.ID)[0]
	if _, _, err := s.Edit(t.Context(), c.ID, first.ID, text("question-edited"), e.key); err != nil {
		t.Fatalf("edit: %v", err)
	}
	next(t, events, status(store.ChatRunning))
	next(t, events, status(store.ChatWaiting))
	close(sumGate)
	select {
	case <-compacted:
	case <-time.After(waitTimeout):
		t.Fatal("the manual compaction never ended")
	}
	if got, want := roles(e.messages(c.ID)), "user,assistant"; got != want {
		t.Fatalf("roles after edit = %s, want %s", got, want)
	}

	var sum int64
	calls := 0
	for _, r := range e.records() {
		if r.ChatID != c.ID {
			t.Fatalf("record of chat %q", r.ChatID)
		}
		if r.CostMicros == nil {
			t.Fatalf("record %s has no cost", r.ID)
		}
		calls++
		sum += *r.CostMicros
	}
	// Seven calls: 10 input tokens at $1/M and 5 output at $2/M are 20
	// micros; answer-three's 100 input tokens make it 110.
	if calls != 7 || sum != 6*20+110 {
		t.Fatalf("%d records costing %d, want 7 costing %d", calls, sum, 6*20+110)
	}
	cost, err := s.Cost(t.Context(), c.ID)
	if err != nil {
		t.Fatalf("cost: %v", err)
	}
	if cost.TotalMicros == nil || *cost.TotalMicros != sum || *cost.OwnMicros != sum || cost.UnpricedMessages != 0 || cost.UnmeteredMessages != 0 {
		t.Fatalf("cost = %+v (total %d), gateway records sum to %d", cost, *cost.TotalMicros, sum)
	}
}
