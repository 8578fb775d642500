package chat

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/settings"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// exchange sends msg to an idle chat and waits for the turn to end.
func exchange(t *testing.T, s *Service, e *env, events <-chan wire.Event, chatID, msg string) {
	t.Helper()
	if _, err := s.Send(t.Context(), chatID, text(msg), e.key, e.user.ID, store.SendQueue); err != nil {
		t.Fatalf("send: %v", err)
	}
	next(t, events, status(store.ChatRunning))
	next(t, events, status(store.ChatWaiting))
}

func isSummary(ev wire.Event) bool {
	return ev.Type == wire.EventMessage && ev.Message.Role == string(store.RoleSummary)
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
	if ev.Message.Text() != "SUMMARY-OF-ONE" || ev.Message.ModelConfigID != e.model.ID || ev.Message.CostMicros == nil {
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

// withPrompt makes a scripted answer report tokens input tokens, as if
// the prompt it answered were that long.
func withPrompt(tokens int, r llmtest.Response) llmtest.Response {
	const from = `"prompt_tokens":10,`
	if !bytes.Contains(r.Body, []byte(from)) {
		panic("withPrompt: the answer reports no prompt tokens")
	}
	r.Body = bytes.Replace(r.Body, []byte(from), fmt.Appendf(nil, `"prompt_tokens":%d,`, tokens), 1)
	return r
}

// setContextLimit gives the env's model a context limit.
func (e *env) setContextLimit(limit int64) {
	e.t.Helper()
	if _, err := e.db.UpdateModel(e.t.Context(), e.model.ID, store.ModelPatch{ContextLimit: &limit}); err != nil {
		e.t.Fatalf("set context limit: %v", err)
	}
}

// TestAutomaticCompaction: a plain conversation, whose steps call no
// tool, compacts before the first step of the turn whose prompt would
// cross the threshold (the last step's input plus what came since), and
// the usage of the kept messages, counted before the summary, does not
// compact it again.
func TestAutomaticCompaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t,
		withPrompt(100, textReply("answer-one")), withPrompt(300, textReply("answer-two")), withPrompt(790, textReply("answer-three")),
		textReply("SUMMARY-OF-ONE"),
		withPrompt(200, textReply("answer-four")),
		textReply("answer-five"),
	)
	e.setContextLimit(1000)
	s := e.service(nil)
	c := e.newChat(s, "question-one")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))
	exchange(t, s, e, events, c.ID, "question-two")
	exchange(t, s, e, events, c.ID, "question-three")
	// 790 tokens, with the answer and this question, cross 80% of 1000.
	exchange(t, s, e, events, c.ID, "question-four "+strings.Repeat("x", 40))
	exchange(t, s, e, events, c.ID, "question-five")

	msgs := e.messages(c.ID)
	if got, want := roles(msgs), "user,assistant,user,assistant,user,assistant,user,summary,assistant,user,assistant"; got != want {
		t.Fatalf("roles = %s, want %s", got, want)
	}
	if msgs[7].SummaryThroughSeq != 2 || textOf(msgs[7].Parts) != "SUMMARY-OF-ONE" {
		t.Fatalf("summary = %+v", msgs[7])
	}
	reqs := e.up.Requests()
	if len(reqs) != 6 {
		t.Fatalf("%d upstream requests, want 6", len(reqs))
	}
	wantIn(t, "summary request", reqs[3].Body, []string{"question-one", "answer-one"}, []string{"question-two", "question-four"})
	// The turn's step sees the summary and the kept messages with its
	// own question.
	wantIn(t, "request after compaction", reqs[4].Body,
		[]string{"SUMMARY-OF-ONE", "question-two", "answer-two", "question-three", "answer-three", "question-four"},
		[]string{"question-one", "answer-one"})
}

// TestAutomaticCompactionInToolLoop: a turn whose tool loop fills the
// context compacts between its steps, and never summarises the request
// it is still answering: the summary covers the turns before it only.
func TestAutomaticCompactionInToolLoop(t *testing.T) {
	t.Parallel()
	e := newEnv(t,
		withPrompt(100, textReply("answer-one")),
		withPrompt(100, toolReply("call_1", "current_time", "{}")),
		withPrompt(100, toolReply("call_2", "current_time", "{}")),
		withPrompt(850, toolReply("call_3", "current_time", "{}")),
		textReply("SUMMARY-OF-ONE"),
		textReply("answer-two"),
	)
	e.setContextLimit(1000)
	s := e.service(nil)
	c := e.newChat(s, "question-one")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))
	exchange(t, s, e, events, c.ID, "question-two")

	msgs := e.messages(c.ID)
	if got, want := roles(msgs), "user,assistant,user,assistant,tool,assistant,tool,assistant,tool,summary,assistant"; got != want {
		t.Fatalf("roles = %s, want %s", got, want)
	}
	if msgs[9].SummaryThroughSeq != 5 {
		t.Fatalf("summary covers through seq %d, want 5 (the loop's first finished step)", msgs[9].SummaryThroughSeq)
	}
	reqs := e.up.Requests()
	wantIn(t, "summary request", reqs[4].Body, []string{"question-one", "answer-one", "question-two", "call_1"}, []string{"call_2"})
	// The turn's question is summarised but repeated after the summary.
	wantIn(t, "request after compaction", reqs[5].Body,
		[]string{"SUMMARY-OF-ONE", "question-two", "call_2", "call_3"},
		[]string{"question-one", "answer-one", "call_1"})
}

// TestCompactionThresholdPerModel: a model config's own threshold
// applies to chats on it, between the user's setting and the
// deployment's.
func TestCompactionThresholdPerModel(t *testing.T) {
	t.Parallel()
	e := newEnv(t,
		withPrompt(100, textReply("answer-one")), withPrompt(100, textReply("answer-two")), withPrompt(600, textReply("answer-three")),
		textReply("SUMMARY-OF-ONE"),
		textReply("answer-four"),
	)
	e.setContextLimit(1000)
	ctx := t.Context()
	// The deployment's 90% would not compact at 600 of 1000 tokens; the
	// model's 50% does.
	if err := e.db.PutSetting(ctx, settings.CompactionThresholdPercent, "90"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.UpdateModel(ctx, e.model.ID, store.ModelPatch{CompactionThresholdPercent: new(50)}); err != nil {
		t.Fatalf("set model threshold: %v", err)
	}
	s := e.service(nil)
	c := e.newChat(s, "question-one")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))
	exchange(t, s, e, events, c.ID, "question-two")
	exchange(t, s, e, events, c.ID, "question-three")
	exchange(t, s, e, events, c.ID, "question-four")
	if got, want := roles(e.messages(c.ID)), "user,assistant,user,assistant,user,assistant,user,summary,assistant"; got != want {
		t.Fatalf("roles = %s, want %s", got, want)
	}

	// Precedence: the user's setting, else the model's, else the
	// deployment's, else 80.
	tests := []struct {
		name       string
		user       string
		model      *int
		deployment string
		want       int
	}{
		{name: "default", want: 80},
		{name: "deployment", deployment: "90", want: 90},
		{name: "model beats deployment", model: new(50), deployment: "90", want: 50},
		{name: "model alone", model: new(50), want: 50},
		{name: "user beats model", user: "30", model: new(50), deployment: "90", want: 30},
		{name: "user alone", user: "30", want: 30},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Sequential: the cases share the deployment setting.
			u, err := e.db.CreateUser(ctx, store.User{Username: fmt.Sprintf("u%d", i), Role: store.RoleMember})
			if err != nil {
				t.Fatal(err)
			}
			if tt.user != "" {
				if err := e.db.PutUserSetting(ctx, u.ID, settings.CompactionThresholdPercent, tt.user); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.db.PutSetting(ctx, settings.CompactionThresholdPercent, tt.deployment); err != nil {
				t.Fatal(err)
			}
			mc := e.model
			mc.CompactionThresholdPercent = tt.model
			if got := s.compactionThreshold(ctx, u.ID, mc); got != tt.want {
				t.Fatalf("threshold = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestPromptTokens estimates the next prompt from the latest step the
// provider counted since the summary.
func TestPromptTokens(t *testing.T) {
	t.Parallel()
	msg := func(seq int64, role store.MessageRole, txt string) store.Message {
		return store.Message{Seq: seq, Role: role, Parts: text(txt), ModelConfigID: "oai"}
	}
	step := func(seq int64, u store.Usage, model string) store.Message {
		m := msg(seq, store.RoleAssistant, "answer!!") // 8 bytes
		m.Usage, m.ModelConfigID = u, model
		return m
	}
	sum := msg(5, store.RoleSummary, "summary!") // 8 bytes
	sum.SummaryThroughSeq = 2
	q := "question" // 8 bytes
	typeOf := func(id string) store.ProviderType {
		if id == "anth" {
			return store.ProviderAnthropic
		}
		return store.ProviderOpenAI
	}
	tests := []struct {
		name    string
		history []store.Message
		want    int64
	}{
		{"nothing counted yet", []store.Message{msg(1, store.RoleUser, q)}, 2},
		{"latest step and what follows", []store.Message{
			msg(1, store.RoleUser, q), step(2, store.Usage{Input: 50}, "oai"), msg(3, store.RoleUser, q),
			step(4, store.Usage{Input: 100, Output: 9}, "oai"), {Seq: 5, Role: store.RoleTool, Parts: []store.Part{{Type: store.PartToolResult, Output: "result!!"}}},
		}, 100 + 4},
		{"unmetered answer skipped", []store.Message{
			step(1, store.Usage{Input: 100}, "oai"), step(2, store.Usage{}, "oai"), msg(3, store.RoleUser, q),
		}, 100 + 6},
		{"openai input includes cached tokens", []store.Message{step(1, store.Usage{Input: 100, CacheRead: 60}, "oai")}, 100 + 2},
		{"anthropic counts cached tokens apart", []store.Message{step(1, store.Usage{Input: 10, CacheRead: 60, CacheWrite: 30}, "anth")}, 100 + 2},
		{"steps before the summary are not counted", []store.Message{
			msg(1, store.RoleUser, q), step(2, store.Usage{Input: 900}, "oai"), msg(3, store.RoleUser, q), step(4, store.Usage{Input: 900}, "oai"),
			sum, msg(6, store.RoleUser, q),
		}, 8}, // the summary, question 3, answer 4 and question 6
		{"a step after the summary is", []store.Message{
			msg(1, store.RoleUser, q), step(2, store.Usage{Input: 900}, "oai"), msg(3, store.RoleUser, q), step(4, store.Usage{Input: 900}, "oai"),
			sum, msg(6, store.RoleUser, q), step(7, store.Usage{Input: 40}, "oai"),
		}, 40 + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := promptTokens(tt.history, typeOf); got != tt.want {
				t.Fatalf("promptTokens = %d, want %d", got, tt.want)
			}
		})
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
	// call is an assistant message that only calls a tool: a step of a
	// tool loop, which answers nothing.
	call := func(seq int64) store.Message {
		return store.Message{Seq: seq, Role: store.RoleAssistant, Parts: []store.Part{{Type: store.PartToolCall, ToolCallID: fmt.Sprint("call_", seq), ToolName: "t"}}}
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
		// A running turn's tool loop is cut after a finished step, its
		// request included: the prompt repeats the request (see
		// TestPromptPinsPendingRequests), so a long loop still compacts.
		{"running turn's tool loop cut after a step", []store.Message{msg(1, u), msg(2, a), msg(3, u), call(4), msg(5, tl), call(6), msg(7, tl), call(8), msg(9, tl)},
			5, "user,assistant,user,assistant,tool"},
		{"first turn's tool loop", []store.Message{msg(1, u), call(2), msg(3, tl), call(4), msg(5, tl), call(6), msg(7, tl)}, 3, "user,assistant,tool"},
		{"answered tool loop may be cut", []store.Message{msg(1, u), call(2), msg(3, tl), msg(4, a), msg(5, u), call(6), msg(7, tl)},
			3, "user,assistant,tool"},
		{"two requests of one turn", []store.Message{msg(1, u), msg(2, a), msg(3, u), msg(4, u), call(5), msg(6, tl), call(7), msg(8, tl), call(9), msg(10, tl)},
			6, "user,assistant,user,user,assistant,tool"},
		{"tool loop after a summary", []store.Message{msg(1, u), msg(2, a), msg(3, u), msg(4, a), sum(5, 2), msg(6, u), msg(7, a), msg(8, u), call(9), msg(10, tl), call(11), msg(12, tl)},
			7, "summary,user,assistant,user,assistant"},
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

// TestPromptPinsPendingRequests: a summary written mid-turn covers the
// turn's requests, and the prompt repeats them after the summary, before
// the steps it did not cover; a final answer ends the pinning.
func TestPromptPinsPendingRequests(t *testing.T) {
	t.Parallel()
	call := func(seq int64, id string) store.Message {
		return store.Message{Seq: seq, Role: store.RoleAssistant, Parts: []store.Part{{Type: store.PartToolCall, ToolCallID: id, ToolName: "t", Input: "{}"}}}
	}
	result := func(seq int64, id string) store.Message {
		return store.Message{Seq: seq, Role: store.RoleTool, Parts: []store.Part{{Type: store.PartToolResult, ToolCallID: id, ToolName: "t", Output: "ok"}}}
	}
	h := []store.Message{
		{Seq: 1, Role: store.RoleUser, Parts: text("old")},
		{Seq: 2, Role: store.RoleAssistant, Parts: text("old answer")},
		{Seq: 3, Role: store.RoleUser, Parts: text("first request")},
		{Seq: 4, Role: store.RoleUser, Parts: text("second request")},
		call(5, "c1"), result(6, "c1"), call(7, "c2"), result(8, "c2"),
		{Seq: 9, Role: store.RoleSummary, Parts: text("S"), SummaryThroughSeq: 6},
	}
	got := roles(promptHistory(h))
	if want := "summary,user,user,assistant,tool"; got != want {
		t.Fatalf("prompt history = %s, want %s", got, want)
	}
	p := buildPrompt(h)
	if len(p) != 5 || p[0].Role != fantasy.MessageRoleSystem || p[1].Role != fantasy.MessageRoleUser || p[3].Role != fantasy.MessageRoleAssistant {
		t.Fatalf("prompt = %+v", p)
	}
	// Once the turn answered, nothing is pinned: the old request would
	// look unanswered.
	done := append(h[:len(h):len(h)], store.Message{Seq: 10, Role: store.RoleAssistant, Parts: text("done")})
	if got, want := roles(promptHistory(done)), "summary,assistant,tool,assistant"; got != want {
		t.Fatalf("after the answer, prompt history = %s, want %s", got, want)
	}
}

// largeRequestRoles runs a chat on a 1,000-token model whose first
// request, about 680 tokens, is as large as the 80% threshold allows
// beside a summary, answered by replies; it returns the chat's roles.
func largeRequestRoles(t *testing.T, replies ...llmtest.Response) string {
	t.Helper()
	e := newEnv(t, replies...)
	e.setContextLimit(1000)
	s := e.service(nil)
	c := e.newChat(s, strings.Repeat("a large request ", 170))
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))
	return roles(e.messages(c.ID))
}

// TestNoCompactionThatCannotHelp: a request about as large as the
// threshold is repeated after any summary, so summarising the steps
// around it would not bring the prompt under the threshold; while the
// prompt is not near the context limit, the turn goes on without paying
// for summary calls.
func TestNoCompactionThatCannotHelp(t *testing.T) {
	t.Parallel()
	got := largeRequestRoles(t,
		withPrompt(820, toolReply("call_1", "current_time", "{}")),
		withPrompt(830, toolReply("call_2", "current_time", "{}")),
		withPrompt(840, toolReply("call_3", "current_time", "{}")),
		withPrompt(850, toolReply("call_4", "current_time", "{}")),
		withPrompt(860, textReply("done")),
	)
	if want := "user,assistant,tool,assistant,tool,assistant,tool,assistant,tool,assistant"; got != want {
		t.Fatalf("roles = %s, want %s (no summary)", got, want)
	}
}

// TestCompactionNearTheLimit: when the prompt nears the context limit, a
// compaction runs even if it cannot reach the threshold, since any saving
// keeps the turn from overflowing.
func TestCompactionNearTheLimit(t *testing.T) {
	t.Parallel()
	got := largeRequestRoles(t,
		withPrompt(820, toolReply("call_1", "current_time", "{}")),
		withPrompt(850, toolReply("call_2", "current_time", "{}")),
		withPrompt(950, toolReply("call_3", "current_time", "{}")),
		textReply("SUMMARY"),
		textReply("done"),
	)
	if !strings.Contains(got, "summary") {
		t.Fatalf("roles = %s, want a summary once the prompt neared the limit", got)
	}
}
