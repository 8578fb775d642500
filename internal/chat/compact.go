package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/route"
	"github.com/chatd/chatd/internal/settings"
	"github.com/chatd/chatd/internal/store"
)

// Compaction defaults.
const (
	// compactionKeep is how many recent messages a compaction keeps
	// verbatim, besides unanswered user messages.
	compactionKeep = 4
	// defaultCompactionThreshold is the percent of the context limit a
	// step's input may fill before the chat is compacted.
	defaultCompactionThreshold = 80
	// compactionMaxOutput caps the summary.
	compactionMaxOutput = 4096
	// compactionTimeout bounds a summary call.
	compactionTimeout = 3 * time.Minute
)

// ErrNothingToCompact refuses a compaction when no message is older than
// the ones it keeps. It matches store.ErrConflict.
var ErrNothingToCompact = fmt.Errorf("nothing to compact: %w", store.ErrConflict)

const compactInstructions = "You compact conversations between a user and an AI agent so the agent can continue with less context. " +
	"Write a faithful summary of the conversation above: the user's goals and requests, decisions made, facts and results " +
	"learned (including what tools returned that still matters), files, names and values the work depends on, and what " +
	"remains to be done. Do not invent anything and do not answer the user. Write it for the agent, in plain prose and lists, " +
	"without preamble."

const compactRequest = "Summarise the conversation so far as instructed."

// promptHistory is what a prompt is built from: the latest summary
// first, then the messages after the seq it covers (in seq order, which
// includes the ones sent while the summary was written), other summaries
// dropped. Without a summary it is history unchanged.
func promptHistory(history []store.Message) []store.Message {
	last := -1
	for i, m := range history {
		if m.Role == store.RoleSummary {
			last = i
		}
	}
	if last < 0 {
		return history
	}
	sum := history[last]
	through := sum.SummaryThroughSeq
	if through == 0 {
		through = sum.Seq - 1
	}
	out := []store.Message{sum}
	// A summary written mid-turn may cover the requests the turn is still
	// answering; the model must keep seeing them word for word.
	for _, u := range pendingRequests(history) {
		if u.Seq <= through {
			out = append(out, u)
		}
	}
	for _, m := range history {
		if m.Role != store.RoleSummary && m.Seq > through {
			out = append(out, m)
		}
	}
	return out
}

// pendingRequests returns the user messages after the last final answer
// (an assistant message that calls no tool), in order: the requests a
// turn is still at work on, possibly deep in a tool loop.
func pendingRequests(history []store.Message) []store.Message {
	start := 0
	for i := len(history) - 1; i >= 0; i-- {
		if m := history[i]; m.Role == store.RoleAssistant && !callsTools(m) {
			start = i + 1
			break
		}
	}
	var out []store.Message
	for _, m := range history[start:] {
		if m.Role == store.RoleUser {
			out = append(out, m)
		}
	}
	return out
}

// summaryMessage puts a summary into the prompt: as a system message
// before a user message, else as a user message, since some providers
// (Anthropic) refuse a conversation that does not start with the user.
func summaryMessage(sum store.Message, rest []store.Message) fantasy.Message {
	text := summaryPrefix + textOf(sum.Parts)
	if len(rest) > 0 && rest[0].Role == store.RoleUser {
		return fantasy.NewSystemMessage(text)
	}
	return fantasy.NewUserMessage(text)
}

// planCompaction decides what a compaction covers: older is the prompt
// history to summarise (the current summary, if any, and the messages up
// to the cut) and through the last seq it covers. It keeps the last keep
// messages and every unanswered user message, and cuts only after an
// assistant or tool message and never before tool results, so a call and
// its result stay together. ok is false when there is nothing to cover.
//
// User messages after the last assistant message are unanswered and
// stay. The request of a running turn may be summarised with the finished
// steps of its tool loop, so a long loop can still be compacted: the
// prompt then repeats that request after the summary (promptHistory).
func planCompaction(history []store.Message, keep int) (older []store.Message, through int64, ok bool) {
	ph := promptHistory(history)
	var head []store.Message
	msgs := ph
	if len(ph) > 0 && ph[0].Role == store.RoleSummary {
		head, msgs = ph[:1], ph[1:]
	}
	limit := len(msgs) - keep
	lastAssistant := -1
	for i, m := range msgs {
		if m.Role == store.RoleAssistant {
			lastAssistant = i
		}
	}
	for i := lastAssistant + 1; i < len(msgs); i++ {
		if msgs[i].Role == store.RoleUser {
			limit = min(limit, i)
			break
		}
	}
	for j := limit; j >= 1; j-- {
		prev, next := msgs[j-1].Role, msgs[j].Role
		if (prev == store.RoleAssistant || prev == store.RoleTool) && next != store.RoleTool {
			older = append(append(older, head...), msgs[:j]...)
			return older, msgs[j-1].Seq, true
		}
	}
	return nil, 0, false
}

// callsTools reports whether an assistant message calls a tool.
func callsTools(m store.Message) bool {
	for _, p := range m.Parts {
		if p.Type == store.PartToolCall {
			return true
		}
	}
	return false
}

// bytesPerToken is the rough size of a token, for prompts the provider
// has not counted yet.
const bytesPerToken = 4

// promptTokens estimates the input tokens of a model call on history:
// the input tokens of the latest metered step after the current summary,
// as its provider counted them (typeOf says how the provider of a model
// config counts cached tokens), plus about a token per 4 bytes of that
// step's answer and of the messages after it. Without such a step (a new
// chat, or right after a compaction, when older steps' counts still
// include what the summary replaced) the whole prompt is estimated by
// its size.
func promptTokens(history []store.Message, typeOf func(modelConfigID string) store.ProviderType) int64 {
	ph := promptHistory(history)
	var sumSeq int64
	if len(ph) > 0 && ph[0].Role == store.RoleSummary {
		sumSeq = ph[0].Seq
	}
	var base int64
	from := 0
	for i := len(ph) - 1; i >= 0; i-- {
		m := ph[i]
		if m.Role != store.RoleAssistant || m.Seq < sumSeq || m.Usage == (store.Usage{}) {
			continue
		}
		base = m.Usage.Input
		if typeOf(m.ModelConfigID) == store.ProviderAnthropic {
			// Anthropic counts cached input apart.
			base += m.Usage.CacheRead + m.Usage.CacheWrite
		}
		from = i
		break
	}
	var size int
	for _, m := range ph[from:] {
		size += partsSize(m.Parts)
	}
	return base + int64(size/bytesPerToken)
}

// visibleHistory reads a chat's visible messages.
func (s *Service) visibleHistory(ctx context.Context, chatID string) ([]store.Message, error) {
	var out []store.Message
	after := int64(0)
	for {
		msgs, err := s.chats.ListMessages(ctx, chatID, after, pageSize)
		if err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
		out = append(out, msgs...)
		if len(msgs) < pageSize {
			return out, nil
		}
		after = msgs[len(msgs)-1].Seq
	}
}

// modelOverride returns the model config of the user's, else the
// deployment's, override of kind; "" when neither is set.
func (s *Service) modelOverride(ctx context.Context, userID, kind string) (string, error) {
	id, ok, err := settings.ModelOverride(ctx, s.store, userID, kind)
	if err != nil || !ok {
		return "", err
	}
	return id, nil
}

// compactionModel returns the model config that writes c's summaries and
// the context limit compaction works with: the smaller known limit of
// that model and the chat's (zero when neither is known).
func (s *Service) compactionModel(ctx context.Context, c store.Chat, chatModel store.ModelConfig) (string, int64, error) {
	id, err := s.modelOverride(ctx, c.OwnerID, settings.ModelCompaction)
	if err != nil {
		return "", 0, err
	}
	limit := chatModel.ContextLimit
	if id == "" || id == chatModel.ID {
		return chatModel.ID, limit, nil
	}
	mc, err := s.store.GetModel(ctx, id)
	if err != nil {
		// Routing reports the broken override when the summary is asked for.
		return id, limit, nil
	}
	if mc.ContextLimit > 0 && (limit == 0 || mc.ContextLimit < limit) {
		limit = mc.ContextLimit
	}
	return id, limit, nil
}

// compactionThreshold is the threshold percent of userID's chats on
// chatModel: the user's setting, else the model config's own threshold,
// else the deployment's setting, else 80.
func (s *Service) compactionThreshold(ctx context.Context, userID string, chatModel store.ModelConfig) int {
	pct, ok, err := settings.CompactionThresholdFor(ctx, s.store, userID, chatModel.CompactionThresholdPercent)
	if err != nil {
		s.log.Warn("chat: read compaction threshold", "user_id", userID, "error", err)
	}
	if !ok {
		return defaultCompactionThreshold
	}
	return pct
}

// summarize asks the compaction model for a summary of older and returns
// the summary message to commit.
//
// dbg decides debug recording: a turn passes its own (the summary is a
// step of the turn's run), a manual compaction a new run of kind
// compaction, which summarize finishes.
func (s *Service) summarize(ctx context.Context, c store.Chat, modelID, apiKeyID string, older []store.Message, dbg *route.DebugInfo) (sum store.Message, err error) {
	if apiKeyID == "" {
		return store.Message{}, errors.New("the latest user message has no API key to attribute the summary call to")
	}
	req := route.Request{
		UserID:        c.OwnerID,
		ModelConfigID: modelID,
		APIKeyID:      apiKeyID,
		ChatID:        c.ID,
		Purpose:       route.PurposeCompaction,
		Debug:         dbg,
	}
	if c.ParentChatID != "" {
		req.ChatID, req.SubchatID = c.ParentChatID, c.ID
	}
	ctx, cancel := context.WithTimeout(ctx, compactionTimeout)
	defer cancel()
	res, err := s.router.Model(ctx, req, route.Options{MaxOutputTokens: compactionMaxOutput})
	if err != nil {
		return store.Message{}, err
	}
	if dbg != nil && dbg.Run == nil && res.Run != nil {
		// A run of its own: finish it here.
		defer func() {
			fctx := context.WithoutCancel(ctx)
			if err != nil {
				res.Run.Finish(fctx, store.DebugError, err.Error())
				return
			}
			res.Run.Finish(fctx, store.DebugCompleted, fmt.Sprintf("summarised %d messages", len(older)))
		}()
	}
	prompt := append(fantasy.Prompt{fantasy.NewSystemMessage(compactInstructions)}, buildPrompt(older)...)
	prompt = append(prompt, fantasy.NewUserMessage(compactRequest))
	text, usage, err := generateText(ctx, res.Model, s.quietCall(c, prompt, compactionMaxOutput))
	u := toUsage(usage, res.Provider.Type)
	sum = store.Message{
		Role:          store.RoleSummary,
		Parts:         []store.Part{{Type: store.PartText, Text: strings.TrimSpace(text)}},
		Usage:         u,
		CostMicros:    res.ModelConfig.Prices.CostMicros(u, res.Provider.Type),
		ModelConfigID: res.ModelConfig.ID,
	}
	if err == nil && strings.TrimSpace(text) == "" {
		err = errors.New("the model returned an empty summary")
	}
	if err != nil {
		// The call is paid for whether or not its summary is usable.
		s.spentWithoutMessage(ctx, c.ID, sum)
		return store.Message{}, err
	}
	return sum, nil
}

// quietCall is a call that may not use tools. The chat's tools are still
// declared when the prompt holds tool calls, since some providers
// (Anthropic) refuse tool calls in a conversation that declares none.
func (s *Service) quietCall(c store.Chat, prompt fantasy.Prompt, maxOut int64) fantasy.Call {
	call := fantasy.Call{Prompt: prompt, MaxOutputTokens: &maxOut}
	for _, m := range prompt {
		for _, p := range m.Content {
			if p.GetType() == fantasy.ContentTypeToolCall || p.GetType() == fantasy.ContentTypeToolResult {
				none := fantasy.ToolChoiceNone
				call.Tools, call.ToolChoice = s.callTools(c), &none
				return call
			}
		}
	}
	return call
}

// generateText streams a call to its end and returns its text.
func generateText(ctx context.Context, model fantasy.LanguageModel, call fantasy.Call) (string, fantasy.Usage, error) {
	resp, err := model.Stream(ctx, call)
	if err != nil {
		return "", fantasy.Usage{}, err
	}
	var (
		b        strings.Builder
		usage    fantasy.Usage
		finished bool
	)
	for part := range resp {
		switch part.Type {
		case fantasy.StreamPartTypeTextDelta:
			b.WriteString(part.Delta)
		case fantasy.StreamPartTypeFinish:
			usage, finished = part.Usage, true
		case fantasy.StreamPartTypeError:
			return "", usage, part.Error
		}
	}
	if err := ctx.Err(); err != nil {
		return "", usage, err
	}
	if !finished {
		return "", usage, errIncompleteStream
	}
	return b.String(), usage, nil
}

// Compact starts a manual compaction of an idle chat (waiting or in
// error) and returns at once; watchers see the summary message when it
// is committed. apiKeyID is the key the summary call is attributed to;
// if empty, the latest user message's. A busy chat is refused with a
// *store.TransitionError, a chat with nothing older than what compaction
// keeps with ErrNothingToCompact.
func (s *Service) Compact(ctx context.Context, chatID, apiKeyID string) (store.Chat, error) {
	c, err := s.chats.GetChat(ctx, chatID)
	if err != nil {
		return store.Chat{}, fmt.Errorf("compact: %w", err)
	}
	if err := store.CheckTransition(c, store.OpCompact, s.now()); err != nil {
		return store.Chat{}, fmt.Errorf("compact: %w", err)
	}
	switch c.Status {
	case store.ChatRunning, store.ChatInterrupting, store.ChatRequiresAction:
		// The turn compacts by itself when it needs to.
		return store.Chat{}, fmt.Errorf("compact: %w", &store.TransitionError{Op: store.OpCompact, Status: c.Status, Reason: "a turn is running"})
	}
	history, err := s.visibleHistory(ctx, chatID)
	if err != nil {
		return store.Chat{}, fmt.Errorf("compact: %w", err)
	}
	older, through, ok := planCompaction(history, compactionKeep)
	if !ok {
		return store.Chat{}, ErrNothingToCompact
	}
	if apiKeyID == "" {
		apiKeyID = activeKey(history)
	}
	mc, err := s.store.GetModel(ctx, c.ModelConfigID)
	if err != nil {
		return store.Chat{}, fmt.Errorf("compact: load the chat's model: %w", err)
	}
	modelID, _, err := s.compactionModel(ctx, c, mc)
	if err != nil {
		return store.Chat{}, fmt.Errorf("compact: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bgCtx.Err() != nil {
		return store.Chat{}, errors.New("compact: the chat service is shutting down")
	}
	s.bg.Go(func() { s.compactIdle(s.bgCtx, c, modelID, apiKeyID, older, through) })
	return c, nil
}

// compactIdle writes and commits the summary of a manual compaction. A
// turn may have started meanwhile (a message sent while the summary was
// written): the summary covers only the messages it was asked for, so
// the new message stays in the prompt. An edit that removed covered
// messages, or a compaction that got further first, makes the store
// refuse it.
func (s *Service) compactIdle(ctx context.Context, c store.Chat, modelID, apiKeyID string, older []store.Message, through int64) {
	log := s.log.With("chat_id", c.ID)
	if s.cfg.compactDone != nil {
		defer s.cfg.compactDone(c.ID)
	}
	sum, err := s.summarize(ctx, c, modelID, apiKeyID, older, &route.DebugInfo{
		Override:     c.DebugOverride,
		Kind:         store.DebugKindCompaction,
		ChatID:       c.ID,
		RootChatID:   c.RootChatID,
		ParentChatID: c.ParentChatID,
	})
	if err != nil {
		log.Warn("chat: manual compaction failed", "error", err)
		return
	}
	if _, _, err := s.chats.CommitSummary(ctx, c.ID, "", sum, through); err != nil {
		log.Info("chat: manual compaction not committed", "error", err)
		s.spentWithoutMessage(ctx, c.ID, sum)
		return
	}
	log.Info("chat: compacted", "through_seq", through, "model_config_id", sum.ModelConfigID)
	s.sync(ctx, c.ID)
}

// maybeCompact compacts the chat before a model call of the turn, the
// first of a turn included, when the prompt it would send (estimated by
// promptTokens) fills more of the context window than the threshold
// allows. It reports whether it committed a summary, after which the
// history must be read again. A summary that fails is logged and the
// turn goes on uncompacted; only a lost lease or a deleted chat is
// returned.
func (t *turn) maybeCompact(history []store.Message, res route.Result) (bool, error) {
	chatModel := res.ModelConfig
	modelID, limit, err := t.s.compactionModel(t.ctx, t.c, chatModel)
	if err != nil {
		t.log.Warn("chat: resolve compaction model", "error", err)
		return false, nil
	}
	if limit <= 0 {
		return false, nil
	}
	in := promptTokens(history, func(id string) store.ProviderType { return t.providerType(id, res) })
	budget := limit * int64(t.s.compactionThreshold(t.ctx, t.c.OwnerID, chatModel)) / 100
	if in <= budget {
		return false, nil
	}
	return t.compact(modelID, history, in, limit, budget)
}

// keptTokens estimates what a compaction through seq leaves of the prompt
// besides the summary: the requests the prompt repeats after it and the
// messages it keeps.
func keptTokens(history []store.Message, through int64) int64 {
	size := 0
	for _, m := range pendingRequests(history) {
		if m.Seq <= through {
			size += partsSize(m.Parts)
		}
	}
	for _, m := range history {
		if m.Role != store.RoleSummary && m.Seq > through {
			size += partsSize(m.Parts)
		}
	}
	return int64(size / bytesPerToken)
}

func partsSize(ps []store.Part) int {
	n := 0
	for _, p := range ps {
		n += len(p.Text) + len(p.Input) + len(p.Output)
	}
	return n
}

// providerType is the type of the provider of a model config, which says
// how its usage counts cached tokens: the routed model's, else looked
// up; the routed model's when the lookup fails.
func (t *turn) providerType(modelConfigID string, res route.Result) store.ProviderType {
	if modelConfigID == res.ModelConfig.ID || modelConfigID == "" {
		return res.Provider.Type
	}
	mc, err := t.s.store.GetModel(t.ctx, modelConfigID)
	if err != nil {
		return res.Provider.Type
	}
	p, err := t.s.store.GetProvider(t.ctx, mc.ProviderID)
	if err != nil {
		return res.Provider.Type
	}
	return p.Type
}

// compact summarises the older history and commits the boundary.
func (t *turn) compact(modelID string, history []store.Message, in, limit, budget int64) (bool, error) {
	older, through, ok := planCompaction(history, compactionKeep)
	if !ok {
		return false, nil
	}
	// A compaction that would leave the prompt over the threshold anyway
	// (a huge request it must repeat) is a paid call that gains little and
	// would be made again at every step; it waits until the prompt nears
	// the context limit, when any saving keeps the turn going. The summary
	// is reckoned at up to a quarter of the budget.
	if after := keptTokens(history, through) + min(compactionMaxOutput, budget/4); after > budget && in < limit*9/10 {
		t.log.Info("chat: compaction deferred; it would leave the prompt over the threshold", "input_tokens", in, "after_tokens", after, "threshold_tokens", budget)
		return false, nil
	}
	t.log.Info("chat: compacting", "input_tokens", in, "context_limit", limit, "through_seq", through)
	sum, err := t.s.summarize(t.tctx, t.c, modelID, activeKey(history), older, t.debugInfo(history))
	if err != nil {
		if t.stopCause() == nil {
			t.log.Warn("chat: compaction failed; going on without it", "error", err)
		}
		return false, nil
	}
	if _, _, err := t.s.chats.CommitSummary(t.ctx, t.c.ID, t.wid, sum, through); err != nil {
		t.s.spentWithoutMessage(t.ctx, t.c.ID, sum)
		if errors.Is(err, store.ErrLeaseLost) || errors.Is(err, store.ErrNotFound) {
			return false, err
		}
		t.log.Warn("chat: commit compaction", "error", err)
		return false, nil
	}
	t.s.sync(t.ctx, t.c.ID)
	return true, nil
}
