package wire

// ChatCost is what a chat and its subagents cost in US dollars. A nil
// cost means the model calls it covers were not priced; UnpricedMessages
// counts the calls of unpriced models left out of the sums, and
// UnmeteredMessages those whose usage is unknown (an interrupted answer).
type ChatCost struct {
	ChatID            string      `json:"chat_id"`
	CostUSD           *float64    `json:"cost_usd"`
	OwnCostUSD        *float64    `json:"own_cost_usd"`
	Children          []ChildCost `json:"children"`
	UnpricedMessages  int         `json:"unpriced_messages"`
	UnmeteredMessages int         `json:"unmetered_messages"`
}

// ChildCost is one subagent's share of a ChatCost.
type ChildCost struct {
	ChatID  string   `json:"chat_id"`
	Title   string   `json:"title"`
	CostUSD *float64 `json:"cost_usd"`
}
