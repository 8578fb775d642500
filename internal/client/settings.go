package client

import (
	"context"
	"net/http"
)

// UserSettings are a user's own settings; nil inherits the deployment's.
type UserSettings struct {
	DebugRecording             *bool              `json:"debug_recording"`
	Models                     map[string]*string `json:"models"`
	CompactionThresholdPercent *int               `json:"compaction_threshold_percent"`
}

// DeploymentSettings are the deployment's settings.
type DeploymentSettings struct {
	DebugRecording             bool               `json:"debug_recording"`
	DebugRecordingForced       bool               `json:"debug_recording_forced"`
	Models                     map[string]*string `json:"models"`
	CompactionThresholdPercent int                `json:"compaction_threshold_percent"`
}

// UserSettings returns the caller's settings.
func (c *Client) UserSettings(ctx context.Context) (UserSettings, error) {
	var out UserSettings
	err := c.do(ctx, http.MethodGet, "/settings/me", nil, nil, &out)
	return out, err
}

// UpdateUserSettings changes the caller's settings. patch is the JSON
// object of the fields to change; a JSON null clears one.
func (c *Client) UpdateUserSettings(ctx context.Context, patch map[string]any) (UserSettings, error) {
	var out UserSettings
	err := c.do(ctx, http.MethodPatch, "/settings/me", nil, patch, &out)
	return out, err
}

// DeploymentSettings returns the deployment's settings (admins).
func (c *Client) DeploymentSettings(ctx context.Context) (DeploymentSettings, error) {
	var out DeploymentSettings
	err := c.do(ctx, http.MethodGet, "/settings/deployment", nil, nil, &out)
	return out, err
}

// UpdateDeploymentSettings changes the deployment's settings (admins), as
// UpdateUserSettings does.
func (c *Client) UpdateDeploymentSettings(ctx context.Context, patch map[string]any) (DeploymentSettings, error) {
	var out DeploymentSettings
	err := c.do(ctx, http.MethodPatch, "/settings/deployment", nil, patch, &out)
	return out, err
}
