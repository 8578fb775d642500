package client

import (
	"context"
	"net/http"

	"github.com/chatd/chatd/internal/wire"
)

// UserSettings returns the caller's settings.
func (c *Client) UserSettings(ctx context.Context) (wire.UserSettings, error) {
	var out wire.UserSettings
	err := c.do(ctx, http.MethodGet, "/settings/me", nil, nil, &out)
	return out, err
}

// UpdateUserSettings changes the caller's settings. patch is the JSON
// object of the fields to change; a JSON null clears one.
func (c *Client) UpdateUserSettings(ctx context.Context, patch map[string]any) (wire.UserSettings, error) {
	var out wire.UserSettings
	err := c.do(ctx, http.MethodPatch, "/settings/me", nil, patch, &out)
	return out, err
}

// DeploymentSettings returns the deployment's settings (admins).
func (c *Client) DeploymentSettings(ctx context.Context) (wire.DeploymentSettings, error) {
	var out wire.DeploymentSettings
	err := c.do(ctx, http.MethodGet, "/settings/deployment", nil, nil, &out)
	return out, err
}

// UpdateDeploymentSettings changes the deployment's settings (admins), as
// UpdateUserSettings does.
func (c *Client) UpdateDeploymentSettings(ctx context.Context, patch map[string]any) (wire.DeploymentSettings, error) {
	var out wire.DeploymentSettings
	err := c.do(ctx, http.MethodPatch, "/settings/deployment", nil, patch, &out)
	return out, err
}
