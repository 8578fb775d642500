// Package store defines chatd's domain types, the Store interface every
// storage backend implements, and the sentinel errors callers branch on.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap driver errors into these so that callers
// (and the HTTP layer) can branch on them with errors.Is.
var (
	// ErrNotFound means the row asked for does not exist (or is not
	// visible to the caller, which the API layer treats the same way).
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule or a state rule refused the write.
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the store refused input that can never be valid
	// (tool results that answer no pending call, an edit of a non-user
	// message); the API answers 400.
	ErrInvalid = errors.New("invalid input")
)

// Store is everything chatd keeps. Each backend (sqlite, postgres) implements
// it and passes the storetest conformance suite.
//
// Implementations are safe for concurrent use.
type Store interface {
	Users
	APIKeys
	Providers
	Models
	ProviderKeys
	Interceptions
	Settings
	DebugRuns
	UserSettings
	Chats

	// Ping reports whether the database answers; /readyz uses it.
	Ping(ctx context.Context) error
	// SchemaVersion is the highest applied migration.
	SchemaVersion(ctx context.Context) (int64, error)
	// Now is the database's own clock, for cutoffs that must not depend on
	// a replica's clock.
	Now(ctx context.Context) (time.Time, error)
	// Close releases the database handle.
	Close() error
}

// Users stores people and their credentials.
type Users interface {
	// CreateUser inserts u. ID, CreatedAt and UpdatedAt are set by the store
	// when zero. A taken username is ErrConflict.
	CreateUser(ctx context.Context, u User) (User, error)
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByUsername(ctx context.Context, username string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// UpdateUser applies the non-nil fields of p.
	UpdateUser(ctx context.Context, id string, p UserPatch) (User, error)
	// CountUsers is used at start to decide whether to create the first admin.
	CountUsers(ctx context.Context) (int64, error)
}

// APIKeys stores chatd API keys. Only a hash of each secret is kept.
type APIKeys interface {
	// CreateAPIKey inserts k; k.ID must be set by the caller because it is
	// part of the key the caller hands out.
	CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error)
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	// ListAPIKeys lists a user's keys, newest first, revoked ones included.
	ListAPIKeys(ctx context.Context, userID string) ([]APIKey, error)
	// RevokeAPIKey sets RevokedAt (idempotent: revoking twice keeps the
	// first time).
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	// TouchAPIKeys records last-used times in one batch; unknown IDs are
	// ignored and a time never moves backwards.
	TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error
}

// Providers stores AI provider rows.
type Providers interface {
	// CreateProvider inserts p. A taken name is ErrConflict.
	CreateProvider(ctx context.Context, p Provider) (Provider, error)
	GetProvider(ctx context.Context, id string) (Provider, error)
	GetProviderByName(ctx context.Context, name string) (Provider, error)
	ListProviders(ctx context.Context) ([]Provider, error)
	UpdateProvider(ctx context.Context, id string, p ProviderPatch) (Provider, error)
	// DeleteProvider removes the provider with its models and user keys.
	DeleteProvider(ctx context.Context, id string) error
}

// Models stores model configurations.
type Models interface {
	// CreateModel inserts m. The same (provider, model) twice is ErrConflict;
	// an unknown provider is ErrNotFound. If m.IsDefault, any other default
	// is cleared in the same transaction.
	CreateModel(ctx context.Context, m ModelConfig) (ModelConfig, error)
	GetModel(ctx context.Context, id string) (ModelConfig, error)
	// GetModelByName finds the config of model on a provider.
	GetModelByName(ctx context.Context, providerID, model string) (ModelConfig, error)
	ListModels(ctx context.Context) ([]ModelConfig, error)
	UpdateModel(ctx context.Context, id string, p ModelPatch) (ModelConfig, error)
	DeleteModel(ctx context.Context, id string) error
}

// ProviderKeys stores users' own provider keys (BYOK), one per user and
// provider, encrypted.
type ProviderKeys interface {
	// PutProviderKey inserts or replaces the user's key for a provider. An
	// unknown user or provider is ErrNotFound.
	PutProviderKey(ctx context.Context, k UserProviderKey) (UserProviderKey, error)
	GetProviderKey(ctx context.Context, userID, providerID string) (UserProviderKey, error)
	ListProviderKeys(ctx context.Context, userID string) ([]UserProviderKey, error)
	DeleteProviderKey(ctx context.Context, userID, providerID string) error
}

// Interceptions stores the gateway's record of every model call.
type Interceptions interface {
	// CreateInterception inserts a finished record. ID is set when empty.
	CreateInterception(ctx context.Context, in Interception) (Interception, error)
	// CreateInterceptions inserts finished records in one transaction: all
	// or none. IDs are set when empty. It is how a busy gateway keeps up.
	CreateInterceptions(ctx context.Context, ins []Interception) error
	GetInterception(ctx context.Context, id string) (Interception, error)
	// ListInterceptions returns records matching f, newest first.
	ListInterceptions(ctx context.Context, f InterceptionFilter) ([]Interception, error)
	// UsageByDay sums tokens and cost per day, user and model.
	UsageByDay(ctx context.Context, f InterceptionFilter) ([]UsageRow, error)
	// PurgeInterceptions deletes records started before cutoff and returns
	// how many went.
	PurgeInterceptions(ctx context.Context, before time.Time) (int64, error)
}

// Settings is a small key/value table for deployment settings.
type Settings interface {
	// GetSetting returns ErrNotFound when the key was never set.
	GetSetting(ctx context.Context, key string) (string, error)
	PutSetting(ctx context.Context, key, value string) error
}
