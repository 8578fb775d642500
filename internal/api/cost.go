package api

import (
	"net/http"

	"github.com/chatd/chatd/internal/chat"
)

// costView is GET /chats/{id}/cost: what a chat and its subagents cost in
// US dollars. A null cost means the model calls it covers were not priced;
// unpriced_messages counts the calls of unpriced models left out of the
// sums, unmetered_messages those whose usage is unknown (interrupted).
type costView struct {
	ChatID            string          `json:"chat_id"`
	CostUSD           *float64        `json:"cost_usd"`
	OwnCostUSD        *float64        `json:"own_cost_usd"`
	Children          []childCostView `json:"children"`
	UnpricedMessages  int             `json:"unpriced_messages"`
	UnmeteredMessages int             `json:"unmetered_messages"`
}

type childCostView struct {
	ChatID  string   `json:"chat_id"`
	Title   string   `json:"title"`
	CostUSD *float64 `json:"cost_usd"`
}

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

func viewCost(c chat.Cost) costView {
	v := costView{
		ChatID:            c.ChatID,
		CostUSD:           usd(c.TotalMicros),
		OwnCostUSD:        usd(c.OwnMicros),
		Children:          make([]childCostView, 0, len(c.Children)),
		UnpricedMessages:  c.UnpricedMessages,
		UnmeteredMessages: c.UnmeteredMessages,
	}
	for _, ch := range c.Children {
		v.Children = append(v.Children, childCostView{ChatID: ch.ChatID, Title: ch.Title, CostUSD: usd(ch.TotalMicros)})
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
