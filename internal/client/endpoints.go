package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/wire"
)

// Login exchanges a username and password for a session key. It needs no
// API key.
func (c *Client) Login(ctx context.Context, r LoginRequest) (wire.Session, error) {
	var s wire.Session
	err := c.do(ctx, http.MethodPost, "/auth/login", nil, r, &s)
	return s, err
}

// Me returns the user the key belongs to.
func (c *Client) Me(ctx context.Context) (wire.User, error) {
	var u wire.User
	err := c.do(ctx, http.MethodGet, "/me", nil, nil, &u)
	return u, err
}

// Users lists every user (admin).
func (c *Client) Users(ctx context.Context) ([]wire.User, error) {
	var out struct {
		Users []wire.User `json:"users"`
	}
	err := c.do(ctx, http.MethodGet, "/users", nil, nil, &out)
	return out.Users, err
}

// CreateUser creates a user (admin).
func (c *Client) CreateUser(ctx context.Context, r CreateUserRequest) (wire.User, error) {
	var u wire.User
	err := c.do(ctx, http.MethodPost, "/users", nil, r, &u)
	return u, err
}

// GetUser returns one user (admin).
func (c *Client) GetUser(ctx context.Context, id string) (wire.User, error) {
	var u wire.User
	err := c.do(ctx, http.MethodGet, "/users/"+url.PathEscape(id), nil, nil, &u)
	return u, err
}

// UpdateUser changes a user's role, suspension or password (admin).
func (c *Client) UpdateUser(ctx context.Context, id string, r UpdateUserRequest) (wire.User, error) {
	var u wire.User
	err := c.do(ctx, http.MethodPatch, "/users/"+url.PathEscape(id), nil, r, &u)
	return u, err
}

// Keys lists the caller's API keys.
func (c *Client) Keys(ctx context.Context) ([]wire.APIKey, error) {
	var out struct {
		APIKeys []wire.APIKey `json:"api_keys"`
	}
	err := c.do(ctx, http.MethodGet, "/keys", nil, nil, &out)
	return out.APIKeys, err
}

// CreateKey issues an API key for the caller. The key is in the answer
// and nowhere else, ever.
func (c *Client) CreateKey(ctx context.Context, r CreateKeyRequest) (wire.NewKey, error) {
	var k wire.NewKey
	err := c.do(ctx, http.MethodPost, "/keys", nil, r, &k)
	return k, err
}

// RevokeKey revokes one of the caller's API keys.
func (c *Client) RevokeKey(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/keys/"+url.PathEscape(id), nil, nil, nil)
}

// Providers lists every provider (admin).
func (c *Client) Providers(ctx context.Context) ([]wire.Provider, error) {
	var out struct {
		Providers []wire.Provider `json:"providers"`
	}
	err := c.do(ctx, http.MethodGet, "/providers", nil, nil, &out)
	return out.Providers, err
}

// CreateProvider creates a provider (admin).
func (c *Client) CreateProvider(ctx context.Context, r CreateProviderRequest) (wire.Provider, error) {
	var p wire.Provider
	err := c.do(ctx, http.MethodPost, "/providers", nil, r, &p)
	return p, err
}

// GetProvider returns a provider by name (admin).
func (c *Client) GetProvider(ctx context.Context, name string) (wire.Provider, error) {
	var p wire.Provider
	err := c.do(ctx, http.MethodGet, "/providers/"+url.PathEscape(name), nil, nil, &p)
	return p, err
}

// UpdateProvider changes a provider (admin).
func (c *Client) UpdateProvider(ctx context.Context, name string, r UpdateProviderRequest) (wire.Provider, error) {
	var p wire.Provider
	err := c.do(ctx, http.MethodPatch, "/providers/"+url.PathEscape(name), nil, r, &p)
	return p, err
}

// DeleteProvider deletes a provider (admin).
func (c *Client) DeleteProvider(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/providers/"+url.PathEscape(name), nil, nil, nil)
}

// ModelsOptions tunes Models.
type ModelsOptions struct {
	// All also lists disabled models (admins only; ignored for members).
	All bool
}

// Models lists the models offered to the caller.
func (c *Client) Models(ctx context.Context, o ModelsOptions) ([]wire.Model, error) {
	var q url.Values
	if o.All {
		q = url.Values{"all": {"true"}}
	}
	var out struct {
		Models []wire.Model `json:"models"`
	}
	err := c.do(ctx, http.MethodGet, "/models", q, nil, &out)
	return out.Models, err
}

// GetModel returns one model.
func (c *Client) GetModel(ctx context.Context, id string) (wire.Model, error) {
	var m wire.Model
	err := c.do(ctx, http.MethodGet, "/models/"+url.PathEscape(id), nil, nil, &m)
	return m, err
}

// CreateModel offers a model to users (admin).
func (c *Client) CreateModel(ctx context.Context, r CreateModelRequest) (wire.Model, error) {
	var m wire.Model
	err := c.do(ctx, http.MethodPost, "/models", nil, r, &m)
	return m, err
}

// UpdateModel changes a model (admin).
func (c *Client) UpdateModel(ctx context.Context, id string, r UpdateModelRequest) (wire.Model, error) {
	var m wire.Model
	err := c.do(ctx, http.MethodPatch, "/models/"+url.PathEscape(id), nil, r, &m)
	return m, err
}

// DeleteModel deletes a model (admin).
func (c *Client) DeleteModel(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/models/"+url.PathEscape(id), nil, nil, nil)
}

// ProviderKeys lists the caller's own provider keys (BYOK).
func (c *Client) ProviderKeys(ctx context.Context) ([]wire.ProviderKey, error) {
	var out struct {
		ProviderKeys []wire.ProviderKey `json:"provider_keys"`
	}
	err := c.do(ctx, http.MethodGet, "/provider-keys", nil, nil, &out)
	return out.ProviderKeys, err
}

// PutProviderKey sets the caller's own key for a provider.
func (c *Client) PutProviderKey(ctx context.Context, provider string, key secret.Value) (wire.ProviderKey, error) {
	in := struct {
		APIKey string `json:"api_key"`
	}{key.Reveal()}
	var pk wire.ProviderKey
	err := c.do(ctx, http.MethodPut, "/provider-keys/"+url.PathEscape(provider), nil, in, &pk)
	return pk, err
}

// DeleteProviderKey removes the caller's own key for a provider.
func (c *Client) DeleteProviderKey(ctx context.Context, provider string) error {
	return c.do(ctx, http.MethodDelete, "/provider-keys/"+url.PathEscape(provider), nil, nil, nil)
}

// Interceptions lists gateway records: all for admins, their own for
// members.
func (c *Client) Interceptions(ctx context.Context, f InterceptionFilter) ([]wire.Interception, error) {
	q := url.Values{}
	setString(q, "user", f.User)
	setString(q, "provider", f.Provider)
	setString(q, "model", f.Model)
	setString(q, "chat", f.Chat)
	setTime(q, "since", f.Since)
	setTime(q, "until", f.Until)
	setTime(q, "before", f.Before)
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out struct {
		Interceptions []wire.Interception `json:"interceptions"`
	}
	err := c.do(ctx, http.MethodGet, "/gateway/interceptions", q, nil, &out)
	return out.Interceptions, err
}

// Interception returns one gateway record.
func (c *Client) Interception(ctx context.Context, id string) (wire.Interception, error) {
	var i wire.Interception
	err := c.do(ctx, http.MethodGet, "/gateway/interceptions/"+url.PathEscape(id), nil, nil, &i)
	return i, err
}

// Usage sums tokens and cost by day, user and model: everyone's for
// admins, their own for members.
func (c *Client) Usage(ctx context.Context, f UsageFilter) ([]wire.UsageRow, error) {
	q := url.Values{}
	setString(q, "user", f.User)
	setString(q, "provider", f.Provider)
	setString(q, "model", f.Model)
	setTime(q, "since", f.Since)
	setTime(q, "until", f.Until)
	var out struct {
		Usage []wire.UsageRow `json:"usage"`
	}
	err := c.do(ctx, http.MethodGet, "/gateway/usage", q, nil, &out)
	return out.Usage, err
}

func setString(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func setTime(q url.Values, k string, t time.Time) {
	if !t.IsZero() {
		q.Set(k, t.UTC().Format(time.RFC3339))
	}
}
