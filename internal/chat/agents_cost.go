package chat

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	// UnpricedMessages counts messages (the chat's and its children's)
	// of model calls whose model has no price, so are left out of the sums.
	UnpricedMessages int
	// UnmeteredMessages counts messages whose usage is unknown (an answer
	// interrupted before the provider reported usage), so could not be
	// priced whatever the model's price, and are left out of the sums.
	UnmeteredMessages int
}

// ChildCost is one subagent's share of a Cost.
type ChildCost struct {
	ChatID      string
	Title       string
	TotalMicros *int64
}

// Cost sums the cost of every model call of a chat and of its subagents,
// so that it equals the sum of the gateway's records carrying the chat's
// id: assistant messages, summaries (compaction) and tool messages that
// carry a tool's model calls (the advisor), those an edit dropped too
// (the calls were paid for), and the calls that left no message (a
// summary that failed or whose commit was refused). Title generations
// are not counted: they are not chat turns, and the gateway records them
// without the chat's id.
func (s *Service) Cost(ctx context.Context, chatID string) (Cost, error) {
	c, err := s.chats.GetChat(ctx, chatID)
	if err != nil {
		return Cost{}, fmt.Errorf("chat cost: %w", err)
	}
	out := Cost{ChatID: c.ID}
	own, n, err := s.chatCost(ctx, c)
	if err != nil {
		return Cost{}, err
	}
	out.OwnMicros, out.TotalMicros = own, own
	out.UnpricedMessages, out.UnmeteredMessages = n.unpriced, n.unmetered
	children, err := s.chats.ListChats(ctx, store.ChatFilter{OwnerID: c.OwnerID, ParentChatID: c.ID, Limit: maxCostChildren})
	if err != nil {
		return Cost{}, fmt.Errorf("chat cost: list subagents: %w", err)
	}
	for _, ch := range children {
		cc, n, err := s.chatCost(ctx, ch)
		if err != nil {
			return Cost{}, err
		}
		out.UnpricedMessages += n.unpriced
		out.UnmeteredMessages += n.unmetered
		out.TotalMicros = addMicros(out.TotalMicros, cc)
		out.Children = append(out.Children, ChildCost{ChatID: ch.ID, Title: ch.Title, TotalMicros: cc})
	}
	return out, nil
}

// uncounted counts the messages of a chat left out of its cost sum.
type uncounted struct {
	unpriced, unmetered int
}

// chatCost sums the cost of one chat's model calls and counts those it
// could not price.
func (s *Service) chatCost(ctx context.Context, c store.Chat) (*int64, uncounted, error) {
	sum := c.OrphanCostMicros
	n := uncounted{unpriced: int(c.OrphanUnpricedCalls)}
	after := int64(0)
	for {
		msgs, err := s.chats.ListAllMessages(ctx, c.ID, after, pageSize)
		if err != nil {
			return nil, uncounted{}, fmt.Errorf("chat cost: %w", err)
		}
		for _, m := range msgs {
			metered := m.Usage != (store.Usage{})
			switch {
			case m.CostMicros != nil:
				sum = addMicros(sum, m.CostMicros)
			case m.Role == store.RoleTool && !metered:
				// A tool message without usage made no model call.
			case m.Role != store.RoleAssistant && m.Role != store.RoleSummary && m.Role != store.RoleTool:
			case !metered:
				n.unmetered++
			default:
				n.unpriced++
			}
		}
		if len(msgs) < pageSize {
			if sum == nil && n == (uncounted{}) {
				// Nothing spent yet is a known zero.
				sum = new(int64)
			}
			return sum, n, nil
		}
		after = msgs[len(msgs)-1].Seq
	}
}

// spentWithoutMessage records the cost of a model call of the chat that
// left no message m (a summary that failed or was refused, a step whose
// commit was refused), so the chat's cost keeps matching the gateway's
// records. A call whose usage is unknown is left out, as the cost of an
// unmetered message is. The write outlives a turn that is stopping: the
// call was paid for.
func (s *Service) spentWithoutMessage(ctx context.Context, chatID string, m store.Message) {
	if m.Usage == (store.Usage{}) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.chats.AddOrphanSpend(ctx, chatID, m.CostMicros); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("chat: record the cost of a model call that left no message", "chat_id", chatID, "error", err)
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
