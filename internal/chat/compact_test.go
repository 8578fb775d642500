package chat

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/store"
)

// exchange sends msg to an idle chat and waits for the turn to end.
func exchange(t *testing.T, s *Service, e *env, events <-chan Event, chatID, msg string) {
	t.Helper()
	if _, err := s.Send(t.Context(), chatID, text(msg), e.key, e.user.ID, store.SendQueue); err != nil {
		t.Fatalf("send: %v", err)
	}
	next(t, events, status(store.ChatRunning))
	next(t, events, status(store.ChatWaiting))
}

func isSummary(ev Event) bool {
	return ev.Type == EventMessage && ev.Message.Role == store.RoleSummary
}

// wantIn fails unless body holds every string of has and none of hasNot.
func wantIn(t *testing.T, what string, body []byte, has, hasNot []string) {
	t.Helper()
	for _, h := range has {
		if !strings.Contains(string(body), h) {
			t.Fatalf("%s lacks %q: %s", what, h, body)
		}
	}
	for _, h := range hasNot {
		if strings.Contains(string(body), h) {
			t.Fatalf("%s holds %q: %s", what, h, body)
		}
	}
}

func TestManualCompaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t,
		textReply("answer-one"), textReply("answer-two"), textReply("answer-three"),
		textReply("SUMMARY-OF-ONE"),
		textReply("answer-four"),
	)
	s := e.service(nil)
	c := e.newChat(s, "question-one")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))
	exchange(t, s, e, events, c.ID, "question-two")
	exchange(t, s, e, events, c.ID, "question-three")

	got, err := s.Compact(t.Context(), c.ID, e.key2)
	if err != nil {
		t.Fatalf("compact: %v", err)
	}
	if got.ID != c.ID || got.Status != store.ChatWaiting {
		t.Fatalf("compact answered %+v", got)
	}
	ev := next(t, events, isSummary)
	if textOf(ev.Message.Parts) != "SUMMARY-OF-ONE" || ev.Message.ModelConfigID != e.model.ID || ev.Message.CostMicros == nil {
		t.Fatalf("summary message = %+v", ev.Message)
	}
	msgs := e.messages(c.ID)
	if sum := msgs[len(msgs)-1]; sum.Role != store.RoleSummary || sum.SummaryThroughSeq != 2 {
		t.Fatalf("stored summary = %+v", sum)
	}
	exchange(t, s, e, events, c.ID, "question-four")

	reqs := e.up.Requests()
	if len(reqs) != 5 {
		t.Fatalf("%d upstream requests, want 5", len(reqs))
	}
	// The summary call sees what it covers (the first exchange) only.
	wantIn(t, "summary request", reqs[3].Body,
		[]string{"question-one", "answer-one", "faithful summary"},
		[]string{"question-two", `"tools"`})
	// The next turn sees the summary instead of what it covers.
	wantIn(t, "request after compaction", reqs[4].Body,
		[]string{"SUMMARY-OF-ONE", "question-two", "answer-two", "question-three", "answer-three", "question-four"},
		[]string{"question-one", "answer-one"})
	recs := e.records()
	if recs[3].APIKeyID != e.key2 || recs[3].ChatID != c.ID {
		t.Fatalf("summary record key %q chat %q, want %q %q", recs[3].APIKeyID, recs[3].ChatID, e.key2, c.ID)
	}
}

func TestCompactRefusals(t *testing.T) {
	t.Parallel()
	first, gate := gated(textReply("answer-one"))
	e := newEnv(t, first)
	s := e.service(nil)
	c := e.newChat(s, "question-one")
	events := subscribe(t, s, c.ID, "")
	run(t, s)

	gate <- struct{}{} // the role chunk
	gate <- struct{}{} // "answer-one"
	next(t, events, isDelta)
	_, err := s.Compact(t.Context(), c.ID, e.key)
	var te *store.TransitionError
	if !errors.As(err, &te) || !strings.Contains(te.Error(), "a turn is running") {
		t.Fatalf("compact while running: %v, want a transition error", err)
	}
	close(gate)
	next(t, events, status(store.ChatWaiting))

	_, err = s.Compact(t.Context(), c.ID, e.key)
	if !errors.Is(err, ErrNothingToCompact) || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("compact a short chat: %v, want ErrNothingToCompact", err)
	}
	_, err = s.Compact(t.Context(), "missing", e.key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("compact a missing chat: %v", err)
	}
}

// TestCompactionKeepsLateMessage sends a message while a manual summary
// is being written: the message comes before the summary in the history
// but after what it covers, and stays in the prompt.
func TestCompactionKeepsLateMessage(t *testing.T) {
	t.Parallel()
	asked := make(chan struct{})
	summary, sumGate := gated(textReply("SUMMARY-OF-ONE"))
	summary.OnRequest = func(*http.Request) { close(asked) }
	call, callGate := gated(toolReply("call_1", "current_time", "{}"))
	e := newEnv(t,
		textReply("answer-one"), textReply("answer-two"), textReply("answer-three"),
		summary,
		call,
		textReply("answer-late"),
	)
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
	<-asked
	if _, err := s.Send(t.Context(), c.ID, text("question-late"), e.key, e.user.ID, store.SendQueue); err != nil {
		t.Fatalf("send: %v", err)
	}
	close(sumGate)
	next(t, events, isSummary)
	close(callGate)
	next(t, events, status(store.ChatWaiting))

	msgs := e.messages(c.ID)
	if got, want := roles(msgs), "user,assistant,user,assistant,user,assistant,user,summary,assistant,tool,assistant"; got != want {
		t.Fatalf("roles = %s, want %s", got, want)
	}
	reqs := e.up.Requests()
	wantIn(t, "request after compaction", reqs[len(reqs)-1].Body,
		[]string{"SUMMARY-OF-ONE", "question-two", "question-three", "question-late", "call_1"},
		[]string{"question-one", "answer-one"})
}

func TestAutomaticCompaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t,
		textReply("answer-one"), textReply("answer-two"), textReply("answer-three"),
		textReply("SUMMARY-OF-ONE"),
	)
	s := e.service(nil)
	c := e.newChat(s, "question-one")
	events := subscribe(t, s, c.ID, "")
	stop := run(t, s)
	next(t, events, status(store.ChatWaiting))
	exchange(t, s, e, events, c.ID, "question-two")
	exchange(t, s, e, events, c.ID, "question-three")
	stop()

	// A turn in progress, held by a worker of our own.
	if _, err := s.Send(t.Context(), c.ID, text("question-four"), e.key, e.user.ID, store.SendQueue); err != nil {
		t.Fatalf("send: %v", err)
	}
	lc, ok, err := e.db.AcquireChat(t.Context(), "w", waitTimeout)
	if err != nil || !ok {
		t.Fatalf("acquire: %v, %v", ok, err)
	}
	limit := int64(12)
	mc, err := e.db.UpdateModel(t.Context(), e.model.ID, store.ModelPatch{ContextLimit: &limit})
	if err != nil {
		t.Fatalf("set context limit: %v", err)
	}
	tu := &turn{s: s, log: s.log, wid: "w", c: lc, ctx: t.Context(), tctx: t.Context()}

	// 9 of 12 tokens is under the default 80%: nothing happens (the
	// upstream fails the test on an unscripted call).
	if err := tu.maybeCompact(fantasy.Usage{InputTokens: 9}, mc); err != nil {
		t.Fatalf("maybeCompact under the threshold: %v", err)
	}
	if n := len(e.up.Requests()); n != 3 {
		t.Fatalf("%d upstream requests, want 3", n)
	}
	// 10 of 12 crosses it.
	if err := tu.maybeCompact(fantasy.Usage{InputTokens: 4, CacheReadTokens: 6}, mc); err != nil {
		t.Fatalf("maybeCompact over the threshold: %v", err)
	}
	msgs := e.messages(c.ID)
	if got, want := roles(msgs), "user,assistant,user,assistant,user,assistant,user,summary"; got != want {
		t.Fatalf("roles = %s, want %s", got, want)
	}
	if msgs[7].SummaryThroughSeq != 2 || textOf(msgs[7].Parts) != "SUMMARY-OF-ONE" {
		t.Fatalf("summary = %+v", msgs[7])
	}
	reqs := e.up.Requests()
	wantIn(t, "summary request", reqs[3].Body, []string{"question-one", "answer-one"}, []string{"question-two", "question-four"})
	// The next step's prompt: the summary, then the kept messages with
	// the unanswered question.
	prompt := buildPrompt(msgs)
	if len(prompt) != 6 || prompt[0].Role != fantasy.MessageRoleSystem || prompt[5].Role != fantasy.MessageRoleUser {
		t.Fatalf("prompt after compaction = %+v", prompt)
	}
	if got := prompt[5].Content[0].(fantasy.TextPart).Text; got != "question-four" {
		t.Fatalf("last prompt message = %q", got)
	}
}

func TestAutomaticCompactionStricterLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.service(nil)
	small := int64(1000)
	cm, err := e.db.CreateModel(t.Context(), store.ModelConfig{ProviderID: e.prov.ID, Model: "small", DisplayName: "small", Enabled: true, ContextLimit: small})
	if err != nil {
		t.Fatal(err)
	}
	c := store.Chat{ID: "c", OwnerID: e.user.ID, ModelConfigID: e.model.ID}
	tests := []struct {
		name      string
		override  string
		chatLimit int64
		wantModel string
		wantLimit int64
	}{
		{"no override", "", 5000, e.model.ID, 5000},
		{"smaller compaction model", cm.ID, 5000, cm.ID, 1000},
		{"smaller chat model", cm.ID, 500, cm.ID, 500},
		{"unknown chat limit", cm.ID, 0, cm.ID, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.db.PutSetting(t.Context(), "model_compaction", tt.override); err != nil {
				t.Fatal(err)
			}
			mc := e.model
			mc.ContextLimit = tt.chatLimit
			id, limit, err := s.compactionModel(t.Context(), c, mc)
			if err != nil || id != tt.wantModel || limit != tt.wantLimit {
				t.Fatalf("compactionModel = %q, %d, %v; want %q, %d", id, limit, err, tt.wantModel, tt.wantLimit)
			}
		})
	}
}

func TestPlanCompaction(t *testing.T) {
	t.Parallel()
	msg := func(seq int64, role store.MessageRole) store.Message {
		return store.Message{Seq: seq, Role: role, Parts: text(string(role))}
	}
	sum := func(seq, through int64) store.Message {
		m := msg(seq, store.RoleSummary)
		m.SummaryThroughSeq = through
		return m
	}
	const u, a, tl = store.RoleUser, store.RoleAssistant, store.RoleTool
	tests := []struct {
		name    string
		history []store.Message
		through int64 // 0: nothing to compact
		older   string
	}{
		{"short chat", []store.Message{msg(1, u), msg(2, a)}, 0, ""},
		{"three exchanges", []store.Message{msg(1, u), msg(2, a), msg(3, u), msg(4, a), msg(5, u), msg(6, a)}, 2, "user,assistant"},
		{"unanswered users kept", []store.Message{msg(1, u), msg(2, a), msg(3, u), msg(4, a), msg(5, u), msg(6, u), msg(7, u), msg(8, u)}, 4, "user,assistant,user,assistant"},
		{"tool loop cuts after a result", []store.Message{msg(1, u), msg(2, a), msg(3, tl), msg(4, a), msg(5, tl), msg(6, a), msg(7, tl), msg(8, a), msg(9, tl)}, 5, "user,assistant,tool,assistant,tool"},
		{"never between call and result", []store.Message{msg(1, u), msg(2, a), msg(3, tl), msg(4, tl), msg(5, a), msg(6, tl), msg(7, a)}, 0, ""},
		{"after a summary", []store.Message{msg(1, u), msg(2, a), msg(3, u), msg(4, a), msg(5, u), msg(6, a), sum(7, 2), msg(8, u), msg(9, a)},
			4, "summary,user,assistant"},
		{"summary without boundary", []store.Message{msg(1, u), msg(2, a), sum(3, 0), msg(4, u), msg(5, a), msg(6, u), msg(7, a), msg(8, u), msg(9, a)},
			5, "summary,user,assistant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			older, through, ok := planCompaction(tt.history, compactionKeep)
			if ok != (tt.through != 0) || through != tt.through || roles(older) != tt.older {
				t.Fatalf("plan = %s through %d (%v); want %s through %d", roles(older), through, ok, tt.older, tt.through)
			}
		})
	}
}

func TestPromptAfterSummary(t *testing.T) {
	t.Parallel()
	h := []store.Message{
		{Seq: 1, Role: store.RoleUser, Parts: text("old")},
		{Seq: 2, Role: store.RoleAssistant, Parts: text("old answer")},
		{Seq: 3, Role: store.RoleAssistant, Parts: text("mid-turn step")},
		{Seq: 4, Role: store.RoleSummary, Parts: text("S"), SummaryThroughSeq: 2},
	}
	p := buildPrompt(h)
	// The kept part starts with an assistant message, so the summary is
	// the user's turn.
	if len(p) != 2 || p[0].Role != fantasy.MessageRoleUser || p[1].Role != fantasy.MessageRoleAssistant {
		t.Fatalf("prompt = %+v", p)
	}
	if got := p[0].Content[0].(fantasy.TextPart).Text; got != summaryPrefix+"S" {
		t.Fatalf("summary text = %q", got)
	}
}
