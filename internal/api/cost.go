package api

import (
	"net/http"

	"github.com/chatd/chatd/internal/chat"
	"github.com/chatd/chatd/internal/wire"
)

func (a *API) costRoutes() {
	a.handle("GET "+Prefix+"/chats/{id}/cost", anyUser, a.chatsOn(a.chatCost))
}

func (a *API) chatCost(w http.ResponseWriter, r *http.Request) error {
	c, err := a.ownChat(r)
	if err != nil {
		return err
	}
	cost, err := a.chats.Cost(r.Context(), c.ID)
	if err != nil {
		return chatError("chat", err)
	}
	writeJSON(w, http.StatusOK, viewCost(cost))
	return nil
}

// viewCost is GET /chats/{id}/cost: what a chat and its subagents cost in
// US dollars.
func viewCost(c chat.Cost) wire.ChatCost {
	v := wire.ChatCost{
		ChatID:            c.ChatID,
		CostUSD:           usd(c.TotalMicros),
		OwnCostUSD:        usd(c.OwnMicros),
		Children:          make([]wire.ChildCost, 0, len(c.Children)),
		UnpricedMessages:  c.UnpricedMessages,
		UnmeteredMessages: c.UnmeteredMessages,
	}
	for _, ch := range c.Children {
		v.Children = append(v.Children, wire.ChildCost{ChatID: ch.ChatID, Title: ch.Title, CostUSD: usd(ch.TotalMicros)})
	}
	return v
}

// usd turns millionths of a dollar into dollars; nil stays nil.
func usd(micros *int64) *float64 {
	if micros == nil {
		return nil
	}
	v := float64(*micros) / 1e6
	return &v
}
