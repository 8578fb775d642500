package chat

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/settings"
	"github.com/chatd/chatd/internal/store"
)

// withAdvisor configures an advisor model ("gpt-4o") as the deployment's
// advisor and registers the advisor tool on s.
func (e *env) withAdvisor(s *Service, opts ...AdvisorOption) store.ModelConfig {
	e.t.Helper()
	mc, err := e.db.CreateModel(e.t.Context(), store.ModelConfig{ProviderID: e.prov.ID, Model: "gpt-4o", DisplayName: "advisor", Enabled: true})
	if err != nil {
		e.t.Fatalf("create advisor model: %v", err)
	}
	if err := e.db.PutSetting(e.t.Context(), settings.ModelKey(settings.ModelAdvisor), mc.ID); err != nil {
		e.t.Fatalf("set advisor: %v", err)
	}
	tool := NewAdvisorTool(s, opts...)
	s.tools[tool.Name()] = tool
	return mc
}

// toolResults returns the tool results of msgs in order.
func toolResults(msgs []store.Message) []store.Part {
	var out []store.Part
	for _, m := range msgs {
		for _, p := range m.Parts {
			if p.Type == store.PartToolResult {
				out = append(out, p)
			}
		}
	}
	return out
}

// requestModel is the "model" field of an upstream request body.
func requestModel(t *testing.T, body []byte) string {
	t.Helper()
	var r struct {
		Model string `json:"model"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("decode request: %v", err)
	}
	return r.Model
}

func TestAdvisorGivesGuidance(t *testing.T) {
	t.Parallel()
	e := newEnv(t,
		toolReply("call_1", "advisor", `{"question":"Should I use a map?"}`),
		textReply("Yes, ", "use a map."),
		textReply("Done."),
	)
	s := e.service(nil)
	e.withAdvisor(s)
	c := e.newChat(s, "Count the words of the treatise.")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))

	msgs := e.messages(c.ID)
	if got, want := roles(msgs), "user,assistant,tool,assistant"; got != want {
		t.Fatalf("roles = %s, want %s", got, want)
	}
	res := toolResults(msgs)
	if len(res) != 1 || res[0].IsError || res[0].Output != "Yes, use a map." {
		t.Fatalf("advisor result = %+v", res)
	}
	reqs := e.up.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d upstream requests, want 3", len(reqs))
	}
	adv := string(reqs[1].Body)
	if requestModel(t, reqs[1].Body) != "gpt-4o" || !strings.Contains(adv, "Should I use a map?") ||
		!strings.Contains(adv, "Count the words of the treatise.") || strings.Contains(adv, `"tools"`) {
		t.Fatalf("advisor request = %s", adv)
	}
	if !strings.Contains(adv, `"max_tokens":2048`) && !strings.Contains(adv, `"max_completion_tokens":2048`) {
		t.Fatalf("advisor request has no output cap: %s", adv)
	}
	if !strings.Contains(string(reqs[2].Body), "use a map.") {
		t.Fatalf("the agent's next request lacks the guidance: %s", reqs[2].Body)
	}
	recs := e.records()
	if len(recs) != 3 || recs[1].ChatID != c.ID || recs[1].APIKeyID != e.key {
		t.Fatalf("advisor record = %+v", recs)
	}
}

func TestAdvisorBudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t,
		toolReply("call_1", "advisor", `{"question":"first?"}`),
		errorReply(500, "advisor upstream broke"), // fails: not counted
		toolReply("call_2", "advisor", `{"question":"second?"}`),
		textReply("Advice."),
		toolReply("call_3", "advisor", `{"question":"third?"}`), // over the cap: no call
		textReply("Done."),
		// The next turn has a fresh budget.
		toolReply("call_4", "advisor", `{"question":"fourth?"}`),
		textReply("More advice."),
		textReply("Done again."),
	)
	s := e.service(nil)
	e.withAdvisor(s, WithAdvisorCalls(1))
	c := e.newChat(s, "hi")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))
	if _, err := s.Send(t.Context(), c.ID, text("again"), e.key, e.user.ID, store.SendQueue); err != nil {
		t.Fatalf("send: %v", err)
	}
	next(t, events, status(store.ChatRunning))
	next(t, events, status(store.ChatWaiting))

	res := toolResults(e.messages(c.ID))
	if len(res) != 4 {
		t.Fatalf("%d tool results, want 4: %+v", len(res), res)
	}
	tests := []struct {
		name    string
		isError bool
		has     string
	}{
		{"failed call", true, "the advisor call failed"},
		{"refunded call", false, "Advice."},
		{"over the cap", true, "limit"},
		{"next turn", false, "More advice."},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if res[i].IsError != tt.isError || !strings.Contains(res[i].Output, tt.has) {
				t.Fatalf("result %d = %+v, want error %v containing %q", i, res[i], tt.isError, tt.has)
			}
		})
	}
	if !strings.Contains(res[0].Output, "500") {
		t.Fatalf("failure result = %q, want the upstream status", res[0].Output)
	}
}

func TestAdvisorNotConfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t, toolReply("call_1", "advisor", `{"question":"q"}`), textReply("ok"))
	s := e.service(nil)
	tool := NewAdvisorTool(s)
	s.tools[tool.Name()] = tool
	c := e.newChat(s, "hi")
	events := subscribe(t, s, c.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))
	res := toolResults(e.messages(c.ID))
	if len(res) != 1 || !res[0].IsError || !strings.Contains(res[0].Output, "no advisor model is configured") {
		t.Fatalf("result = %+v", res)
	}
}

func TestAdvisorRootChatsOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, toolReply("call_1", "advisor", `{"question":"q"}`), textReply("ok"))
	s := e.service(nil)
	e.withAdvisor(s)
	parent := e.newChat(s, "parent")
	child, err := e.db.CreateChat(t.Context(), store.NewChat{
		OwnerID: e.user.ID, Title: "child", ModelConfigID: e.model.ID, ParentChatID: parent.ID,
		First: text("child task"), APIKeyID: e.key,
	})
	if err != nil {
		t.Fatalf("create child: %v", err)
	}
	// Only the child runs: the parent's first turn is not scripted.
	if _, err := e.db.Interrupt(t.Context(), parent.ID); err != nil {
		t.Fatalf("interrupt parent: %v", err)
	}
	tool := s.tools[ToolAdvisor].(interface{ AvailableFor(store.Chat) bool })
	if tool.AvailableFor(child) || !tool.AvailableFor(parent) {
		t.Fatalf("AvailableFor child %v, parent %v; want false, true", tool.AvailableFor(child), tool.AvailableFor(parent))
	}

	events := subscribe(t, s, child.ID, "")
	run(t, s)
	next(t, events, status(store.ChatWaiting))
	res := toolResults(e.messages(child.ID))
	if len(res) != 1 || !res[0].IsError || !strings.Contains(res[0].Output, "only available to the root agent") {
		t.Fatalf("child's advisor result = %+v", res)
	}
}
