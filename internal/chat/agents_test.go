package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/settings"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// upReq is an OpenAI Chat Completions request as the scripted upstream
// sees it.
type upReq struct {
	Stream   bool `json:"stream"`
	Messages []struct {
		Role       string `json:"role"`
		Content    any    `json:"content"`
		ToolCallID string `json:"tool_call_id"`
	} `json:"messages"`
	Tools []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
}

// content is a message's text, whether sent as a string or as parts.
func content(v any) string {
	switch c := v.(type) {
	case string:
		return c
	case []any:
		var b strings.Builder
		for _, p := range c {
			if m, ok := p.(map[string]any); ok {
				if s, ok := m["text"].(string); ok {
					b.WriteString(s)
				}
			}
		}
		return b.String()
	}
	return ""
}

func (r upReq) firstUser() string {
	for _, m := range r.Messages {
		if m.Role == "user" {
			return content(m.Content)
		}
	}
	return ""
}

func (r upReq) lastUser() string {
	s := ""
	for _, m := range r.Messages {
		if m.Role == "user" {
			s = content(m.Content)
		}
	}
	return s
}

// results are the tool results so far, oldest first.
func (r upReq) results() []string {
	var out []string
	for _, m := range r.Messages {
		if m.Role == "tool" {
			out = append(out, content(m.Content))
		}
	}
	return out
}

func (r upReq) hasTool(name string) bool {
	for _, t := range r.Tools {
		if t.Function.Name == name {
			return true
		}
	}
	return false
}

// reply is a scripted upstream answer: a text, tool calls, or an HTTP
// error.
type reply struct {
	text   string
	calls  [][2]string // name, JSON arguments
	status int
}

func say(s string) reply                 { return reply{text: s} }
func call(name string, args any) reply   { return reply{calls: [][2]string{{name, mustJSON(args)}}} }
func calls(cs ...[2]string) reply        { return reply{calls: cs} }
func failWith(status int) reply          { return reply{status: status} }
func tc(name string, args any) [2]string { return [2]string{name, mustJSON(args)} }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Usage of every scripted answer, with cached tokens so that the cost
// check covers how OpenAI counts them inside the prompt tokens.
const (
	upPrompt, upCached, upCompletion = 100, 40, 7
)

// agentSSE builds a Chat Completions stream for r.
func agentSSE(r reply) []byte {
	var b strings.Builder
	n := 0
	chunk := func(choices any, usage any) {
		n++
		m := map[string]any{"id": "chatcmpl-a", "object": "chat.completion.chunk", "created": 1, "model": "agent-model", "choices": choices}
		if usage != nil {
			m["usage"] = usage
		}
		fmt.Fprintf(&b, "data: %s\n\n", mustJSON(m))
	}
	delta := func(d map[string]any) {
		chunk([]any{map[string]any{"index": 0, "delta": d, "finish_reason": nil}}, nil)
	}
	delta(map[string]any{"role": "assistant", "content": ""})
	finish := "stop"
	if r.text != "" {
		delta(map[string]any{"content": r.text})
	}
	for i, c := range r.calls {
		finish = "tool_calls"
		delta(map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": fmt.Sprintf("call_%d", i), "type": "function", "function": map[string]any{"name": c[0], "arguments": c[1]}}}})
	}
	chunk([]any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": finish}}, nil)
	chunk([]any{}, map[string]any{"prompt_tokens": upPrompt, "completion_tokens": upCompletion, "total_tokens": upPrompt + upCompletion,
		"prompt_tokens_details": map[string]any{"cached_tokens": upCached}})
	b.WriteString("data: [DONE]\n\n")
	return []byte(b.String())
}

// agentJSON builds a blocking Chat Completions answer of text r, with
// the same usage as agentSSE.
func agentJSON(r reply) []byte {
	return []byte(mustJSON(map[string]any{
		"id": "chatcmpl-b", "object": "chat.completion", "created": 1, "model": "agent-model",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": r.text}, "finish_reason": "stop"}},
		"usage": map[string]any{"prompt_tokens": upPrompt, "completion_tokens": upCompletion, "total_tokens": upPrompt + upCompletion,
			"prompt_tokens_details": map[string]any{"cached_tokens": upCached}},
	}))
}

// agentEnv adds to env a provider whose upstream answers by script, so
// that concurrent parents and children each get the answer meant for
// them whatever the order of their calls.
type agentEnv struct {
	*env
	model store.ModelConfig // priced, with a cache-read price
	// gate holds "block" children until closed, or their call is cancelled.
	gate     chan struct{}
	gateOnce sync.Once
	mu       sync.Mutex
	reqs     []upReq // guarded by mu
}

func newAgentEnv(t *testing.T, script func(upReq) reply) *agentEnv {
	t.Helper()
	e := &agentEnv{env: newEnv(t), gate: make(chan struct{})}
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req upReq
		if err := json.Unmarshal(body, &req); err != nil {
			t.Errorf("upstream: decode request: %v", err)
		}
		e.mu.Lock()
		e.reqs = append(e.reqs, req)
		e.mu.Unlock()
		if strings.Contains(req.lastUser(), "block") && len(req.results()) == 0 {
			select {
			case <-e.gate:
			case <-r.Context().Done():
				return
			case <-done:
				return
			}
		}
		rep := script(req)
		if rep.status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rep.status)
			_, _ = w.Write([]byte(`{"error":{"message":"the model refused: scripted failure","type":"invalid_request_error","code":null}}`))
			return
		}
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(agentJSON(rep))
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(agentSSE(rep))
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	ctx := t.Context()
	prov, err := e.db.CreateProvider(ctx, store.Provider{Name: "scripted", Type: store.ProviderOpenAI, BaseURL: srv.URL + "/v1", Enabled: true, APIKeyCipher: e.sealed("sk-scripted"), APIKeyHint: "sk-…"})
	if err != nil {
		t.Fatalf("create provider: %v", err)
	}
	in, out, cr := 1.5, 4.0, 0.5
	e.model, err = e.db.CreateModel(ctx, store.ModelConfig{ProviderID: prov.ID, Model: "agent-model", DisplayName: "Agent", Enabled: true, Prices: store.Prices{Input: &in, Output: &out, CacheRead: &cr}})
	if err != nil {
		t.Fatalf("create model: %v", err)
	}
	return e
}

func (e *agentEnv) sealed(s string) []byte {
	e.t.Helper()
	b, err := e.kr.Seal(secret.New(s))
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *agentEnv) release() { e.gateOnce.Do(func() { close(e.gate) }) }

func (e *agentEnv) requests() []upReq {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]upReq(nil), e.reqs...)
}

// parentChat creates a root chat on the scripted model.
func (e *agentEnv) parentChat(s *Service, first string) store.Chat {
	e.t.Helper()
	c, err := s.CreateChat(e.t.Context(), store.NewChat{OwnerID: e.user.ID, Title: "parent", ModelConfigID: e.model.ID, First: text(first), APIKeyID: e.key2})
	if err != nil {
		e.t.Fatalf("create chat: %v", err)
	}
	return c
}

// spawned is the agent id in a spawn_agent result.
func spawned(t *testing.T, result string) string {
	t.Helper()
	var info agentInfo
	if err := json.Unmarshal([]byte(result), &info); err != nil || info.AgentID == "" {
		t.Fatalf("spawn result %q: %v", result, err)
	}
	return info.AgentID
}

func decodeWait(t *testing.T, result string) waitResult {
	t.Helper()
	var r waitResult
	if err := json.Unmarshal([]byte(result), &r); err != nil {
		t.Fatalf("wait result %q: %v", result, err)
	}
	return r
}

// childAnswers answers every child ("task ..." first message) with an
// echo, and fails children whose task says "fail".
func childAnswers(r upReq) (reply, bool) {
	u := r.firstUser()
	if !strings.HasPrefix(u, "task") {
		return reply{}, false
	}
	if strings.Contains(r.lastUser(), "fail") {
		return failWith(http.StatusBadRequest), true
	}
	return say("answer to " + r.lastUser()), true
}

// spawnWaitScript: the parent spawns one child with its own message as
// the task, waits for it, and repeats the child's answer.
func spawnWaitScript(r upReq) reply {
	if rep, ok := childAnswers(r); ok {
		return rep
	}
	res := r.results()
	switch len(res) {
	case 0:
		return call(ToolSpawnAgent, map[string]any{"task": "task " + r.firstUser()})
	case 1:
		return call(ToolWaitAgent, map[string]any{"agent_ids": []string{spawnedID(res[0])}})
	}
	return say("parent got: " + res[1])
}

func spawnedID(result string) string {
	var info agentInfo
	_ = json.Unmarshal([]byte(result), &info)
	return info.AgentID
}

func TestSubagentSpawnAndWait(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t, spawnWaitScript)
	s := e.service(nil)
	p := e.parentChat(s, "hello")
	events := subscribe(t, s, p.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))

	msgs := e.messages(p.ID)
	if got, want := roles(msgs), "user,assistant,tool,assistant,tool,assistant"; got != want {
		t.Fatalf("parent roles = %s, want %s", got, want)
	}
	childID := spawned(t, msgs[2].Parts[0].Output)
	w := decodeWait(t, msgs[4].Parts[0].Output)
	if len(w.Agents) != 1 || w.Agents[0].AgentID != childID || w.Agents[0].Status != "completed" || w.Agents[0].Answer != "answer to task hello" || w.TimedOut {
		t.Fatalf("wait result = %+v", w)
	}

	child, err := e.db.GetChat(t.Context(), childID)
	if err != nil {
		t.Fatal(err)
	}
	if child.ParentChatID != p.ID || child.RootChatID != p.ID || child.OwnerID != e.user.ID || child.ModelConfigID != e.model.ID || child.Title != "task hello" {
		t.Fatalf("child = %+v", child)
	}
	cm := e.messages(childID)
	if got, want := roles(cm), "user,assistant"; got != want {
		t.Fatalf("child roles = %s, want %s", got, want)
	}
	if cm[0].APIKeyID != e.key2 {
		t.Fatalf("child's first message key = %q, want the parent's initiating key %q", cm[0].APIKeyID, e.key2)
	}

	// Only the root agent is offered the subagent tools.
	for _, r := range e.requests() {
		isChild := strings.HasPrefix(r.firstUser(), "task")
		if r.hasTool(ToolSpawnAgent) == isChild || r.hasTool(ToolWaitAgent) == isChild {
			t.Fatalf("child=%v request offers tools %+v", isChild, r.Tools)
		}
	}

	// Attribution: the child's call carries the parent's key and chat id,
	// and its own id as the subchat.
	recs := e.records()
	if len(recs) != 4 {
		t.Fatalf("%d gateway records, want 4", len(recs))
	}
	subchats := 0
	var sum int64
	for _, r := range recs {
		if r.APIKeyID != e.key2 || r.ChatID != p.ID || r.UserID != e.user.ID {
			t.Fatalf("record key %q chat %q user %q; want %q %q %q", r.APIKeyID, r.ChatID, r.UserID, e.key2, p.ID, e.user.ID)
		}
		if r.SubchatID == childID {
			subchats++
		} else if r.SubchatID != "" {
			t.Fatalf("record subchat = %q", r.SubchatID)
		}
		if r.CostMicros == nil {
			t.Fatalf("record %s has no cost", r.ID)
		}
		sum += *r.CostMicros
	}
	if subchats != 1 {
		t.Fatalf("%d records of the child, want 1", subchats)
	}

	// Cost: the chat's totals equal what the gateway recorded.
	cost, err := s.Cost(t.Context(), p.ID)
	if err != nil {
		t.Fatalf("cost: %v", err)
	}
	// (100-40)*1.5 + 7*4 + 40*0.5 = 138 per call.
	const perCall = 138
	if cost.TotalMicros == nil || *cost.TotalMicros != sum || sum != 4*perCall {
		t.Fatalf("total cost = %v, gateway sum %d, want %d", cost.TotalMicros, sum, 4*perCall)
	}
	if *cost.OwnMicros != 3*perCall || len(cost.Children) != 1 || *cost.Children[0].TotalMicros != perCall || cost.Children[0].ChatID != childID || cost.UnpricedMessages != 0 {
		t.Fatalf("cost = %+v", cost)
	}
}

// TestCostMatchesRecordsWithAdvisorAndCompaction: every model call of a
// chat (its turns, an advisor call and a compaction) is in its cost, which
// equals the gateway's records for the chat; the title call is neither.
func TestCostMatchesRecordsWithAdvisorAndCompaction(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t, func(r upReq) reply {
		switch {
		case len(r.Messages) > 0 && r.Messages[0].Role == "system" && strings.Contains(content(r.Messages[0].Content), "You name conversations"):
			return say("A title")
		case strings.Contains(r.lastUser(), "asks for your advice"):
			return say("use a map")
		case r.lastUser() == compactRequest:
			return say("SUMMARY")
		case r.lastUser() == "hello" && len(r.results()) == 0:
			return call(ToolAdvisor, map[string]any{"question": "map or slice?"})
		}
		return say("ok")
	})
	s := e.service(nil)
	if err := e.db.PutSetting(t.Context(), settings.ModelKey(settings.ModelAdvisor), e.model.ID); err != nil {
		t.Fatalf("set advisor: %v", err)
	}
	adv := NewAdvisorTool(s)
	s.tools[adv.Name()] = adv
	// No title: one is generated, by a call that is not the chat's.
	p, err := s.CreateChat(t.Context(), store.NewChat{OwnerID: e.user.ID, ModelConfigID: e.model.ID, First: text("hello"), APIKeyID: e.key2})
	if err != nil {
		t.Fatalf("create chat: %v", err)
	}
	events := subscribe(t, s, p.ID, "")
	run(t, s)
	// The title may come before or after the turn ends.
	titled, idle := false, false
	next(t, events, func(ev wire.Event) bool {
		if ev.Type == wire.EventChat {
			titled = titled || ev.Chat.Title == "A title"
			idle = ev.Chat.Status == string(store.ChatWaiting)
		}
		return titled && idle
	})
	exchange(t, s, e.env, events, p.ID, "two")
	exchange(t, s, e.env, events, p.ID, "three")
	if _, err := s.Compact(t.Context(), p.ID, ""); err != nil {
		t.Fatalf("compact: %v", err)
	}
	next(t, events, isSummary)

	msgs := e.messages(p.ID)
	if got, want := roles(msgs), "user,assistant,tool,assistant,user,assistant,user,assistant,summary"; got != want {
		t.Fatalf("roles = %s, want %s", got, want)
	}
	// (100-40)*1.5 + 7*4 + 40*0.5 = 138 per call.
	const perCall = 138
	if m := msgs[2]; m.CostMicros == nil || *m.CostMicros != perCall || m.Usage.Input != upPrompt || m.Usage.Output != upCompletion {
		t.Fatalf("advisor tool message usage %+v cost %v, want the advisor call's", m.Usage, m.CostMicros)
	}

	var sum int64
	chatCalls, titleCalls := 0, 0
	for _, r := range e.records() {
		switch r.ChatID {
		case p.ID:
			chatCalls++
			if r.CostMicros == nil {
				t.Fatalf("record %s has no cost", r.ID)
			}
			sum += *r.CostMicros
		case "":
			titleCalls++
		default:
			t.Fatalf("record of chat %q", r.ChatID)
		}
	}
	// Four turn steps, the advisor and the summary; the title call is
	// recorded without the chat's id.
	if chatCalls != 6 || titleCalls != 1 {
		t.Fatalf("%d chat records and %d title records, want 6 and 1", chatCalls, titleCalls)
	}
	cost, err := s.Cost(t.Context(), p.ID)
	if err != nil {
		t.Fatalf("cost: %v", err)
	}
	if cost.TotalMicros == nil || *cost.TotalMicros != sum || sum != 6*perCall || cost.UnpricedMessages != 0 || cost.UnmeteredMessages != 0 {
		t.Fatalf("cost = %+v (total %v), gateway sum %d, want %d", cost, cost.TotalMicros, sum, 6*perCall)
	}
}

func TestSubagentError(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t, spawnWaitScript)
	s := e.service(nil)
	p := e.parentChat(s, "fail please")
	events := subscribe(t, s, p.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))

	msgs := e.messages(p.ID)
	w := decodeWait(t, msgs[4].Parts[0].Output)
	if len(w.Agents) != 1 || w.Agents[0].Status != "error" || !strings.Contains(w.Agents[0].Error, "scripted failure") {
		t.Fatalf("wait result = %+v", w)
	}
}

// TestSubagentLifecycle drives one child through a wait that times out,
// a listing, a queued follow-up, an interrupt and a final wait.
func TestSubagentLifecycle(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t, func(r upReq) reply {
		if rep, ok := childAnswers(r); ok {
			return rep
		}
		res := r.results()
		var id string
		if len(res) > 0 {
			id = spawnedID(res[0])
		}
		switch len(res) {
		case 0:
			return call(ToolSpawnAgent, map[string]any{"task": "task block"})
		case 1:
			return call(ToolWaitAgent, map[string]any{"agent_ids": []string{id}, "timeout_seconds": 0.05})
		case 2:
			return call(ToolListAgents, map[string]any{})
		case 3:
			return call(ToolMessageAgent, map[string]any{"agent_id": id, "message": "follow up"})
		case 4:
			return call(ToolInterruptAgent, map[string]any{"agent_id": id})
		case 5:
			return call(ToolWaitAgent, map[string]any{"agent_ids": []string{id}})
		}
		return say("done")
	})
	s := e.service(nil)
	p := e.parentChat(s, "go")
	events := subscribe(t, s, p.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))

	var outs []string
	for _, m := range e.messages(p.ID) {
		if m.Role == store.RoleTool {
			if m.Parts[0].IsError {
				t.Fatalf("tool %s failed: %s", m.Parts[0].ToolName, m.Parts[0].Output)
			}
			outs = append(outs, m.Parts[0].Output)
		}
	}
	if len(outs) != 6 {
		t.Fatalf("%d tool results, want 6: %q", len(outs), outs)
	}
	id := spawned(t, outs[0])
	if w := decodeWait(t, outs[1]); !w.TimedOut || len(w.Agents) != 1 || w.Agents[0].Status != "running" || w.Message == "" {
		t.Fatalf("first wait = %+v", w)
	}
	var list struct{ Agents []agentInfo }
	if err := json.Unmarshal([]byte(outs[2]), &list); err != nil || len(list.Agents) != 1 || list.Agents[0].AgentID != id || list.Agents[0].Status != store.ChatRunning || list.Agents[0].Title != "task block" {
		t.Fatalf("list = %s (%v)", outs[2], err)
	}
	if !strings.Contains(outs[3], "queued") {
		t.Fatalf("message result = %q", outs[3])
	}
	if !strings.Contains(outs[4], "interrupted") {
		t.Fatalf("interrupt result = %q", outs[4])
	}
	// The interrupt ended the blocked turn; the queued follow-up ran next.
	if w := decodeWait(t, outs[5]); w.TimedOut || w.Agents[0].Status != "completed" || w.Agents[0].Answer != "answer to follow up" {
		t.Fatalf("last wait = %+v", w)
	}
	cm := e.messages(id)
	if got, want := roles(cm), "user,user,assistant"; got != want {
		t.Fatalf("child roles = %s, want %s", got, want)
	}
	if cm[1].APIKeyID != e.key2 {
		t.Fatalf("follow-up key = %q, want %q", cm[1].APIKeyID, e.key2)
	}
}

func TestWaitAgentStopsOnInterrupt(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t, func(r upReq) reply {
		if rep, ok := childAnswers(r); ok {
			return rep
		}
		res := r.results()
		switch len(res) {
		case 0:
			return call(ToolSpawnAgent, map[string]any{"task": "task block"})
		case 1:
			return call(ToolWaitAgent, map[string]any{"agent_ids": []string{spawnedID(res[0])}})
		}
		t.Errorf("unexpected parent call after %d results", len(res))
		return say("unexpected")
	})
	waiting := make(chan string, 1)
	s := e.service(func(c *Config) { c.agentWaiting = func(id string) { waiting <- id } })
	p := e.parentChat(s, "go")
	events := subscribe(t, s, p.ID, "")
	run(t, s)
	select {
	case id := <-waiting:
		if id != p.ID {
			t.Fatalf("waiting chat = %s, want %s", id, p.ID)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the parent never waited")
	}
	if _, err := s.Interrupt(t.Context(), p.ID); err != nil {
		t.Fatalf("interrupt: %v", err)
	}
	next(t, events, status(store.ChatWaiting))
	msgs := e.messages(p.ID)
	last := msgs[len(msgs)-1]
	if last.Role != store.RoleTool || !last.Parts[0].IsError || last.Parts[0].ToolName != ToolWaitAgent {
		t.Fatalf("last message = %+v", last)
	}
	e.release()
}

// TestSlotStarvation: with two worker slots, three parents each spawn a
// child and wait for it. Waiting parents give their slots up, so every
// child runs and every parent finishes.
func TestSlotStarvation(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t, spawnWaitScript)
	s := e.service(func(c *Config) { c.Workers = 2; c.SubagentPollInterval = waitTimeout * 10 })
	var evs []<-chan wire.Event
	var ids []string
	for i := range 3 {
		p := e.parentChat(s, fmt.Sprintf("parent %d", i))
		ids = append(ids, p.ID)
		evs = append(evs, subscribe(t, s, p.ID, ""))
	}
	run(t, s)
	for i, ev := range evs {
		next(t, ev, status(store.ChatWaiting))
		msgs := e.messages(ids[i])
		if got := textOf(msgs[len(msgs)-1].Parts); !strings.HasPrefix(got, "parent got: ") || !strings.Contains(got, fmt.Sprintf("answer to task parent %d", i)) {
			t.Fatalf("parent %d answer = %q", i, got)
		}
	}
}

func TestSubagentToolsRefusedToChildren(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t, nil)
	s := e.service(nil)
	p := e.parentChat(s, "go")
	out, err := s.tools[ToolSpawnAgent].Run(t.Context(), ToolCall{ChatID: p.ID, Input: `{"task":"task one"}`})
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	child, err := e.db.GetChat(t.Context(), spawned(t, out))
	if err != nil {
		t.Fatal(err)
	}
	for _, ft := range s.callTools(child) {
		if strings.HasSuffix(ft.GetName(), "_agent") || ft.GetName() == ToolListAgents {
			t.Fatalf("child offered %s", ft.GetName())
		}
	}
	for _, name := range []string{ToolSpawnAgent, ToolListAgents, ToolWaitAgent} {
		if _, err := s.tools[name].Run(t.Context(), ToolCall{ChatID: child.ID, Input: `{"task":"x","agent_ids":["x"]}`}); err == nil || !strings.Contains(err.Error(), "subagents cannot") {
			t.Fatalf("%s from a child: err = %v", name, err)
		}
	}
	// Another chat's child is not this chat's to wait for.
	other := e.parentChat(s, "other")
	if _, err := s.tools[ToolWaitAgent].Run(t.Context(), ToolCall{ChatID: other.ID, Input: mustJSON(map[string]any{"agent_ids": []string{child.ID}})}); err == nil || !strings.Contains(err.Error(), "no subagent") {
		t.Fatalf("wait on another chat's child: err = %v", err)
	}
}

func TestSubagentCaps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		perUser   int
		total     int
		wantSpawn int
	}{
		{name: "per user", perUser: 2, total: 10, wantSpawn: 2},
		{name: "deployment", perUser: 10, total: 1, wantSpawn: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newAgentEnv(t, nil)
			// No workers run: spawned children stay running.
			s := e.service(func(c *Config) { c.MaxSubagentsPerUser = tt.perUser; c.MaxSubagents = tt.total })
			p := e.parentChat(s, "go")
			n := 0
			for range 3 {
				_, err := s.tools[ToolSpawnAgent].Run(t.Context(), ToolCall{ChatID: p.ID, Input: `{"task":"task"}`})
				if errors.Is(err, ErrTooManyAgents) {
					break
				}
				if err != nil {
					t.Fatalf("spawn: %v", err)
				}
				n++
			}
			if n != tt.wantSpawn {
				t.Fatalf("spawned %d, want %d", n, tt.wantSpawn)
			}
		})
	}
}

func TestSubagentModelPrecedence(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t, nil)
	ctx := t.Context()
	mk := func(model, display string, enabled bool) store.ModelConfig {
		t.Helper()
		m, err := e.db.CreateModel(ctx, store.ModelConfig{ProviderID: e.prov.ID, Model: model, DisplayName: display, Enabled: enabled})
		if err != nil {
			t.Fatalf("create model: %v", err)
		}
		return m
	}
	strong, cheap, deploy, off := mk("strong-1", "Strong", true), mk("cheap-1", "Cheap", true), mk("deploy-1", "Deploy", true), mk("off-1", "Off", false)
	tests := []struct {
		name             string
		named            string
		user, deployment string
		want             string // model config id; "" expects an error
		wantErr          string
	}{
		{name: "parent's model", want: e.model.ID},
		{name: "deployment override", deployment: deploy.ID, want: deploy.ID},
		{name: "user override beats deployment", user: cheap.ID, deployment: deploy.ID, want: cheap.ID},
		{name: "named id beats overrides", named: strong.ID, user: cheap.ID, deployment: deploy.ID, want: strong.ID},
		{name: "named model name", named: "strong-1", user: cheap.ID, want: strong.ID},
		{name: "named display name", named: "cheap", want: cheap.ID},
		{name: "named unknown", named: "nope", user: cheap.ID, wantErr: "unknown model"},
		{name: "named disabled", named: "off-1", wantErr: "disabled"},
		{name: "override disabled", user: off.ID, wantErr: "disabled"},
		{name: "override deleted", deployment: "gone", wantErr: "does not exist"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each case has its own user, so cases may share the deployment
			// setting only when run one after another.
			u, err := e.db.CreateUser(ctx, store.User{Username: fmt.Sprintf("u%d", i), Role: store.RoleMember})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.db.PutSetting(ctx, settings.ModelKey(settings.ModelSubagent), tt.deployment); err != nil {
				t.Fatal(err)
			}
			if tt.user != "" {
				if err := e.db.PutUserSetting(ctx, u.ID, settings.ModelKey(settings.ModelSubagent), tt.user); err != nil {
					t.Fatal(err)
				}
			}
			s := e.service(nil)
			parent := store.Chat{ID: "p", OwnerID: u.ID, ModelConfigID: e.model.ID}
			got, err := s.subagentModel(ctx, parent, tt.named)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("subagent model: %v", err)
			}
			if got.ID != tt.want {
				t.Fatalf("model = %s (%s), want %s", got.ID, got.Model, tt.want)
			}
		})
	}
}

// TestMessageAgentRespectsCaps: a message to an idle subagent restarts
// it, so it is refused, with a readable tool error, when the user
// already has as many busy subagents as allowed.
func TestMessageAgentRespectsCaps(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t, func(r upReq) reply {
		if rep, ok := childAnswers(r); ok {
			return rep
		}
		res := r.results()
		var first string
		if len(res) > 0 {
			first = spawnedID(res[0])
		}
		switch len(res) {
		case 0:
			return call(ToolSpawnAgent, map[string]any{"task": "task one"})
		case 1:
			return call(ToolWaitAgent, map[string]any{"agent_ids": []string{first}})
		case 2:
			// Busy until released: the user's only allowed subagent.
			return call(ToolSpawnAgent, map[string]any{"task": "task block"})
		case 3:
			return call(ToolMessageAgent, map[string]any{"agent_id": first, "message": "again"})
		}
		return say("done")
	})
	s := e.service(func(c *Config) { c.MaxSubagentsPerUser = 1 })
	p := e.parentChat(s, "go")
	events := subscribe(t, s, p.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))
	defer e.release()

	var results []store.Part
	for _, m := range e.messages(p.ID) {
		if m.Role == store.RoleTool {
			results = append(results, m.Parts[0])
		}
	}
	if len(results) != 4 {
		t.Fatalf("%d tool results, want 4: %+v", len(results), results)
	}
	for _, r := range results[:3] {
		if r.IsError {
			t.Fatalf("%s failed: %s", r.ToolName, r.Output)
		}
	}
	msg := results[3]
	if !msg.IsError || msg.ToolName != ToolMessageAgent ||
		!strings.Contains(msg.Output, "would restart it") || !strings.Contains(msg.Output, "you already have 1 subagents running") {
		t.Fatalf("message_agent result = %+v, want a readable cap error", msg)
	}
	first := spawned(t, results[0].Output)
	if got, want := roles(e.messages(first)), "user,assistant"; got != want {
		t.Fatalf("idle subagent's roles = %s, want %s: it was restarted", got, want)
	}
}
