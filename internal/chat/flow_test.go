package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/settings"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// gated holds a streamed response until the test releases its events.
func gated(r llmtest.Response) (llmtest.Response, chan struct{}) {
	g := make(chan struct{})
	r.Gate = g
	return r, g
}

func isDelta(ev wire.Event) bool {
	return ev.Type == wire.EventPart && ev.Part.Kind == wire.PartTextDelta
}

func TestQueuedMessageRunsNext(t *testing.T) {
	t.Parallel()
	first, gate := gated(textReply("one"))
	e := newEnv(t, first, textReply("two"))
	s := e.service(nil)
	c := e.newChat(s, "first")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	gate <- struct{}{} // the role chunk
	gate <- struct{}{} // "one"
	next(t, events, isDelta)

	res, err := s.Send(t.Context(), c.ID, text("second"), e.key2, e.user.ID, store.SendQueue)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if res.Queued == nil || res.Message != nil || res.Queued.APIKeyID != e.key2 {
		t.Fatalf("send result = %+v", res)
	}
	ev := next(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventQueue && len(ev.Queue) == 1 })
	if ev.Queue[0].APIKeyID != e.key2 {
		t.Fatalf("queued view = %+v", ev.Queue[0])
	}
	close(gate)
	next(t, events, status(store.ChatWaiting))

	msgs := e.messages(c.ID)
	if got, want := roles(msgs), "user,assistant,user,assistant"; got != want {
		t.Fatalf("roles = %s, want %s", got, want)
	}
	if msgs[2].APIKeyID != e.key2 || textOf(msgs[3].Parts) != "two" {
		t.Fatalf("second exchange = %+v / %+v", msgs[2], msgs[3])
	}
	recs := e.records()
	if len(recs) != 2 || recs[0].APIKeyID != e.key || recs[1].APIKeyID != e.key2 {
		t.Fatalf("records = %+v", recs)
	}
	for _, r := range recs {
		if r.ChatID != c.ID {
			t.Fatalf("record chat = %q, want %q", r.ChatID, c.ID)
		}
	}
}

func TestInterruptKeepsPartialAnswer(t *testing.T) {
	t.Parallel()
	r, gate := gated(textReply("Hel", "lo", " world"))
	e := newEnv(t, r)
	s := e.service(nil)
	c := e.newChat(s, "hi")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	gate <- struct{}{}
	gate <- struct{}{}
	ev := next(t, events, isDelta)
	if ev.Part.Delta != "Hel" {
		t.Fatalf("delta = %q", ev.Part.Delta)
	}
	if _, err := s.Interrupt(t.Context(), c.ID); err != nil {
		t.Fatalf("interrupt: %v", err)
	}
	next(t, events, status(store.ChatWaiting))
	msgs := e.messages(c.ID)
	if got := roles(msgs); got != "user,assistant" {
		t.Fatalf("roles = %s", got)
	}
	if got := textOf(msgs[1].Parts); got != "Hel" {
		t.Fatalf("partial answer = %q, want %q", got, "Hel")
	}
	// The model is priced, but the provider never reported the partial
	// answer's usage: it is unmetered, not unpriced.
	cost, err := s.Cost(t.Context(), c.ID)
	if err != nil {
		t.Fatalf("cost: %v", err)
	}
	if cost.UnpricedMessages != 0 || cost.UnmeteredMessages != 1 {
		t.Fatalf("cost = %+v, want 0 unpriced and 1 unmetered message", cost)
	}
	select {
	case <-e.up.Canceled():
	case <-time.After(waitTimeout):
		t.Fatalf("the upstream call was not cancelled")
	}
}

// TestInterruptedAnswerIsMarked: the kept partial answer records that an
// interrupt cut it short, watchers see that, and the next turn's prompt
// tells the model so while the stored text stays as it arrived.
func TestInterruptedAnswerIsMarked(t *testing.T) {
	t.Parallel()
	r, gate := gated(textReply("Hel", "lo", " world"))
	e := newEnv(t, r, textReply("Sorry, go on."))
	s := e.service(nil)
	c := e.newChat(s, "hi")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	gate <- struct{}{} // the role chunk
	gate <- struct{}{} // "Hel"
	next(t, events, isDelta)
	if _, err := s.Interrupt(t.Context(), c.ID); err != nil {
		t.Fatalf("interrupt: %v", err)
	}
	ev := next(t, events, func(ev wire.Event) bool {
		return ev.Type == wire.EventMessage && ev.Message.Role == wire.RoleAssistant
	})
	if ev.Message.EndReason != wire.EndInterrupted || ev.Message.Text() != "Hel" {
		t.Fatalf("committed partial = %+v, want text %q ended %q", ev.Message, "Hel", wire.EndInterrupted)
	}
	next(t, events, status(store.ChatWaiting))

	if _, err := s.Send(t.Context(), c.ID, text("go on"), e.key, e.user.ID, store.SendQueue); err != nil {
		t.Fatalf("send: %v", err)
	}
	next(t, events, status(store.ChatRunning))
	next(t, events, status(store.ChatWaiting))

	msgs := e.messages(c.ID)
	if got := roles(msgs); got != "user,assistant,user,assistant" {
		t.Fatalf("roles = %s", got)
	}
	if msgs[1].EndReason != store.EndInterrupted || textOf(msgs[1].Parts) != "Hel" {
		t.Fatalf("stored partial = %+v", msgs[1])
	}
	if msgs[3].EndReason != "" {
		t.Fatalf("complete answer ended %q, want no reason", msgs[3].EndReason)
	}
	reqs := e.up.Requests()
	if len(reqs) != 2 {
		t.Fatalf("upstream got %d requests, want 2", len(reqs))
	}
	var body struct {
		Messages []struct {
			Role    string `json:"role"`
			Content any    `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(reqs[1].Body, &body); err != nil {
		t.Fatalf("decode second request: %v\n%s", err, reqs[1].Body)
	}
	var got []string
	for _, m := range body.Messages {
		got = append(got, fmt.Sprintf("%s: %v", m.Role, m.Content))
	}
	want := []string{"user: hi", "assistant: Hel\n\n" + interruptedMarker, "user: go on"}
	if !slices.Equal(got, want) {
		t.Fatalf("second prompt = %q, want %q", got, want)
	}
}

func TestEditReruns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, textReply("old answer"), textReply("new answer"))
	s := e.service(nil)
	c := e.newChat(s, "old question")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))
	msgs := e.messages(c.ID)
	if _, _, err := s.Edit(t.Context(), c.ID, msgs[0].ID, text("new question"), e.key2); err != nil {
		t.Fatalf("edit: %v", err)
	}
	next(t, events, status(store.ChatRunning))
	next(t, events, status(store.ChatWaiting))
	msgs = e.messages(c.ID)
	if got := roles(msgs); got != "user,assistant" {
		t.Fatalf("roles = %s", got)
	}
	if textOf(msgs[0].Parts) != "new question" || textOf(msgs[1].Parts) != "new answer" || msgs[0].APIKeyID != e.key2 {
		t.Fatalf("messages = %+v", msgs)
	}
	body := string(e.up.Requests()[1].Body)
	if strings.Contains(body, "old") {
		t.Fatalf("the rerun still sent the old exchange: %s", body)
	}
}

var lookup = store.ToolSpec{Name: "lookup", Description: "Look a thing up.", InputSchema: []byte(`{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}`)}

func TestRequiresActionRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, toolReply("call_c", "lookup", `{"q":"x"}`), textReply("found it"))
	s := e.service(nil)
	c := e.newChat(s, "look x up", lookup)
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	ev := next(t, events, status(store.ChatRequiresAction))
	if ev.Chat.ActionDeadline == nil {
		t.Fatalf("no action deadline")
	}
	msgs := e.messages(c.ID)
	if got := roles(msgs); got != "user,assistant" {
		t.Fatalf("roles = %s", got)
	}
	if p := msgs[1].Parts[0]; !p.ClientSide || p.ToolName != "lookup" || p.Input != `{"q":"x"}` {
		t.Fatalf("client call = %+v", p)
	}
	if !strings.Contains(string(e.up.Requests()[0].Body), `"lookup"`) {
		t.Fatalf("the client tool was not offered to the model")
	}
	if _, err := s.SubmitToolResults(t.Context(), c.ID, []store.Part{{Type: store.PartToolResult, ToolCallID: "call_c", Output: "forty-two"}}); err != nil {
		t.Fatalf("submit: %v", err)
	}
	next(t, events, status(store.ChatWaiting))
	if got := roles(e.messages(c.ID)); got != "user,assistant,tool,assistant" {
		t.Fatalf("roles = %s", got)
	}
	if !strings.Contains(string(e.up.Requests()[1].Body), "forty-two") {
		t.Fatalf("the result did not reach the model")
	}
}

func TestRequiresActionDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, toolReply("call_c", "lookup", `{"q":"x"}`), textReply("gave up"))
	// The clock lags, so the deadline is already past when it is set.
	s := e.service(func(c *Config) {
		c.Now = func() time.Time { return time.Now().Add(-time.Hour) }
		c.sweepInterval = time.Hour
	})
	c := e.newChat(s, "look x up", lookup)
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatRequiresAction))
	s.sweepOnce(t.Context())
	next(t, events, status(store.ChatWaiting))
	msgs := e.messages(c.ID)
	if got := roles(msgs); got != "user,assistant,tool,assistant" {
		t.Fatalf("roles = %s", got)
	}
	if p := msgs[2].Parts[0]; !p.IsError || p.ToolCallID != "call_c" {
		t.Fatalf("cancellation result = %+v", p)
	}
}

func TestWorkerTakeover(t *testing.T) {
	t.Parallel()
	t.Run("cancelled mid-turn", func(t *testing.T) {
		t.Parallel()
		r, gate := gated(textReply("lost"))
		e := newEnv(t, r, textReply("kept"))
		s1 := e.service(nil)
		c := e.newChat(s1, "hi")
		events := subscribe(t, s1, c.ID, "")
		stop := run(t, s1)
		gate <- struct{}{}
		gate <- struct{}{}
		seen := next(t, events, isDelta)
		stop()

		// A watcher that held s1's partial answer resumes on s2: it must be
		// told to drop that partial before s2 streams the step again.
		s2 := e.service(nil)
		events = subscribe(t, s2, c.ID, seen.ID)
		run(t, s2)
		var order []string
		next(t, events, func(ev wire.Event) bool {
			if ev.Type == wire.EventPart {
				order = append(order, string(ev.Part.Kind))
			}
			return ev.Type == wire.EventChat && ev.Chat.Status == string(store.ChatWaiting)
		})
		if len(order) == 0 || order[0] != string(wire.PartRestart) {
			t.Fatalf("parts after takeover = %v, want a restart first", order)
		}
		msgs := e.messages(c.ID)
		if got := roles(msgs); got != "user,assistant" {
			t.Fatalf("roles = %s", got)
		}
		if got := textOf(msgs[1].Parts); got != "kept" {
			t.Fatalf("answer = %q", got)
		}
	})
	t.Run("stale lease", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, textReply("done"))
		s := e.service(nil)
		c := e.newChat(s, "hi")
		// A worker that acquires the chat and dies without a word.
		if _, ok, err := e.db.AcquireChat(t.Context(), "crashed", 50*time.Millisecond); err != nil || !ok {
			t.Fatalf("acquire: %v %v", ok, err)
		}
		events := subscribe(t, s, c.ID, "")
		run(t, s)
		next(t, events, status(store.ChatWaiting))
		msgs := e.messages(c.ID)
		if got := roles(msgs); got != "user,assistant" {
			t.Fatalf("roles = %s", got)
		}
		if _, _, err := e.db.CommitStep(t.Context(), c.ID, "crashed", nil); err == nil {
			t.Fatalf("the crashed worker can still commit")
		}
	})
}

func TestTitle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	titles := llmtest.NewServer(t, llmtest.Response{
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   []byte(`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"\"Planning a trip to Kyoto\""},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`),
	})
	central, err := e.kr.Seal(secret.New("sk-titles"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.db.CreateProvider(t.Context(), store.Provider{Name: "titles", Type: store.ProviderOpenAI, BaseURL: titles.URL + "/v1", Enabled: true, APIKeyCipher: central})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := e.db.CreateModel(t.Context(), store.ModelConfig{ProviderID: p.ID, Model: "cheap", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	s := e.service(func(c *Config) { c.TitleModelID = mc.ID })
	c, err := s.CreateChat(t.Context(), store.NewChat{OwnerID: e.user.ID, ModelConfigID: e.model.ID, APIKeyID: e.key})
	if err != nil {
		t.Fatal(err)
	}
	events := subscribe(t, s, c.ID, "")
	if _, err := s.Send(t.Context(), c.ID, text("I want to plan a trip to Kyoto"), e.key, e.user.ID, store.SendQueue); err != nil {
		t.Fatal(err)
	}
	// No workers run: the turn waits, the title does not.
	ev := next(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventChat && ev.Chat.Title != "" })
	if ev.Chat.Title != "Planning a trip to Kyoto" {
		t.Fatalf("title = %q", ev.Chat.Title)
	}
	req := titles.Requests()[0]
	if req.Header.Get("X-Chatd-Chat-Id") != "" {
		t.Fatalf("a title call carries the chat id")
	}
	// Drain the title goroutine before the store closes.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_ = s.Run(ctx)
}

// TestTitleOverrideFallsBackToChatModel: the user's title model override
// is tried first; when it fails, the chat's own model writes the title.
func TestTitleOverrideFallsBackToChatModel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, llmtest.Response{
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   []byte(`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Kyoto trip"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`),
	})
	titles := llmtest.NewServer(t, errorReply(400, "this title model is broken"))
	central, err := e.kr.Seal(secret.New("sk-titles"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.db.CreateProvider(t.Context(), store.Provider{Name: "titles", Type: store.ProviderOpenAI, BaseURL: titles.URL + "/v1", Enabled: true, APIKeyCipher: central})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := e.db.CreateModel(t.Context(), store.ModelConfig{ProviderID: p.ID, Model: "cheap", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.PutUserSetting(t.Context(), e.user.ID, settings.ModelKey(settings.ModelTitle), mc.ID); err != nil {
		t.Fatal(err)
	}
	s := e.service(nil)
	c, err := s.CreateChat(t.Context(), store.NewChat{OwnerID: e.user.ID, ModelConfigID: e.model.ID, APIKeyID: e.key})
	if err != nil {
		t.Fatal(err)
	}
	events := subscribe(t, s, c.ID, "")
	if _, err := s.Send(t.Context(), c.ID, text("I want to plan a trip to Kyoto"), e.key, e.user.ID, store.SendQueue); err != nil {
		t.Fatal(err)
	}
	ev := next(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventChat && ev.Chat.Title != "" })
	if ev.Chat.Title != "Kyoto trip" {
		t.Fatalf("title = %q, want the chat model's", ev.Chat.Title)
	}
	if n := len(titles.Requests()); n != 1 {
		t.Fatalf("title model called %d times, want 1", n)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_ = s.Run(ctx)
}

func TestTitleFallback(t *testing.T) {
	t.Parallel()
	e := newEnv(t, errorReply(400, "no titles today"))
	s := e.service(nil)
	long := strings.Repeat("word ", 40)
	c, err := s.CreateChat(t.Context(), store.NewChat{OwnerID: e.user.ID, ModelConfigID: e.model.ID, APIKeyID: e.key, First: text(long)})
	if err != nil {
		t.Fatal(err)
	}
	events := subscribe(t, s, c.ID, "")
	ev := next(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventChat && ev.Chat.Title != "" })
	if n := len([]rune(ev.Chat.Title)); n > maxTitleLen || !strings.HasPrefix(ev.Chat.Title, "word word") {
		t.Fatalf("fallback title = %q (%d)", ev.Chat.Title, n)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_ = s.Run(ctx)
}

// TestInterruptFromAnotherReplica interrupts through a Service that does
// not run the turn: the owning worker notices on its heartbeat.
func TestInterruptFromAnotherReplica(t *testing.T) {
	t.Parallel()
	r, gate := gated(textReply("par", "tial", " answer"))
	e := newEnv(t, r)
	owner := e.service(func(c *Config) { c.Lease = 300 * time.Millisecond })
	other := e.service(nil)
	c := e.newChat(owner, "hi")
	events := subscribe(t, owner, c.ID, "")
	run(t, owner)
	gate <- struct{}{}
	gate <- struct{}{}
	gate <- struct{}{}
	next(t, events, func(ev wire.Event) bool { return isDelta(ev) && ev.Part.Delta == "tial" })
	if _, err := other.Interrupt(t.Context(), c.ID); err != nil {
		t.Fatalf("interrupt: %v", err)
	}
	next(t, events, status(store.ChatWaiting))
	msgs := e.messages(c.ID)
	if got := textOf(msgs[len(msgs)-1].Parts); got != "partial" {
		t.Fatalf("partial answer = %q", got)
	}
}
