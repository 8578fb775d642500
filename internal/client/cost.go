package client

import (
	"context"
	"net/http"

	"github.com/chatd/chatd/internal/wire"
)

// ChatCost sums the cost of one of the caller's chats and its subagents.
func (c *Client) ChatCost(ctx context.Context, id string) (wire.ChatCost, error) {
	var out wire.ChatCost
	err := c.do(ctx, http.MethodGet, chatPath(id)+"/cost", nil, nil, &out)
	return out, err
}
