package chat

import (
	"context"
	"fmt"
	"strings"

	"github.com/chatd/chatd/internal/store"
)

// validParts refuses content no model can take.
func validParts(parts []store.Part) error {
	if len(parts) == 0 {
		return fmt.Errorf("%w: a message needs at least one part", ErrInvalid)
	}
	text := false
	for _, p := range parts {
		switch p.Type {
		case store.PartText:
			if strings.TrimSpace(p.Text) != "" {
				text = true
			}
		default:
			return fmt.Errorf("%w: a user message may only hold text parts, not %q", ErrInvalid, p.Type)
		}
	}
	if !text {
		return fmt.Errorf("%w: the message is empty", ErrInvalid)
	}
	return nil
}

// CreateChat creates a chat; with a first message it starts running.
func (s *Service) CreateChat(ctx context.Context, nc store.NewChat) (store.Chat, error) {
	if nc.OwnerID == "" || nc.ModelConfigID == "" {
		return store.Chat{}, fmt.Errorf("create chat: %w: owner and model are required", ErrInvalid)
	}
	if len(nc.First) > 0 {
		if err := validParts(nc.First); err != nil {
			return store.Chat{}, fmt.Errorf("create chat: %w", err)
		}
	}
	for _, t := range nc.ClientTools {
		if t.Name == "" {
			return store.Chat{}, fmt.Errorf("create chat: %w: a client tool needs a name", ErrInvalid)
		}
		if _, ok := s.tools[t.Name]; ok {
			return store.Chat{}, fmt.Errorf("create chat: %w: client tool %q clashes with a server tool", ErrInvalid, t.Name)
		}
	}
	c, err := s.chats.CreateChat(ctx, nc)
	if err != nil {
		return store.Chat{}, fmt.Errorf("create chat: %w", err)
	}
	s.changed(ctx, c.ID)
	if len(nc.First) > 0 {
		s.maybeTitle(c, nc.First, nc.APIKeyID)
	}
	return c, nil
}

// changed publishes a transition and wakes the workers.
func (s *Service) changed(ctx context.Context, chatID string) {
	s.changedBy(ctx, chatID, change{})
}

// changedBy is changed for a transition whose effect the caller knows.
func (s *Service) changedBy(ctx context.Context, chatID string, ch change) {
	s.publish(ctx, chatID, ch)
	s.wakeWorkers()
}

// Send adds a user message: committed when the chat is idle, queued when
// busy, or committed after interrupting the turn when mode is
// store.SendInterrupt.
func (s *Service) Send(ctx context.Context, chatID string, parts []store.Part, apiKeyID, userID string, mode store.SendMode) (store.SendResult, error) {
	if err := validParts(parts); err != nil {
		return store.SendResult{}, fmt.Errorf("send: %w", err)
	}
	switch mode {
	case "":
		mode = store.SendQueue
	case store.SendQueue, store.SendInterrupt:
	default:
		return store.SendResult{}, fmt.Errorf("send: %w: unknown mode %q", ErrInvalid, mode)
	}
	r, err := s.chats.Send(ctx, chatID, parts, apiKeyID, userID, mode)
	if err != nil {
		return store.SendResult{}, fmt.Errorf("send: %w", err)
	}
	if r.Chat.Status == store.ChatInterrupting {
		s.cancelTurn(chatID)
	}
	// A committed message leaves the queue alone; a queued one adds no
	// message (an interrupt may add tool results, so it is read back),
	// unless the head of the queue started a turn ahead of it.
	s.changedBy(ctx, chatID, transitionChange(r.Chat, r.Message == nil && r.Started == nil && mode != store.SendInterrupt, r.Queued == nil))
	if r.Message != nil && r.Chat.Title == "" {
		s.maybeTitle(r.Chat, parts, apiKeyID)
	}
	return r, nil
}

// Edit replaces a user message, drops what followed it and reruns.
func (s *Service) Edit(ctx context.Context, chatID, messageID string, parts []store.Part, apiKeyID string) (store.Chat, store.Message, error) {
	if err := validParts(parts); err != nil {
		return store.Chat{}, store.Message{}, fmt.Errorf("edit: %w", err)
	}
	// The edited message's creation, by the database's clock, starts the
	// debug recordings the edit makes obsolete.
	editedAt, atErr := s.messageCreatedAt(ctx, chatID, messageID)
	c, m, err := s.chats.EditMessage(ctx, chatID, messageID, parts, apiKeyID)
	if err != nil {
		return store.Chat{}, store.Message{}, fmt.Errorf("edit: %w", err)
	}
	if atErr != nil {
		// The edit went through, so the message existed: use the
		// replacement's creation, which keeps every older recording.
		s.log.Warn("chat: find edited message for debug cleanup", "chat_id", chatID, "error", atErr)
		editedAt = m.CreatedAt
	}
	s.debugService().CleanupAfterEdit(chatID, editedAt)
	s.changed(ctx, chatID)
	return c, m, nil
}

// Interrupt stops the running turn, keeping its partial answer.
func (s *Service) Interrupt(ctx context.Context, chatID string) (store.Chat, error) {
	c, err := s.chats.Interrupt(ctx, chatID)
	if err != nil {
		return store.Chat{}, fmt.Errorf("interrupt: %w", err)
	}
	// A turn on this replica stops at once; other replicas notice on their
	// next heartbeat.
	s.cancelTurn(chatID)
	s.changed(ctx, chatID)
	return c, nil
}

// DeleteQueued removes a queued message.
func (s *Service) DeleteQueued(ctx context.Context, chatID, queuedID string) (store.Chat, error) {
	c, err := s.chats.DeleteQueued(ctx, chatID, queuedID)
	if err != nil {
		return store.Chat{}, fmt.Errorf("delete queued message: %w", err)
	}
	s.changed(ctx, chatID)
	return c, nil
}

// PromoteQueued moves a queued message to the front of the queue.
func (s *Service) PromoteQueued(ctx context.Context, chatID, queuedID string) (store.Chat, error) {
	c, err := s.chats.PromoteQueued(ctx, chatID, queuedID)
	if err != nil {
		return store.Chat{}, fmt.Errorf("promote queued message: %w", err)
	}
	s.changed(ctx, chatID)
	return c, nil
}

// SubmitToolResults answers the client tool calls a chat waits on.
func (s *Service) SubmitToolResults(ctx context.Context, chatID string, results []store.Part) (store.Chat, error) {
	if len(results) == 0 {
		return store.Chat{}, fmt.Errorf("submit tool results: %w: no results", ErrInvalid)
	}
	for _, r := range results {
		if r.Type != store.PartToolResult || r.ToolCallID == "" {
			return store.Chat{}, fmt.Errorf("submit tool results: %w: each result needs type %q and a tool_call_id", ErrInvalid, store.PartToolResult)
		}
	}
	c, err := s.chats.SubmitToolResults(ctx, chatID, results)
	if err != nil {
		return store.Chat{}, fmt.Errorf("submit tool results: %w", err)
	}
	s.changed(ctx, chatID)
	return c, nil
}

// SetArchived archives or unarchives a chat.
func (s *Service) SetArchived(ctx context.Context, chatID string, archived bool) (store.Chat, error) {
	c, err := s.chats.SetArchived(ctx, chatID, archived)
	if err != nil {
		return store.Chat{}, fmt.Errorf("set archived: %w", err)
	}
	if archived {
		ids, err := s.family(ctx, chatID)
		if err != nil {
			s.log.Warn("chat: list chat family for debug cleanup", "chat_id", chatID, "error", err)
		}
		s.debugService().CleanupChats(ids)
	}
	s.changed(ctx, chatID)
	return c, nil
}

// SetDebugOverride switches debug recording on or off for a chat, or back
// to the user's and deployment's choice (nil). It applies from the next
// turn on.
func (s *Service) SetDebugOverride(ctx context.Context, chatID string, on *bool) (store.Chat, error) {
	c, err := s.chats.SetDebugOverride(ctx, chatID, on)
	if err != nil {
		return store.Chat{}, fmt.Errorf("set debug override: %w", err)
	}
	s.changed(ctx, chatID)
	return c, nil
}

// SetTitle renames a chat.
func (s *Service) SetTitle(ctx context.Context, chatID, title string) (store.Chat, error) {
	title = strings.TrimSpace(title)
	if len([]rune(title)) > 200 {
		return store.Chat{}, fmt.Errorf("set title: %w: a title has at most 200 characters", ErrInvalid)
	}
	c, err := s.chats.SetTitle(ctx, chatID, title)
	if err != nil {
		return store.Chat{}, fmt.Errorf("set title: %w", err)
	}
	s.changed(ctx, chatID)
	return c, nil
}

// Delete deletes a chat, stopping its turn if one runs here.
func (s *Service) Delete(ctx context.Context, chatID string) error {
	// Children are listed first: they may go with their parent.
	ids, ferr := s.family(ctx, chatID)
	if err := s.chats.DeleteChat(ctx, chatID); err != nil {
		return fmt.Errorf("delete chat: %w", err)
	}
	if ferr != nil {
		s.log.Warn("chat: list chat family for debug cleanup", "chat_id", chatID, "error", ferr)
	}
	s.debugService().CleanupChats(ids)
	s.cancelTurn(chatID)
	s.hub.closeChat(chatID)
	return nil
}

// cancelTurn stops a turn this replica runs for the chat, if any. The
// worker reads the chat's status to tell an interrupt from a deletion.
func (s *Service) cancelTurn(chatID string) {
	s.mu.Lock()
	rt := s.running[chatID]
	s.mu.Unlock()
	if rt != nil {
		rt.cancel(errInterrupted)
	}
}
