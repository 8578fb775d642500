package chat

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"time"
	"unicode"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/route"
	"github.com/chatd/chatd/internal/settings"
	"github.com/chatd/chatd/internal/store"
)

const titleInstructions = "You name conversations. Reply with a short title (at most eight words) " +
	"for the conversation that starts with the user's message. Reply with the title only: no quotes, no punctuation at the end."

// maybeTitle starts a background title generation for a root chat that
// has none, after its first user message.
func (s *Service) maybeTitle(c store.Chat, first []store.Part, apiKeyID string) {
	if c.ParentChatID != "" || c.Title != "" {
		return
	}
	text := textOf(first)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.titling[c.ID] || s.bgCtx.Err() != nil {
		return
	}
	s.titling[c.ID] = true
	s.bg.Go(func() {
		defer func() {
			s.mu.Lock()
			delete(s.titling, c.ID)
			s.mu.Unlock()
		}()
		s.generateTitle(s.bgCtx, c, text, apiKeyID)
	})
}

func (s *Service) generateTitle(ctx context.Context, c store.Chat, text, apiKeyID string) {
	log := s.log.With("chat_id", c.ID)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// A cheap title model (the user's or deployment's override, else the
	// configured one) first, then the chat's own model, then the first
	// words of the message.
	titleModel, err := s.modelOverride(ctx, c.OwnerID, settings.ModelTitle)
	if err != nil {
		log.Warn("chat: read title model override", "error", err)
	}
	titleModel = cmp.Or(titleModel, s.cfg.TitleModelID, c.ModelConfigID)
	title, err := s.askTitle(ctx, c, titleModel, text, apiKeyID)
	if err != nil && titleModel != c.ModelConfigID && ctx.Err() == nil {
		log.Info("chat: title model failed; trying the chat's model", "model_config_id", titleModel, "error", err)
		title, err = s.askTitle(ctx, c, c.ModelConfigID, text, apiKeyID)
	}
	if err != nil {
		log.Info("chat: title generation failed; using the first words", "error", err)
		title = fallbackTitle(text)
	}
	if title == "" {
		return
	}
	// The owner may have named the chat meanwhile.
	cur, err := s.chats.GetChat(ctx, c.ID)
	if err != nil || cur.Title != "" {
		return
	}
	if _, err := s.chats.SetTitle(ctx, c.ID, title); err != nil {
		if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
			log.Warn("chat: set generated title", "error", err)
		}
		return
	}
	s.sync(ctx, c.ID)
}

func (s *Service) askTitle(ctx context.Context, c store.Chat, modelID, text, apiKeyID string) (string, error) {
	res, err := s.router.Model(ctx, route.Request{
		UserID:        c.OwnerID,
		ModelConfigID: modelID,
		APIKeyID:      apiKeyID,
		Purpose:       route.PurposeTitle,
		Debug: &route.DebugInfo{
			Override:     c.DebugOverride,
			Kind:         store.DebugKindTitle,
			ChatID:       c.ID,
			RootChatID:   c.RootChatID,
			ParentChatID: c.ParentChatID,
		},
	}, route.Options{MaxOutputTokens: 64})
	if err != nil {
		return "", err
	}
	title, err := titleFrom(ctx, res.Model, text)
	if err != nil {
		res.Run.Finish(context.WithoutCancel(ctx), store.DebugError, err.Error())
		return "", err
	}
	res.Run.Finish(context.WithoutCancel(ctx), store.DebugCompleted, title)
	return title, nil
}

// titleFrom asks model for a title of the conversation text starts.
func titleFrom(ctx context.Context, model fantasy.LanguageModel, text string) (string, error) {
	const maxIn = 2000
	if len(text) > maxIn {
		text = text[:maxIn]
	}
	maxOut := int64(64)
	resp, err := model.Generate(ctx, fantasy.Call{
		Prompt:          fantasy.Prompt{fantasy.NewSystemMessage(titleInstructions), fantasy.NewUserMessage(text)},
		MaxOutputTokens: &maxOut,
	})
	if err != nil {
		return "", err
	}
	title := cleanTitle(resp.Content.Text())
	if title == "" {
		return "", errors.New("the model returned an empty title")
	}
	return title, nil
}

// cleanTitle keeps the first line of a model's answer, without quotes or
// trailing punctuation, at most maxTitleLen characters.
func cleanTitle(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	// A model's answer may hold control characters; a title is shown in
	// lists and terminals.
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimPrefix(s, "Title:")
	s = strings.Trim(strings.TrimSpace(s), "\"'`*#")
	s = strings.TrimRightFunc(s, func(r rune) bool { return r == '.' || unicode.IsSpace(r) })
	return clipWords(s, maxTitleLen)
}

// fallbackTitle is the first words of the message.
func fallbackTitle(text string) string {
	return clipWords(strings.Join(strings.Fields(text), " "), maxTitleLen)
}

// clipWords cuts s to at most n characters, at a word boundary when there
// is one.
func clipWords(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimSpace(cut)
}
