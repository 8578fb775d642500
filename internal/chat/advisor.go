package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/route"
	"github.com/chatd/chatd/internal/settings"
	"github.com/chatd/chatd/internal/store"
)

// ToolAdvisor is the advisor tool's name.
const ToolAdvisor = "advisor"

// DefaultAdvisorCalls is how many advisor calls a turn may make when
// NewAdvisorTool is not given WithAdvisorCalls.
var DefaultAdvisorCalls = 3

// advisorMaxOutput caps the advisor's answer.
const advisorMaxOutput = 2048

const advisorInstructions = "You are an advisor to an AI agent working on a user's request. The conversation so far follows, " +
	"then the agent's question to you. Give concise, concrete guidance the agent can act on: point out mistakes, risks " +
	"and better approaches. You cannot use tools; the agent acts on your advice."

// AdvisorOption configures NewAdvisorTool.
type AdvisorOption func(*advisorTool)

// WithAdvisorCalls caps the advisor calls of one turn; n < 1 is ignored.
func WithAdvisorCalls(n int) AdvisorOption {
	return func(t *advisorTool) {
		if n >= 1 {
			t.max = n
		}
	}
}

// NewAdvisorTool returns the advisor tool of s: a root chat's agent asks
// a (usually stronger) advisor model for guidance, with the conversation
// so far, a bounded number of times per turn. The advisor model is the
// user's, else the deployment's, advisor override. It is offered to root
// chats only. The tool is safe for concurrent use.
func NewAdvisorTool(s *Service, opts ...AdvisorOption) Tool {
	t := &advisorTool{s: s, max: DefaultAdvisorCalls, used: map[string]advisorUse{}}
	for _, o := range opts {
		o(t)
	}
	return t
}

type advisorTool struct {
	s   *Service
	max int

	mu   sync.Mutex
	used map[string]advisorUse // guarded by mu: chat id -> this turn's successful calls
}

// advisorUse counts a turn's successful advisor calls; the turn is the
// chat's latest visible user message.
type advisorUse struct {
	turnSeq int64
	n       int
}

func (*advisorTool) Name() string { return ToolAdvisor }

func (*advisorTool) Description() string {
	return "Ask a stronger advisor model for guidance on a hard decision, a plan or a problem you are stuck on. " +
		"It sees the conversation so far and your question, cannot use tools, and answers with advice. " +
		"Calls are limited per turn: ask a specific, self-contained question."
}

func (*advisorTool) Schema() json.RawMessage {
	return json.RawMessage(`{"type":"object","properties":{"question":{"type":"string","description":"What you want advice on."}},"required":["question"],"additionalProperties":false}`)
}

// AvailableFor offers the advisor to root chats only.
func (*advisorTool) AvailableFor(c store.Chat) bool { return c.ParentChatID == "" }

// Run implements Tool.
func (t *advisorTool) Run(ctx context.Context, call ToolCall) (string, error) {
	var in struct {
		Question string `json:"question"`
	}
	if err := decodeInput(call.Input, &in); err != nil {
		return "", err
	}
	in.Question = strings.TrimSpace(in.Question)
	if in.Question == "" {
		return "", errors.New("question is required")
	}
	c, err := t.s.chats.GetChat(ctx, call.ChatID)
	if err != nil {
		return "", fmt.Errorf("load the calling chat: %w", err)
	}
	if c.ParentChatID != "" {
		return "", errors.New("the advisor is only available to the root agent, not to subagents")
	}
	history, err := t.s.visibleHistory(ctx, c.ID)
	if err != nil {
		return "", err
	}
	turnSeq := latestUserSeq(history)
	if n := t.count(c.ID, turnSeq, history); n >= t.max {
		return "", fmt.Errorf("the advisor was already consulted %d times in this turn, the limit; go on without it", n)
	}
	modelID, err := t.s.modelOverride(ctx, c.OwnerID, settings.ModelAdvisor)
	if err != nil {
		return "", fmt.Errorf("read the advisor setting: %w", err)
	}
	if modelID == "" {
		return "", errors.New("no advisor model is configured; an administrator (or the user, in their settings) must choose one")
	}
	answer, err := t.ask(ctx, c, modelID, activeKey(history), history, in.Question)
	if err != nil {
		return "", fmt.Errorf("the advisor call failed: %w", err)
	}
	t.record(c.ID, turnSeq)
	return answer, nil
}

// count is the turn's successful advisor calls: those this process made
// (including the current step's, not yet committed) or, after the turn
// moved to this replica, the successful results in the history.
func (t *advisorTool) count(chatID string, turnSeq int64, history []store.Message) int {
	n := 0
	for _, m := range history {
		if m.Seq <= turnSeq || m.Role != store.RoleTool {
			continue
		}
		for _, p := range m.Parts {
			if p.Type == store.PartToolResult && p.ToolName == ToolAdvisor && !p.IsError {
				n++
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if u, ok := t.used[chatID]; ok && u.turnSeq == turnSeq {
		n = max(n, u.n)
	}
	return n
}

// record counts a successful call. Only the latest turn of a chat is
// kept, so the map holds one small entry per chat that used the advisor.
func (t *advisorTool) record(chatID string, turnSeq int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.used[chatID]
	if u.turnSeq != turnSeq {
		u = advisorUse{turnSeq: turnSeq}
	}
	u.n++
	t.used[chatID] = u
}

func (t *advisorTool) ask(ctx context.Context, c store.Chat, modelID, apiKeyID string, history []store.Message, question string) (string, error) {
	if apiKeyID == "" {
		return "", errors.New("the latest user message has no API key to attribute the advisor call to")
	}
	res, err := t.s.router.Model(ctx, route.Request{
		UserID:        c.OwnerID,
		ModelConfigID: modelID,
		APIKeyID:      apiKeyID,
		ChatID:        c.ID,
		Purpose:       route.PurposeAdvisor,
		// A step of the turn's debug run when the turn is recorded.
		Debug: debugFrom(ctx),
	}, route.Options{MaxOutputTokens: advisorMaxOutput})
	if err != nil {
		return "", err
	}
	prompt := append(fantasy.Prompt{fantasy.NewSystemMessage(advisorInstructions)}, buildPrompt(history)...)
	prompt = append(prompt, fantasy.NewUserMessage("The agent asks for your advice:\n\n"+question))
	text, usage, err := generateText(ctx, res.Model, t.s.quietCall(c, prompt, advisorMaxOutput))
	// The call is paid for whether or not its answer is usable.
	if usage != (fantasy.Usage{}) {
		u := toUsage(usage, res.Provider.Type)
		meterCall(ctx, u, res.ModelConfig.Prices.CostMicros(u, res.Provider.Type))
	}
	if err != nil {
		return "", classify(err)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return "", errors.New("the advisor returned an empty answer")
	}
	return text, nil
}

// latestUserSeq is the seq of the latest visible user message, which
// identifies the turn.
func latestUserSeq(history []store.Message) int64 {
	for _, m := range slices.Backward(history) {
		if m.Role == store.RoleUser {
			return m.Seq
		}
	}
	return 0
}
