package main

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// backend is a store backend: both interfaces on one database.
type backend interface {
	store.Store
	store.Chats
}

// counting counts calls at the store interface: every chat transition and
// read, and the reads and writes of routing, authentication and gateway
// recording. Each call is one query or one transaction of a few
// statements. Calls it does not override (admin paths) go uncounted.
type counting struct {
	backend

	mu sync.Mutex
	n  map[string]int // guarded by mu
}

func newCounting(b backend) *counting { return &counting{backend: b, n: make(map[string]int)} }

func (c *counting) inc(op string) {
	c.mu.Lock()
	c.n[op]++
	c.mu.Unlock()
}

// take returns the counts so far and starts again from zero.
func (c *counting) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = make(map[string]int)
	return n
}

type opCount struct {
	op string
	n  int
}

func sorted(n map[string]int) (ops []opCount, total int) {
	for op, v := range n {
		ops = append(ops, opCount{op, v})
		total += v
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].n > ops[j].n })
	return ops, total
}

func (c *counting) GetChat(ctx context.Context, id string) (store.Chat, error) {
	c.inc("GetChat")
	return c.backend.GetChat(ctx, id)
}

func (c *counting) CreateChat(ctx context.Context, nc store.NewChat) (store.Chat, error) {
	c.inc("CreateChat")
	return c.backend.CreateChat(ctx, nc)
}

func (c *counting) ListMessages(ctx context.Context, chatID string, afterSeq int64, limit int) ([]store.Message, error) {
	c.inc("ListMessages")
	return c.backend.ListMessages(ctx, chatID, afterSeq, limit)
}

func (c *counting) ListQueued(ctx context.Context, chatID string) ([]store.QueuedMessage, error) {
	c.inc("ListQueued")
	return c.backend.ListQueued(ctx, chatID)
}

func (c *counting) Send(ctx context.Context, chatID string, parts []store.Part, apiKeyID, createdBy string, mode store.SendMode) (store.SendResult, error) {
	c.inc("Send")
	return c.backend.Send(ctx, chatID, parts, apiKeyID, createdBy, mode)
}

func (c *counting) AcquireChat(ctx context.Context, workerID string, lease time.Duration) (store.Chat, bool, error) {
	c.inc("AcquireChat")
	return c.backend.AcquireChat(ctx, workerID, lease)
}

func (c *counting) Heartbeat(ctx context.Context, chatID, workerID string, lease time.Duration) error {
	c.inc("Heartbeat")
	return c.backend.Heartbeat(ctx, chatID, workerID, lease)
}

func (c *counting) ReleaseChat(ctx context.Context, chatID, workerID string) error {
	c.inc("ReleaseChat")
	return c.backend.ReleaseChat(ctx, chatID, workerID)
}

func (c *counting) CommitStep(ctx context.Context, chatID, workerID string, msgs []store.Message) (store.Chat, []store.Message, error) {
	c.inc("CommitStep")
	return c.backend.CommitStep(ctx, chatID, workerID, msgs)
}

func (c *counting) SetRetry(ctx context.Context, chatID, workerID string, r *store.RetryState) (store.Chat, error) {
	c.inc("SetRetry")
	return c.backend.SetRetry(ctx, chatID, workerID, r)
}

func (c *counting) FinishTurn(ctx context.Context, chatID, workerID string) (store.Chat, error) {
	c.inc("FinishTurn")
	return c.backend.FinishTurn(ctx, chatID, workerID)
}

func (c *counting) FinishWithError(ctx context.Context, chatID, workerID, msg string) (store.Chat, error) {
	c.inc("FinishWithError")
	return c.backend.FinishWithError(ctx, chatID, workerID, msg)
}

func (c *counting) ExpiredActions(ctx context.Context, limit int) ([]string, error) {
	c.inc("ExpiredActions")
	return c.backend.ExpiredActions(ctx, limit)
}

func (c *counting) GetUser(ctx context.Context, id string) (store.User, error) {
	c.inc("GetUser")
	return c.backend.GetUser(ctx, id)
}

func (c *counting) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	c.inc("GetAPIKey")
	return c.backend.GetAPIKey(ctx, id)
}

func (c *counting) TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	c.inc("TouchAPIKeys")
	return c.backend.TouchAPIKeys(ctx, lastUsed)
}

func (c *counting) GetProvider(ctx context.Context, id string) (store.Provider, error) {
	c.inc("GetProvider")
	return c.backend.GetProvider(ctx, id)
}

func (c *counting) GetProviderByName(ctx context.Context, name string) (store.Provider, error) {
	c.inc("GetProviderByName")
	return c.backend.GetProviderByName(ctx, name)
}

func (c *counting) GetModel(ctx context.Context, id string) (store.ModelConfig, error) {
	c.inc("GetModel")
	return c.backend.GetModel(ctx, id)
}

func (c *counting) GetProviderKey(ctx context.Context, userID, providerID string) (store.UserProviderKey, error) {
	c.inc("GetProviderKey")
	return c.backend.GetProviderKey(ctx, userID, providerID)
}

func (c *counting) CreateInterception(ctx context.Context, in store.Interception) (store.Interception, error) {
	c.inc("CreateInterception")
	return c.backend.CreateInterception(ctx, in)
}

func (c *counting) GetSetting(ctx context.Context, key string) (string, error) {
	c.inc("GetSetting")
	return c.backend.GetSetting(ctx, key)
}
