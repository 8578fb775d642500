package chat

import (
	"context"
	"fmt"

	"github.com/chatd/chatd/internal/store"
)

// maxCostChildren bounds the subagents a cost summary reads.
const maxCostChildren = 1000

// Cost is what a chat and its subagents cost, in millionths of a US
// dollar. A nil cost means it has model calls and none was priced; a sum
// that leaves unpriced calls out is flagged by UnpricedMessages.
type Cost struct {
	ChatID string
	// TotalMicros sums the chat and its children.
	TotalMicros *int64
	// OwnMicros is the chat's own cost.
	OwnMicros *int64
	Children  []ChildCost
	// UnpricedMessages counts assistant messages (the chat's and its
	// children's) whose model has no price, so are left out of the sums.
	UnpricedMessages int
}

// ChildCost is one subagent's share of a Cost.
type ChildCost struct {
	ChatID      string
	Title       string
	TotalMicros *int64
}

// Cost sums the cost of a chat's visible assistant messages and of its
// subagents'. Messages an edit dropped are not counted.
func (s *Service) Cost(ctx context.Context, chatID string) (Cost, error) {
	c, err := s.chats.GetChat(ctx, chatID)
	if err != nil {
		return Cost{}, fmt.Errorf("chat cost: %w", err)
	}
	out := Cost{ChatID: c.ID}
	own, unpriced, err := s.chatCost(ctx, c.ID)
	if err != nil {
		return Cost{}, err
	}
	out.OwnMicros, out.TotalMicros, out.UnpricedMessages = own, own, unpriced
	children, err := s.chats.ListChats(ctx, store.ChatFilter{OwnerID: c.OwnerID, ParentChatID: c.ID, Limit: maxCostChildren})
	if err != nil {
		return Cost{}, fmt.Errorf("chat cost: list subagents: %w", err)
	}
	for _, ch := range children {
		cc, n, err := s.chatCost(ctx, ch.ID)
		if err != nil {
			return Cost{}, err
		}
		out.UnpricedMessages += n
		out.TotalMicros = addMicros(out.TotalMicros, cc)
		out.Children = append(out.Children, ChildCost{ChatID: ch.ID, Title: ch.Title, TotalMicros: cc})
	}
	return out, nil
}

// chatCost sums one chat's priced assistant messages and counts the
// unpriced ones.
func (s *Service) chatCost(ctx context.Context, chatID string) (*int64, int, error) {
	var sum *int64
	unpriced := 0
	after := int64(0)
	for {
		msgs, err := s.chats.ListMessages(ctx, chatID, after, pageSize)
		if err != nil {
			return nil, 0, fmt.Errorf("chat cost: %w", err)
		}
		for _, m := range msgs {
			if m.Role != store.RoleAssistant {
				continue
			}
			if m.CostMicros == nil {
				unpriced++
				continue
			}
			sum = addMicros(sum, m.CostMicros)
		}
		if len(msgs) < pageSize {
			if sum == nil && unpriced == 0 {
				// Nothing spent yet is a known zero.
				sum = new(int64)
			}
			return sum, unpriced, nil
		}
		after = msgs[len(msgs)-1].Seq
	}
}

// addMicros adds two costs where nil means "nothing priced".
func addMicros(a, b *int64) *int64 {
	if b == nil {
		return a
	}
	v := *b
	if a != nil {
		v += *a
	}
	return &v
}
