package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/chatd/chatd/internal/sse"
	"github.com/chatd/chatd/internal/wire"
)

// CreateChat starts a chat with a first message.
func (c *Client) CreateChat(ctx context.Context, r CreateChatRequest) (wire.ChatWithQueue, error) {
	var out wire.ChatWithQueue
	err := c.do(ctx, http.MethodPost, "/chats", nil, r, &out)
	return out, err
}

// ChatsOptions filters Chats.
type ChatsOptions struct {
	// Archived lists archived chats instead of live ones.
	Archived bool
	// Limit bounds the answer; zero is the server's default (100).
	Limit int
}

// Chats lists the caller's root chats.
func (c *Client) Chats(ctx context.Context, o ChatsOptions) ([]wire.Chat, error) {
	q := url.Values{}
	if o.Archived {
		q.Set("archived", "true")
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	var out struct {
		Chats []wire.Chat `json:"chats"`
	}
	err := c.do(ctx, http.MethodGet, "/chats", q, nil, &out)
	return out.Chats, err
}

// GetChat returns one of the caller's chats with its queue.
func (c *Client) GetChat(ctx context.Context, id string) (wire.ChatWithQueue, error) {
	var out wire.ChatWithQueue
	err := c.do(ctx, http.MethodGet, chatPath(id), nil, nil, &out)
	return out, err
}

// ChatChildren lists the subagent chats of a chat.
func (c *Client) ChatChildren(ctx context.Context, id string) ([]wire.Chat, error) {
	var out struct {
		Chats []wire.Chat `json:"chats"`
	}
	err := c.do(ctx, http.MethodGet, chatPath(id)+"/children", nil, nil, &out)
	return out.Chats, err
}

// UpdateChat changes a chat's title or archives and unarchives it.
func (c *Client) UpdateChat(ctx context.Context, id string, r UpdateChatRequest) (wire.ChatWithQueue, error) {
	var out wire.ChatWithQueue
	err := c.do(ctx, http.MethodPatch, chatPath(id), nil, r, &out)
	return out, err
}

// DeleteChat deletes a chat and everything in it.
func (c *Client) DeleteChat(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, chatPath(id), nil, nil, nil)
}

// ChatMessages returns a page of a chat's messages with Seq > after; next
// is where the following page starts, or nil after the last page.
func (c *Client) ChatMessages(ctx context.Context, id string, after int64, limit int) (msgs []wire.Message, next *int64, err error) {
	q := url.Values{}
	if after > 0 {
		q.Set("after", strconv.FormatInt(after, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out wire.MessagePage
	err = c.do(ctx, http.MethodGet, chatPath(id)+"/messages", q, nil, &out)
	return out.Messages, out.NextAfter, err
}

// SendMessage sends a message to a chat. When the chat is busy it is
// queued (Queued is set) unless r.Mode is "interrupt".
func (c *Client) SendMessage(ctx context.Context, id string, r SendMessageRequest) (wire.SendResult, error) {
	var out wire.SendResult
	err := c.do(ctx, http.MethodPost, chatPath(id)+"/messages", nil, r, &out)
	return out, err
}

// EditMessage replaces a user message, drops what followed it and reruns.
func (c *Client) EditMessage(ctx context.Context, id, messageID string, r EditMessageRequest) (wire.SendResult, error) {
	var out wire.SendResult
	err := c.do(ctx, http.MethodPut, chatPath(id)+"/messages/"+url.PathEscape(messageID), nil, r, &out)
	return out, err
}

// InterruptChat stops the running turn, keeping its partial answer.
func (c *Client) InterruptChat(ctx context.Context, id string) (wire.ChatWithQueue, error) {
	var out wire.ChatWithQueue
	err := c.do(ctx, http.MethodPost, chatPath(id)+"/interrupt", nil, nil, &out)
	return out, err
}

// DeleteQueued removes a queued message.
func (c *Client) DeleteQueued(ctx context.Context, id, queuedID string) (wire.ChatWithQueue, error) {
	var out wire.ChatWithQueue
	err := c.do(ctx, http.MethodDelete, chatPath(id)+"/queue/"+url.PathEscape(queuedID), nil, nil, &out)
	return out, err
}

// PromoteQueued moves a queued message to the front of the queue.
func (c *Client) PromoteQueued(ctx context.Context, id, queuedID string) (wire.ChatWithQueue, error) {
	var out wire.ChatWithQueue
	err := c.do(ctx, http.MethodPost, chatPath(id)+"/queue/"+url.PathEscape(queuedID)+"/promote", nil, nil, &out)
	return out, err
}

// SubmitToolResults answers the client tool calls a chat waits for.
func (c *Client) SubmitToolResults(ctx context.Context, id string, results []wire.ToolResult) (wire.ChatWithQueue, error) {
	var out wire.ChatWithQueue
	err := c.do(ctx, http.MethodPost, chatPath(id)+"/tool-results", nil, map[string]any{"results": results}, &out)
	return out, err
}

func chatPath(id string) string { return "/chats/" + url.PathEscape(id) }

// ChatStream reads the events of one chat stream connection.
//
// A ChatStream is not safe for concurrent use, except Close.
type ChatStream struct {
	body io.ReadCloser
	r    *sse.Reader
	last string
}

// StreamChat opens a chat's event stream, resuming after lastEventID ("":
// from the start). The stream has no overall timeout; cancel ctx or Close
// it to stop.
func (c *Client) StreamChat(ctx context.Context, id, lastEventID string) (*ChatStream, error) {
	path := chatPath(id) + "/stream"
	op := http.MethodGet + " " + path
	if c.base == nil {
		return nil, fmt.Errorf("%s: invalid server URL", op)
	}
	u, err := url.Parse(c.base.String() + apiPrefix + path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	if !c.key.IsZero() {
		req.Header.Set("Authorization", "Bearer "+c.key.Reveal())
	}
	// The same client without its overall timeout, which would cut a
	// stream that lives longer; it shares the connection pool.
	hc := *c.hc
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, fmt.Errorf("%s: %w", op, readError(resp))
	}
	return &ChatStream{body: resp.Body, r: sse.NewReader(resp.Body), last: lastEventID}, nil
}

// Next returns the next event. It returns io.EOF when the server ended the
// stream cleanly; reconnect with LastEventID to carry on.
func (s *ChatStream) Next() (wire.Event, error) {
	for {
		e, err := s.r.Next()
		if err != nil {
			return wire.Event{}, err
		}
		var ev wire.Event
		if err := json.Unmarshal(e.Data, &ev); err != nil {
			return wire.Event{}, fmt.Errorf("decode chat event %q: %w", e.ID, err)
		}
		if ev.ID == "" {
			ev.ID = e.ID
		}
		if ev.Type == "" {
			ev.Type = wire.EventType(e.Event)
		}
		if ev.ID != "" {
			s.last = ev.ID
		}
		return ev, nil
	}
}

// LastEventID is the id of the last event read, to resume from.
func (s *ChatStream) LastEventID() string { return s.last }

// Close ends the stream.
func (s *ChatStream) Close() error { return s.body.Close() }

// ErrStopWatching, returned by a WatchChat callback, ends the watch
// without an error.
var ErrStopWatching = errors.New("stop watching")

// WatchChat streams a chat's events to fn, from after lastEventID,
// reconnecting with the last event id whenever the connection drops, so fn
// sees every event once and in order. It returns nil when fn returns
// ErrStopWatching, fn's other errors as they are, ctx's error when ctx
// ends, and an *APIError (such as not found) without retrying.
func (c *Client) WatchChat(ctx context.Context, id, lastEventID string, fn func(wire.Event) error) error {
	const maxBackoff = 5 * time.Second
	backoff := 100 * time.Millisecond
	last := lastEventID
	for {
		s, err := c.StreamChat(ctx, id, last)
		if err != nil {
			if _, ok := errors.AsType[*APIError](err); ok || ctx.Err() != nil {
				return err
			}
		} else {
			err = s.each(fn)
			last = s.LastEventID()
			s.Close()
			if err == nil || errors.Is(err, ErrStopWatching) {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !errors.Is(err, errStreamEnded) {
				return err
			}
			// Events came through: the server is fine, reconnect at once.
			backoff = 100 * time.Millisecond
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// errStreamEnded reports a connection that ended (cleanly or not) and may
// be resumed.
var errStreamEnded = errors.New("chat stream ended")

// each passes events to fn until fn fails or the connection ends.
func (s *ChatStream) each(fn func(wire.Event) error) error {
	for {
		ev, err := s.Next()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, sse.ErrTruncated) || isConnError(err) {
				return fmt.Errorf("%w: %w", errStreamEnded, err)
			}
			return err
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// isConnError reports a read failure of the connection itself rather
// than a malformed stream.
func isConnError(err error) bool {
	return !errors.Is(err, sse.ErrEventTooLarge) && !isDecodeError(err)
}

func isDecodeError(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return errors.As(err, &se) || errors.As(err, &te)
}
