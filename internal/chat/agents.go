package chat

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// Subagent tool names. A root chat's model delegates through them; they
// are neither offered to nor runnable by subagent chats.
const (
	ToolSpawnAgent     = "spawn_agent"
	ToolWaitAgent      = "wait_agent"
	ToolMessageAgent   = "message_agent"
	ToolInterruptAgent = "interrupt_agent"
	ToolListAgents     = "list_agents"
)

// Defaults of the subagent settings of Config, and limits.
const (
	defaultMaxChildrenPerUser = 8
	defaultMaxChildren        = 64
	defaultAgentWait          = 5 * time.Minute
	defaultAgentPollInterval  = 2 * time.Second
	maxAgentWait              = time.Hour
	maxAgentTitleLen          = 80
	maxListedAgents           = 200
)

const errSubagentCannotDelegate = "subagents cannot use the subagent tools; only the root agent delegates"

// ErrTooManyAgents is the tool error of a spawn beyond the concurrency cap.
var ErrTooManyAgents = errors.New("too many subagents running")

// ChatTool is an optional ability of a Tool: saying whether it is offered
// to a given chat (the subagent tools are offered to root chats only).
// Tools without it are offered to every chat. A model may still name a
// tool it was not offered, so Run must refuse such calls itself.
type ChatTool interface {
	AvailableFor(c store.Chat) bool
}

var (
	_ Tool     = agentTool{}
	_ ChatTool = agentTool{}
)

// agentTools returns the subagent tools bound to s.
func (s *Service) agentTools() []Tool {
	return []Tool{
		agentTool{s: s, name: ToolSpawnAgent, run: s.spawnAgent,
			desc: "Start a subagent: a separate chat that works on a task on its own, in parallel with you, and ends with a final answer. " +
				"Returns its agent_id. Give it a complete, self-contained task; it does not see this conversation. " +
				"Optionally name a model (its id or name) for it. Collect its answer with wait_agent.",
			schema: `{"type":"object","properties":{"task":{"type":"string","description":"What the subagent should do, self-contained."},"model":{"type":"string","description":"Optional model id or name for the subagent."}},"required":["task"],"additionalProperties":false}`},
		agentTool{s: s, name: ToolWaitAgent, run: s.waitAgent,
			desc: "Wait until every listed subagent has finished (or the timeout passes) and return each one's final answer, or its error with what it reported. " +
				"The default timeout is 300 seconds.",
			schema: `{"type":"object","properties":{"agent_ids":{"type":"array","items":{"type":"string"},"minItems":1,"description":"The subagents to wait for."},"timeout_seconds":{"type":"number","description":"How long to wait at most; default 300."}},"required":["agent_ids"],"additionalProperties":false}`},
		agentTool{s: s, name: ToolMessageAgent, run: s.messageAgent,
			desc:   "Send a follow-up message to a subagent. If it is busy, the message is queued and runs after its current work.",
			schema: `{"type":"object","properties":{"agent_id":{"type":"string"},"message":{"type":"string"}},"required":["agent_id","message"],"additionalProperties":false}`},
		agentTool{s: s, name: ToolInterruptAgent, run: s.interruptAgent,
			desc:   "Stop a running subagent; it keeps what it wrote so far.",
			schema: `{"type":"object","properties":{"agent_id":{"type":"string"}},"required":["agent_id"],"additionalProperties":false}`},
		agentTool{s: s, name: ToolListAgents, run: s.listAgents,
			desc:   "List your subagents with their status and title.",
			schema: `{"type":"object","properties":{},"additionalProperties":false}`},
	}
}

// agentTool is one of the subagent tools.
type agentTool struct {
	s      *Service
	name   string
	desc   string
	schema string
	run    func(ctx context.Context, parent store.Chat, input string) (string, error)
}

// Name implements Tool.
func (t agentTool) Name() string { return t.name }

// Description implements Tool.
func (t agentTool) Description() string { return t.desc }

// Schema implements Tool.
func (t agentTool) Schema() json.RawMessage { return json.RawMessage(t.schema) }

// AvailableFor offers the subagent tools to root chats only.
func (t agentTool) AvailableFor(c store.Chat) bool { return c.ParentChatID == "" }

// Run loads the calling chat and refuses subagents, whose model may name
// the tool even though it was not offered.
func (t agentTool) Run(ctx context.Context, call ToolCall) (string, error) {
	parent, err := t.s.chats.GetChat(ctx, call.ChatID)
	if err != nil {
		return "", fmt.Errorf("load the calling chat: %w", err)
	}
	if parent.ParentChatID != "" {
		return "", errors.New(errSubagentCannotDelegate)
	}
	return t.run(ctx, parent, call.Input)
}

// decodeInput parses a tool call's JSON arguments.
func decodeInput(input string, v any) error {
	if strings.TrimSpace(input) == "" {
		input = "{}"
	}
	if err := json.Unmarshal([]byte(input), v); err != nil {
		return fmt.Errorf("the arguments are not valid JSON for this tool: %v", err)
	}
	return nil
}

func toolJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode result: %w", err)
	}
	return string(b), nil
}

// parentKey is the API key that initiated the parent's turn: the key of
// its latest visible user message.
func (s *Service) parentKey(ctx context.Context, parentID string) (string, error) {
	var key string
	after := int64(0)
	for {
		msgs, err := s.chats.ListMessages(ctx, parentID, after, pageSize)
		if err != nil {
			return "", fmt.Errorf("read the parent's history: %w", err)
		}
		if k := activeKey(msgs); k != "" {
			key = k
		}
		if len(msgs) < pageSize {
			return key, nil
		}
		after = msgs[len(msgs)-1].Seq
	}
}

type spawnInput struct {
	Task  string `json:"task"`
	Model string `json:"model"`
}

type agentInfo struct {
	AgentID string           `json:"agent_id"`
	Title   string           `json:"title,omitempty"`
	Status  store.ChatStatus `json:"status,omitempty"`
	Model   string           `json:"model,omitempty"`
}

func (s *Service) spawnAgent(ctx context.Context, parent store.Chat, input string) (string, error) {
	var in spawnInput
	if err := decodeInput(input, &in); err != nil {
		return "", err
	}
	task := strings.TrimSpace(in.Task)
	if task == "" {
		return "", errors.New("task is required: say what the subagent should do")
	}
	mc, err := s.subagentModel(ctx, parent, in.Model)
	if err != nil {
		return "", err
	}
	key, err := s.parentKey(ctx, parent.ID)
	if err != nil {
		return "", err
	}
	if key == "" {
		return "", errors.New("the conversation has no API key to attribute the subagent's model calls to")
	}

	// Counting and creating under one lock keeps this replica's spawns
	// from racing past the cap together.
	s.agents.mu.Lock()
	defer s.agents.mu.Unlock()
	if err := s.checkAgentCaps(ctx, parent.OwnerID); err != nil {
		return "", err
	}
	child, err := s.CreateChat(ctx, store.NewChat{
		OwnerID:       parent.OwnerID,
		Title:         agentTitle(task),
		ModelConfigID: mc.ID,
		ParentChatID:  parent.ID,
		RootChatID:    cmp.Or(parent.RootChatID, parent.ID),
		First:         textParts(task),
		APIKeyID:      key,
	})
	if err != nil {
		return "", fmt.Errorf("start the subagent: %w", err)
	}
	s.log.Info("chat: subagent spawned", "chat_id", parent.ID, "subchat_id", child.ID, "model_config_id", mc.ID)
	return toolJSON(agentInfo{AgentID: child.ID, Title: child.Title, Status: child.Status, Model: modelName(mc)})
}

func textParts(s string) []store.Part { return []store.Part{{Type: store.PartText, Text: s}} }

func modelName(mc store.ModelConfig) string { return cmp.Or(mc.DisplayName, mc.Model) }

// agentTitle names a child after its task.
func agentTitle(task string) string {
	r := []rune(strings.Join(strings.Fields(task), " "))
	if len(r) <= maxAgentTitleLen {
		return string(r)
	}
	return strings.TrimSpace(string(r[:maxAgentTitleLen-1])) + "…"
}

// agentTracker serialises this replica's spawns and restarts of idle
// children (message_agent), so two of them cannot both pass the cap
// check before either child is busy.
type agentTracker struct {
	mu sync.Mutex
}

// checkAgentCaps refuses a spawn, or a restart of an idle child, when
// the owner, or the deployment, has as many busy subagents as allowed;
// s.agents.mu must be held. The store counts them across every replica.
func (s *Service) checkAgentCaps(ctx context.Context, ownerID string) error {
	mine, total, err := s.chats.CountBusySubagents(ctx, ownerID)
	if err != nil {
		return fmt.Errorf("count running subagents: %w", err)
	}
	if mine >= int64(s.cfg.MaxSubagentsPerUser) {
		return fmt.Errorf("%w: you already have %d subagents running, the most allowed; wait for one to finish or interrupt one", ErrTooManyAgents, mine)
	}
	if total >= int64(s.cfg.MaxSubagents) {
		return fmt.Errorf("%w: the server already runs %d subagents, the most allowed; wait for one to finish", ErrTooManyAgents, total)
	}
	return nil
}

// busy reports whether a chat has a turn in progress or waiting.
func busy(st store.ChatStatus) bool {
	return st == store.ChatRunning || st == store.ChatInterrupting || st == store.ChatRequiresAction
}

// subagentModel picks a child's model: the one named in the call, else
// the user's subagent override, else the deployment's, else the parent's.
// A model that is unknown or disabled is an error the agent reads.
func (s *Service) subagentModel(ctx context.Context, parent store.Chat, named string) (store.ModelConfig, error) {
	if named = strings.TrimSpace(named); named != "" {
		return s.findModel(ctx, named)
	}
	id, err := s.subagentOverride(ctx, parent.OwnerID)
	if err != nil {
		return store.ModelConfig{}, fmt.Errorf("read the subagent model setting: %w", err)
	}
	if id != "" {
		mc, err := s.store.GetModel(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return store.ModelConfig{}, fmt.Errorf("the subagent model setting names model %q, which does not exist; name a model in the call", id)
		}
		if err != nil {
			return store.ModelConfig{}, fmt.Errorf("load the subagent model: %w", err)
		}
		if !mc.Enabled {
			return store.ModelConfig{}, fmt.Errorf("the subagent model setting names model %q, which is disabled; name a model in the call", modelName(mc))
		}
		return mc, nil
	}
	mc, err := s.store.GetModel(ctx, parent.ModelConfigID)
	if err != nil {
		return store.ModelConfig{}, fmt.Errorf("load the chat's model: %w", err)
	}
	return mc, nil
}

// findModel resolves a model the agent named: a model config id, or a
// model or display name of an enabled model.
func (s *Service) findModel(ctx context.Context, ref string) (store.ModelConfig, error) {
	models, err := s.store.ListModels(ctx)
	if err != nil {
		return store.ModelConfig{}, fmt.Errorf("list models: %w", err)
	}
	var disabled bool
	var matches []store.ModelConfig
	for _, m := range models {
		if m.ID != ref && !strings.EqualFold(m.Model, ref) && !strings.EqualFold(m.DisplayName, ref) {
			continue
		}
		if !m.Enabled {
			disabled = true
			continue
		}
		if m.ID == ref {
			return m, nil
		}
		matches = append(matches, m)
	}
	var names []string
	for _, m := range models {
		if m.Enabled {
			names = append(names, modelName(m))
		}
	}
	slices.Sort(names)
	switch {
	case len(matches) == 1:
		return matches[0], nil
	case len(matches) > 1:
		return store.ModelConfig{}, fmt.Errorf("model %q is ambiguous: %d models match; use the model id", ref, len(matches))
	case disabled:
		return store.ModelConfig{}, fmt.Errorf("model %q is disabled; available models: %s", ref, strings.Join(names, ", "))
	}
	return store.ModelConfig{}, fmt.Errorf("unknown model %q; available models: %s", ref, strings.Join(names, ", "))
}

// child loads a subagent of parent; anything else is an error the agent
// reads.
func (s *Service) child(ctx context.Context, parent store.Chat, id string) (store.Chat, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return store.Chat{}, errors.New("agent_id is required")
	}
	c, err := s.chats.GetChat(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.ParentChatID != parent.ID) {
		return store.Chat{}, fmt.Errorf("no subagent %q of this chat", id)
	}
	if err != nil {
		return store.Chat{}, fmt.Errorf("load subagent %q: %w", id, err)
	}
	return c, nil
}

type messageInput struct {
	AgentID string `json:"agent_id"`
	Message string `json:"message"`
}

func (s *Service) messageAgent(ctx context.Context, parent store.Chat, input string) (string, error) {
	var in messageInput
	if err := decodeInput(input, &in); err != nil {
		return "", err
	}
	if strings.TrimSpace(in.Message) == "" {
		return "", errors.New("message is required")
	}
	key, err := s.parentKey(ctx, parent.ID)
	if err != nil {
		return "", err
	}
	// A message to an idle child restarts it, so it counts against the
	// caps like a spawn, under the same lock. A child that is busy when
	// read here is counted already: if it goes idle before Send, Send
	// restarts it without adding to what was counted.
	s.agents.mu.Lock()
	defer s.agents.mu.Unlock()
	c, err := s.child(ctx, parent, in.AgentID)
	if err != nil {
		return "", err
	}
	if !busy(c.Status) {
		if err := s.checkAgentCaps(ctx, parent.OwnerID); err != nil {
			return "", fmt.Errorf("cannot message subagent %s now: it is %s, and the message would restart it: %w", c.ID, c.Status, err)
		}
	}
	r, err := s.Send(ctx, c.ID, textParts(in.Message), key, parent.OwnerID, store.SendQueue)
	if err != nil {
		var te *store.TransitionError
		if errors.As(err, &te) {
			return "", fmt.Errorf("cannot message subagent %s: %s", c.ID, te.Reason)
		}
		return "", err
	}
	if r.Queued != nil && c.Status == store.ChatError {
		return fmt.Sprintf("The subagent had failed with messages still queued; it restarts with those first and this message after them. Use %s to collect the answer.", ToolWaitAgent), nil
	}
	if r.Queued != nil {
		return fmt.Sprintf("The subagent is busy; the message is queued and runs after its current work. Use %s to collect the answer.", ToolWaitAgent), nil
	}
	return fmt.Sprintf("Message sent; the subagent is working on it. Use %s to collect the answer.", ToolWaitAgent), nil
}

type agentIDInput struct {
	AgentID string `json:"agent_id"`
}

func (s *Service) interruptAgent(ctx context.Context, parent store.Chat, input string) (string, error) {
	var in agentIDInput
	if err := decodeInput(input, &in); err != nil {
		return "", err
	}
	c, err := s.child(ctx, parent, in.AgentID)
	if err != nil {
		return "", err
	}
	if _, err := s.Interrupt(ctx, c.ID); err != nil {
		var te *store.TransitionError
		if errors.As(err, &te) {
			return fmt.Sprintf("Subagent %s is not running (%s); nothing to interrupt.", c.ID, c.Status), nil
		}
		return "", err
	}
	return fmt.Sprintf("Subagent %s is being interrupted; it keeps what it wrote so far.", c.ID), nil
}

func (s *Service) listAgents(ctx context.Context, parent store.Chat, _ string) (string, error) {
	cs, err := s.chats.ListChats(ctx, store.ChatFilter{OwnerID: parent.OwnerID, ParentChatID: parent.ID, Limit: maxListedAgents})
	if err != nil {
		return "", fmt.Errorf("list subagents: %w", err)
	}
	slices.SortFunc(cs, func(a, b store.Chat) int { return a.CreatedAt.Compare(b.CreatedAt) })
	out := make([]agentInfo, 0, len(cs))
	for _, c := range cs {
		out = append(out, agentInfo{AgentID: c.ID, Title: c.Title, Status: c.Status})
	}
	return toolJSON(map[string]any{"agents": out})
}
