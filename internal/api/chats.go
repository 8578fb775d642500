package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/chat"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// Limits on what clients put into chats.
const (
	// maxMessageText bounds the text of one message, over all its parts.
	maxMessageText = 100_000
	// maxParts bounds the parts of one message.
	maxParts = 100
	// maxTitle bounds a chat title set by a client.
	maxTitle = 200
	// maxClientTools bounds the tools a client declares on a chat.
	maxClientTools = 64
	// maxToolDescription bounds one tool's description.
	maxToolDescription = 4096
	// maxToolResults bounds the results of one tool-results call.
	maxToolResults = 128
	// maxToolOutput bounds one tool result's output.
	maxToolOutput = 100_000
	// defaultChatLimit and maxChatLimit page chat and message lists.
	defaultChatLimit = 100
	maxChatLimit     = 500
)

// toolNameRE is the tool name rule every provider accepts.
var toolNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

var errChatsDisabled = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the chat daemon is not running on this server"}

func (a *API) chatRoutes() {
	p := Prefix + "/chats"
	a.handle("POST "+p, anyUser, a.chatsOn(a.createChat))
	a.handle("GET "+p, anyUser, a.chatsOn(a.listChats))
	a.handle("GET "+p+"/{id}", anyUser, a.chatsOn(a.getChat))
	a.handle("PATCH "+p+"/{id}", anyUser, a.chatsOn(a.patchChat))
	a.handle("DELETE "+p+"/{id}", anyUser, a.chatsOn(a.deleteChat))
	a.handle("GET "+p+"/{id}/children", anyUser, a.chatsOn(a.listChildren))
	a.handle("GET "+p+"/{id}/messages", anyUser, a.chatsOn(a.listMessages))
	a.handle("POST "+p+"/{id}/messages", anyUser, a.chatsOn(a.sendMessage))
	a.handle("PUT "+p+"/{id}/messages/{msg}", anyUser, a.chatsOn(a.editMessage))
	a.handle("POST "+p+"/{id}/interrupt", anyUser, a.chatsOn(a.interruptChat))
	a.handle("DELETE "+p+"/{id}/queue/{qid}", anyUser, a.chatsOn(a.deleteQueued))
	a.handle("POST "+p+"/{id}/queue/{qid}/promote", anyUser, a.chatsOn(a.promoteQueued))
	a.handle("POST "+p+"/{id}/tool-results", anyUser, a.chatsOn(a.submitToolResults))
	a.handle("POST "+p+"/{id}/compact", anyUser, a.chatsOn(a.compactChat))
	a.handle("GET "+p+"/{id}/stream", anyUser, a.chatsOn(a.streamChat))
}

// chatsOn answers 503 when the server runs without the chat daemon.
func (a *API) chatsOn(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if a.chats == nil {
			return errChatsDisabled
		}
		return h(w, r)
	}
}

// ownChat loads the chat named by the {id} path value. A chat of someone
// else, admins included, is answered exactly like a missing one: chats
// are private conversations, and admins see usage through the gateway's
// records instead.
func (a *API) ownChat(r *http.Request) (store.Chat, error) {
	c, err := a.store.GetChat(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.OwnerID != principal(r).User.ID) {
		return store.Chat{}, errNotFound("chat")
	}
	if err != nil {
		return store.Chat{}, fmt.Errorf("get chat: %w", err)
	}
	return c, nil
}

// chatError maps the chat core's errors to answers: a refused transition
// is a 409 saying why, a validation error a 400, a missing row a 404
// naming what.
func chatError(what string, err error) error {
	if err == nil {
		return nil
	}
	var te *store.TransitionError
	switch {
	case errors.As(err, &te):
		return errConflict(te.Error())
	case errors.Is(err, store.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: invalidMessage(err)}
	case errors.Is(err, store.ErrNotFound):
		return errNotFound(what)
	case errors.Is(err, store.ErrConflict):
		return errConflict(what + " changed concurrently; try again")
	}
	return err
}

// invalidMessage is the text of a validation error without the
// sentinel's own wording repeated at its end.
func invalidMessage(err error) string {
	msg := err.Error()
	for _, sentinel := range []error{chat.ErrInvalid, store.ErrInvalid} {
		if s, ok := strings.CutSuffix(msg, ": "+sentinel.Error()); ok && s != "" {
			return s
		}
	}
	return msg
}

// viewChatWithQueue returns the chat object with its queued messages.
func (a *API) viewChatWithQueue(r *http.Request, c store.Chat) (wire.ChatWithQueue, error) {
	qs, err := a.store.ListQueued(r.Context(), c.ID)
	if err != nil {
		return wire.ChatWithQueue{}, fmt.Errorf("list queued messages: %w", err)
	}
	out := wire.ChatWithQueue{Chat: chat.ViewChat(c), Queue: make([]wire.QueuedMessage, 0, len(qs))}
	for _, q := range qs {
		out.Queue = append(out.Queue, chat.ViewQueued(q))
	}
	return out, nil
}

// writeChat answers with the chat and its queue.
func (a *API) writeChat(w http.ResponseWriter, r *http.Request, status int, c store.Chat) error {
	v, err := a.viewChatWithQueue(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

// content is a message as clients send it: plain text, or text parts.
type content struct {
	Message *string     `json:"message"`
	Parts   []inputPart `json:"parts"`
}

// inputPart is the only part a client may write: text. Tool results come
// through tool-results; everything else is the model's.
type inputPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func (c content) parts() ([]store.Part, error) {
	switch {
	case c.Message != nil && c.Parts != nil:
		return nil, invalid("message", "give message or parts, not both")
	case c.Message != nil:
		if err := validText("message", *c.Message); err != nil {
			return nil, err
		}
		return []store.Part{{Type: store.PartText, Text: *c.Message}}, nil
	case c.Parts == nil:
		return nil, invalid("message", "required (or parts)")
	case len(c.Parts) == 0:
		return nil, invalid("parts", "must not be empty")
	case len(c.Parts) > maxParts:
		return nil, invalid("parts", "at most %d parts", maxParts)
	}
	out := make([]store.Part, 0, len(c.Parts))
	total, blank := 0, true
	for i, p := range c.Parts {
		field := "parts[" + strconv.Itoa(i) + "]"
		if p.Type != string(store.PartText) {
			return nil, invalid(field+".type", "must be text (tool results go to /tool-results)")
		}
		if !utf8.ValidString(p.Text) {
			return nil, invalid(field+".text", "must be valid UTF-8")
		}
		total += utf8.RuneCountInString(p.Text)
		if strings.TrimSpace(p.Text) != "" {
			blank = false
		}
		out = append(out, store.Part{Type: store.PartText, Text: p.Text})
	}
	if blank {
		return nil, invalid("parts", "text must not be empty")
	}
	if total > maxMessageText {
		return nil, invalid("parts", "at most %d characters of text", maxMessageText)
	}
	return out, nil
}

func validText(field, s string) error {
	if strings.TrimSpace(s) == "" {
		return invalid(field, "must not be empty")
	}
	if !utf8.ValidString(s) {
		return invalid(field, "must be valid UTF-8")
	}
	if utf8.RuneCountInString(s) > maxMessageText {
		return invalid(field, "at most %d characters", maxMessageText)
	}
	if i := strings.IndexFunc(s, forbiddenControl); i >= 0 {
		return invalid(field, "must not contain control character %U (only tab, newline and carriage return are allowed)", []rune(s[i:])[0])
	}
	return nil
}

// forbiddenControl reports the C0 and C1 control characters a message may
// not hold: NUL cannot be stored in PostgreSQL text, and escape sequences
// would reach every terminal that prints the chat.
func forbiddenControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r >= 0x7f && r < 0xa0)
}

func validTitle(s string) error {
	if !utf8.ValidString(s) {
		return invalid("title", "must be valid UTF-8")
	}
	if utf8.RuneCountInString(s) > maxTitle {
		return invalid("title", "at most %d characters", maxTitle)
	}
	if strings.ContainsAny(s, "\r\n") {
		return invalid("title", "must be one line")
	}
	if i := strings.IndexFunc(s, forbiddenControl); i >= 0 {
		return invalid("title", "must not contain control character %U", []rune(s[i:])[0])
	}
	return nil
}

func validClientTools(in []wire.Tool) ([]store.ToolSpec, error) {
	if len(in) > maxClientTools {
		return nil, invalid("client_tools", "at most %d tools", maxClientTools)
	}
	seen := map[string]bool{}
	out := make([]store.ToolSpec, 0, len(in))
	for i, t := range in {
		field := "client_tools[" + strconv.Itoa(i) + "]"
		if !toolNameRE.MatchString(t.Name) {
			return nil, invalid(field+".name", "must match %s", toolNameRE)
		}
		if seen[t.Name] {
			return nil, invalid(field+".name", "%q is declared twice", t.Name)
		}
		seen[t.Name] = true
		if utf8.RuneCountInString(t.Description) > maxToolDescription {
			return nil, invalid(field+".description", "at most %d characters", maxToolDescription)
		}
		schema := t.InputSchema
		if len(schema) > 0 && string(schema) != "null" {
			var obj map[string]any
			if err := json.Unmarshal(schema, &obj); err != nil || obj == nil {
				return nil, invalid(field+".input_schema", "must be a JSON Schema object")
			}
		} else {
			schema = nil
		}
		out = append(out, store.ToolSpec{Name: t.Name, Description: t.Description, InputSchema: schema})
	}
	return out, nil
}

// chatModel picks the model config a new chat runs on: the one named, or
// the deployment's default.
func (a *API) chatModel(r *http.Request, id string) (string, error) {
	if id != "" {
		m, err := a.store.GetModel(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			return "", invalid("model", "no model with id %q", id)
		}
		if err != nil {
			return "", fmt.Errorf("get model: %w", err)
		}
		if !m.Enabled {
			return "", invalid("model", "model %q is disabled", id)
		}
		return m.ID, nil
	}
	ms, err := a.store.ListModels(r.Context())
	if err != nil {
		return "", fmt.Errorf("list models: %w", err)
	}
	for _, m := range ms {
		if m.IsDefault && m.Enabled {
			return m.ID, nil
		}
	}
	return "", invalid("model", "required: no default model is configured")
}

func (a *API) createChat(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		content
		Model       string      `json:"model"`
		Title       *string     `json:"title"`
		ClientTools []wire.Tool `json:"client_tools"`
		// Debug is the chat's debug override from the start, so that its
		// first turn and title run are recorded (or not) too.
		Debug json.RawMessage `json:"debug"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	parts, err := req.parts()
	if err != nil {
		return err
	}
	nc := store.NewChat{First: parts}
	if nc.DebugOverride, err = debugOverride(req.Debug); err != nil {
		return err
	}
	if req.Title != nil {
		if err := validTitle(*req.Title); err != nil {
			return err
		}
		nc.Title = strings.TrimSpace(*req.Title)
	}
	if nc.ClientTools, err = validClientTools(req.ClientTools); err != nil {
		return err
	}
	if nc.ModelConfigID, err = a.chatModel(r, req.Model); err != nil {
		return err
	}
	p := principal(r)
	nc.OwnerID, nc.APIKeyID = p.User.ID, p.Key.ID
	c, err := a.chats.CreateChat(r.Context(), nc)
	if err != nil {
		return chatError("chat", err)
	}
	a.log.Info("chat created", "chat_id", c.ID, "user_id", p.User.ID, "api_key_id", p.Key.ID, "model_config_id", c.ModelConfigID)
	return a.writeChat(w, r, http.StatusCreated, c)
}

// debugOverride reads a chat's "debug" field: true, false, or null (or
// absent) to inherit the user's and deployment's settings.
func debugOverride(raw json.RawMessage) (*bool, error) {
	if raw == nil || isNull(raw) {
		return nil, nil
	}
	var on bool
	if err := json.Unmarshal(raw, &on); err != nil {
		return nil, invalid("debug", "must be true, false or null")
	}
	return &on, nil
}

// limitParam reads ?limit=, 1 to maxChatLimit, defaultChatLimit if absent.
func limitParam(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return defaultChatLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxChatLimit {
		return 0, invalid("limit", "must be an integer from 1 to %d", maxChatLimit)
	}
	return n, nil
}

func (a *API) listChats(w http.ResponseWriter, r *http.Request) error {
	f := store.ChatFilter{OwnerID: principal(r).User.ID}
	archived := false
	switch s := r.URL.Query().Get("archived"); s {
	case "", "false":
	case "true":
		archived = true
	default:
		return invalid("archived", "must be true or false")
	}
	f.Archived = &archived
	var err error
	if f.Limit, err = limitParam(r); err != nil {
		return err
	}
	return a.writeChats(w, r, f)
}

func (a *API) listChildren(w http.ResponseWriter, r *http.Request) error {
	c, err := a.ownChat(r)
	if err != nil {
		return err
	}
	f := store.ChatFilter{OwnerID: c.OwnerID, ParentChatID: c.ID}
	if f.Limit, err = limitParam(r); err != nil {
		return err
	}
	return a.writeChats(w, r, f)
}

func (a *API) writeChats(w http.ResponseWriter, r *http.Request, f store.ChatFilter) error {
	cs, err := a.store.ListChats(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list chats: %w", err)
	}
	out := make([]wire.Chat, 0, len(cs))
	for _, c := range cs {
		out = append(out, chat.ViewChat(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"chats": out})
	return nil
}

func (a *API) getChat(w http.ResponseWriter, r *http.Request) error {
	c, err := a.ownChat(r)
	if err != nil {
		return err
	}
	return a.writeChat(w, r, http.StatusOK, c)
}

func (a *API) patchChat(w http.ResponseWriter, r *http.Request) error {
	c, err := a.ownChat(r)
	if err != nil {
		return err
	}
	var req struct {
		Title    *string `json:"title"`
		Archived *bool   `json:"archived"`
		// Debug is absent, null (inherit) or a boolean.
		Debug json.RawMessage `json:"debug"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	if req.Title == nil && req.Archived == nil && req.Debug == nil {
		return invalid("body", "give title or archived, or debug")
	}
	debug, err := debugOverride(req.Debug)
	if err != nil {
		return err
	}
	if req.Title != nil {
		if err := validTitle(*req.Title); err != nil {
			return err
		}
		if strings.TrimSpace(*req.Title) == "" {
			return invalid("title", "must not be empty")
		}
	}
	// A title may change in any state, so it goes first; archiving then
	// decides alone whether the state allows it. Asking for the state
	// the chat is already in changes nothing.
	if req.Title != nil {
		if c, err = a.chats.SetTitle(r.Context(), c.ID, strings.TrimSpace(*req.Title)); err != nil {
			return chatError("chat", err)
		}
	}
	if req.Debug != nil {
		if c, err = a.chats.SetDebugOverride(r.Context(), c.ID, debug); err != nil {
			return chatError("chat", err)
		}
	}
	if req.Archived != nil && *req.Archived != c.Archived {
		if c, err = a.chats.SetArchived(r.Context(), c.ID, *req.Archived); err != nil {
			return chatError("chat", err)
		}
	}
	return a.writeChat(w, r, http.StatusOK, c)
}

func (a *API) deleteChat(w http.ResponseWriter, r *http.Request) error {
	c, err := a.ownChat(r)
	if err != nil {
		return err
	}
	if err := a.chats.Delete(r.Context(), c.ID); err != nil {
		return chatError("chat", err)
	}
	a.log.Info("chat deleted", "chat_id", c.ID, "user_id", principal(r).User.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listMessages(w http.ResponseWriter, r *http.Request) error {
	c, err := a.ownChat(r)
	if err != nil {
		return err
	}
	var after int64
	if s := r.URL.Query().Get("after"); s != "" {
		if after, err = strconv.ParseInt(s, 10, 64); err != nil || after < 0 {
			return invalid("after", "must be a message seq (an integer >= 0)")
		}
	}
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	// One more than asked tells whether another page follows.
	ms, err := a.store.ListMessages(r.Context(), c.ID, after, limit+1)
	if err != nil {
		return fmt.Errorf("list messages: %w", err)
	}
	var next *int64
	if len(ms) > limit {
		ms = ms[:limit]
		seq := ms[len(ms)-1].Seq
		next = &seq
	}
	out := wire.MessagePage{Messages: make([]wire.Message, 0, len(ms)), NextAfter: next}
	for _, m := range ms {
		out.Messages = append(out.Messages, chat.ViewMessage(m))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) sendMessage(w http.ResponseWriter, r *http.Request) error {
	c, err := a.ownChat(r)
	if err != nil {
		return err
	}
	var req struct {
		content
		Mode string `json:"mode"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	parts, err := req.parts()
	if err != nil {
		return err
	}
	mode := store.SendMode(req.Mode)
	switch mode {
	case "":
		mode = store.SendQueue
	case store.SendQueue, store.SendInterrupt:
	default:
		return invalid("mode", "must be queue or interrupt")
	}
	p := principal(r)
	res, err := a.chats.Send(r.Context(), c.ID, parts, p.Key.ID, p.User.ID, mode)
	if err != nil {
		return chatError("chat", err)
	}
	// The committed message (201) or the queued entry (202), with the chat.
	out := wire.SendResult{Chat: chat.ViewChat(res.Chat)}
	status := http.StatusCreated
	switch {
	case res.Message != nil:
		v := chat.ViewMessage(*res.Message)
		out.Message = &v
	case res.Queued != nil:
		v := chat.ViewQueued(*res.Queued)
		out.Queued = &v
		status = http.StatusAccepted
	}
	writeJSON(w, status, out)
	return nil
}

func (a *API) editMessage(w http.ResponseWriter, r *http.Request) error {
	c, err := a.ownChat(r)
	if err != nil {
		return err
	}
	var req content
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	parts, err := req.parts()
	if err != nil {
		return err
	}
	nc, m, err := a.chats.Edit(r.Context(), c.ID, r.PathValue("msg"), parts, principal(r).Key.ID)
	if err != nil {
		return chatError("message", err)
	}
	v := chat.ViewMessage(m)
	writeJSON(w, http.StatusOK, wire.SendResult{Chat: chat.ViewChat(nc), Message: &v})
	return nil
}

func (a *API) interruptChat(w http.ResponseWriter, r *http.Request) error {
	c, err := a.ownChat(r)
	if err != nil {
		return err
	}
	if c, err = a.chats.Interrupt(r.Context(), c.ID); err != nil {
		return chatError("chat", err)
	}
	return a.writeChat(w, r, http.StatusOK, c)
}

func (a *API) deleteQueued(w http.ResponseWriter, r *http.Request) error {
	c, err := a.ownChat(r)
	if err != nil {
		return err
	}
	if c, err = a.chats.DeleteQueued(r.Context(), c.ID, r.PathValue("qid")); err != nil {
		return chatError("queued message", err)
	}
	return a.writeChat(w, r, http.StatusOK, c)
}

func (a *API) promoteQueued(w http.ResponseWriter, r *http.Request) error {
	c, err := a.ownChat(r)
	if err != nil {
		return err
	}
	if c, err = a.chats.PromoteQueued(r.Context(), c.ID, r.PathValue("qid")); err != nil {
		return chatError("queued message", err)
	}
	return a.writeChat(w, r, http.StatusOK, c)
}

func (a *API) submitToolResults(w http.ResponseWriter, r *http.Request) error {
	c, err := a.ownChat(r)
	if err != nil {
		return err
	}
	var req struct {
		Results []wire.ToolResult `json:"results"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	if len(req.Results) == 0 {
		return invalid("results", "required")
	}
	if len(req.Results) > maxToolResults {
		return invalid("results", "at most %d results", maxToolResults)
	}
	seen := map[string]bool{}
	parts := make([]store.Part, 0, len(req.Results))
	for i, res := range req.Results {
		field := "results[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(res.ToolCallID) == "" {
			return invalid(field+".tool_call_id", "required")
		}
		if seen[res.ToolCallID] {
			return invalid(field+".tool_call_id", "%q is answered twice", res.ToolCallID)
		}
		seen[res.ToolCallID] = true
		if !utf8.ValidString(res.Output) {
			return invalid(field+".output", "must be valid UTF-8")
		}
		if utf8.RuneCountInString(res.Output) > maxToolOutput {
			return invalid(field+".output", "at most %d characters", maxToolOutput)
		}
		parts = append(parts, store.Part{Type: store.PartToolResult, ToolCallID: res.ToolCallID, Output: res.Output, IsError: res.IsError, ClientSide: true})
	}
	if c, err = a.chats.SubmitToolResults(r.Context(), c.ID, parts); err != nil {
		return chatError("chat", err)
	}
	return a.writeChat(w, r, http.StatusOK, c)
}
