package api

import (
	"net/http"
	"testing"

	"github.com/chatd/chatd/internal/chat"
	"github.com/chatd/chatd/internal/wire"
)

func TestChatCost(t *testing.T) {
	t.Parallel()
	e := newChatEnv(t)
	// The dev fake calls the tool named in the message: the parent spawns a
	// subagent, then answers with the tool's result.
	c := e.createChat(map[string]any{"message": "please spawn_agent now", "title": "parent"})
	e.waitIdle(c.ID, c.SnapshotVersion)
	var kids struct {
		Chats []wire.Chat `json:"chats"`
	}
	e.call("GET", "/api/v1/chats/"+c.ID+"/children", e.owner, nil, http.StatusOK, &kids)
	if len(kids.Chats) != 1 {
		t.Fatalf("%d children, want 1", len(kids.Chats))
	}
	kid := kids.Chats[0]
	e.waitIdle(kid.ID, 0)

	var got wire.ChatCost
	e.call("GET", "/api/v1/chats/"+c.ID+"/cost", e.owner, nil, http.StatusOK, &got)
	// The fake model has no prices: costs are unknown, not zero.
	if got.ChatID != c.ID || got.CostUSD != nil || got.OwnCostUSD != nil || got.UnpricedMessages != 3 {
		t.Fatalf("cost = %+v", got)
	}
	if len(got.Children) != 1 || got.Children[0].ChatID != kid.ID || got.Children[0].Title != kid.Title || got.Children[0].CostUSD != nil {
		t.Fatalf("children = %+v", got.Children)
	}

	// Someone else's chat is not found, as for every chat endpoint.
	e.fail("GET", "/api/v1/chats/"+c.ID+"/cost", e.bob, nil, http.StatusNotFound)
	e.fail("GET", "/api/v1/chats/nope/cost", e.owner, nil, http.StatusNotFound)
}

func TestViewCost(t *testing.T) {
	t.Parallel()
	own, kid, total := int64(1_500_000), int64(250), int64(1_500_250)
	v := viewCost(chat.Cost{ChatID: "c", TotalMicros: &total, OwnMicros: &own, Children: []chat.ChildCost{{ChatID: "k", Title: "kid", TotalMicros: &kid}, {ChatID: "u"}}, UnpricedMessages: 2, UnmeteredMessages: 1})
	if v.CostUSD == nil || *v.CostUSD != 1.50025 || *v.OwnCostUSD != 1.5 || *v.Children[0].CostUSD != 0.00025 || v.Children[1].CostUSD != nil || v.UnpricedMessages != 2 || v.UnmeteredMessages != 1 {
		t.Fatalf("view = %+v", v)
	}
}
