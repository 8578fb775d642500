package client

import (
	"context"
	"net/http"

	"github.com/chatd/chatd/internal/wire"
)

// CompactChat starts a manual compaction of an idle chat; the summary
// message follows on the chat's stream. A chat with nothing older than
// the recent messages compaction keeps answers 409 "nothing to compact".
func (c *Client) CompactChat(ctx context.Context, id string) (wire.ChatWithQueue, error) {
	var out wire.ChatWithQueue
	err := c.do(ctx, http.MethodPost, chatPath(id)+"/compact", nil, nil, &out)
	return out, err
}
