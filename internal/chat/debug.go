package chat

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/chatd/chatd/internal/chatdebug"
	"github.com/chatd/chatd/internal/route"
	"github.com/chatd/chatd/internal/store"
)

// maxFamily bounds the chats a cleanup walks (a chat and its subagent
// descendants).
const maxFamily = 1000

// debugInfo describes the debug run of the turn's model calls: the run the
// turn already records into, or a new chat_turn run triggered by the
// latest user message. Nil once the first step decided not to record.
func (t *turn) debugInfo(history []store.Message) *route.DebugInfo {
	if t.dbgDecided && t.dbg == nil {
		return nil
	}
	d := &route.DebugInfo{
		Run:          t.dbg,
		Override:     t.c.DebugOverride,
		Kind:         store.DebugKindChatTurn,
		ChatID:       t.c.ID,
		RootChatID:   t.c.RootChatID,
		ParentChatID: t.c.ParentChatID,
	}
	for _, m := range slices.Backward(history) {
		if m.Role == store.RoleUser {
			d.MessageID = m.ID
			break
		}
	}
	return d
}

// routed notes the debug run of a routed model: the first step decides
// whether the turn is recorded.
func (t *turn) routed(res route.Result) {
	t.dbgDecided = true
	if t.dbg == nil {
		t.dbg = res.Run
	}
}

// endDebug finishes the turn's debug run, if any; the first final status
// wins, so later calls change nothing. A run that did not fail is
// summarised by its steps ("3 steps, 2 tool calls, finish: stop"), with
// note after them; a failed run by its error.
func (t *turn) endDebug(status store.DebugStatus, note string) {
	if t.dbg == nil {
		return
	}
	summary := note
	if status != store.DebugError {
		summary = t.stepSummary()
		if note != "" {
			summary += "; " + note
		}
	}
	t.dbg.Finish(context.WithoutCancel(t.ctx), status, summary)
}

// stepSummary describes the committed steps of the turn on one line.
func (t *turn) stepSummary() string {
	plural := func(n int, what string) string {
		if n == 1 {
			return "1 " + what
		}
		return fmt.Sprintf("%d %ss", n, what)
	}
	s := plural(t.steps, "step") + ", " + plural(t.toolCalls, "tool call")
	if t.lastFinish != "" {
		s += ", finish: " + string(t.lastFinish)
	}
	return s
}

// endDebugAfter finishes the debug run of a turn that ended with err and
// did not finish it itself.
func (t *turn) endDebugAfter(err error) {
	switch {
	case err == nil:
		t.endDebug(store.DebugCompleted, "")
	case t.ctx.Err() != nil:
		t.endDebug(store.DebugInterrupted, "the server shut down during the turn; another worker takes it over")
	case t.tctx.Err() != nil:
		t.endDebug(store.DebugInterrupted, fmt.Sprintf("the turn stopped: %v", context.Cause(t.tctx)))
	default:
		t.endDebug(store.DebugError, err.Error())
	}
}

// family lists a chat and its subagent descendants, at most maxFamily.
func (s *Service) family(ctx context.Context, chatID string) ([]string, error) {
	ids := []string{chatID}
	for i := 0; i < len(ids) && len(ids) < maxFamily; i++ {
		children, err := s.chats.ListChats(ctx, store.ChatFilter{ParentChatID: ids[i], Limit: maxFamily})
		if err != nil {
			return ids, fmt.Errorf("list children of chat %q: %w", ids[i], err)
		}
		for _, c := range children {
			if c.ID != "" && !slices.Contains(ids, c.ID) {
				ids = append(ids, c.ID)
			}
		}
	}
	return ids, nil
}

// messageCreatedAt returns when a visible message of a chat was created,
// by the database's clock.
func (s *Service) messageCreatedAt(ctx context.Context, chatID, messageID string) (time.Time, error) {
	after := int64(0)
	for {
		ms, err := s.chats.ListMessages(ctx, chatID, after, pageSize)
		if err != nil {
			return time.Time{}, err
		}
		for _, m := range ms {
			if m.ID == messageID {
				return m.CreatedAt, nil
			}
		}
		if len(ms) < pageSize {
			return time.Time{}, fmt.Errorf("message %q: %w", messageID, store.ErrNotFound)
		}
		after = ms[len(ms)-1].Seq
	}
}

// debugService is the recorder the service cleans up after; nil records
// nothing.
func (s *Service) debugService() *chatdebug.Service { return s.cfg.Debug }

// debugKey carries a turn's debug decision to its tools.
type debugKey struct{}

// withDebug returns ctx carrying d, so a tool's model call (the advisor's)
// is recorded as a step of the turn's run, or not at all when the turn is
// not recorded (d nil).
func withDebug(ctx context.Context, d *route.DebugInfo) context.Context {
	return context.WithValue(ctx, debugKey{}, d)
}

// debugFrom returns the debug decision withDebug put on ctx.
func debugFrom(ctx context.Context) *route.DebugInfo {
	d, _ := ctx.Value(debugKey{}).(*route.DebugInfo)
	return d
}
