package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/client"
	"github.com/chatd/chatd/internal/settings"
	"github.com/chatd/chatd/internal/wire"
)

func (c *cli) settingsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "settings",
		Short: "Show and change your settings, or the deployment's (admins)",
		Long: `Settings: debug_recording (true, false), models.subagent, models.advisor,
models.compaction, models.title (a model id) and compaction_threshold_percent
(1 to 100). "null" clears your own value, so the deployment's applies.`,
		Example: `  chatd settings show
  chatd settings set debug_recording true
  chatd settings set models.title MODEL_ID
  chatd settings deployment set compaction_threshold_percent 75`,
	}
	show := &cobra.Command{
		Use:   "show",
		Short: "Show your settings",
		Args:  cobra.NoArgs,
		RunE: c.run(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			s, err := api.UserSettings(cmd.Context())
			if err != nil {
				return apiError("show settings", err)
			}
			return c.printUserSettings(cmd.OutOrStdout(), s)
		}),
	}
	set := &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Change one of your settings (VALUE null inherits the deployment's)",
		Args:  cobra.ExactArgs(2),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			patch, err := settingPatch(args[0], args[1])
			if err != nil {
				return err
			}
			s, err := api.UpdateUserSettings(cmd.Context(), patch)
			if err != nil {
				return apiError("change settings", err)
			}
			return c.printUserSettings(cmd.OutOrStdout(), s)
		}),
	}
	dep := &cobra.Command{Use: "deployment", Short: "Show and change the deployment's settings (admins)"}
	depShow := &cobra.Command{
		Use:   "show",
		Short: "Show the deployment's settings",
		Args:  cobra.NoArgs,
		RunE: c.run(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			s, err := api.DeploymentSettings(cmd.Context())
			if err != nil {
				return apiError("show deployment settings", err)
			}
			return c.printDeploymentSettings(cmd.OutOrStdout(), s)
		}),
	}
	depSet := &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Change one of the deployment's settings (VALUE null clears a model)",
		Args:  cobra.ExactArgs(2),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			patch, err := settingPatch(args[0], args[1])
			if err != nil {
				return err
			}
			s, err := api.UpdateDeploymentSettings(cmd.Context(), patch)
			if err != nil {
				return apiError("change deployment settings", err)
			}
			return c.printDeploymentSettings(cmd.OutOrStdout(), s)
		}),
	}
	dep.AddCommand(depShow, depSet)
	cmd.AddCommand(show, set, dep)
	return cmd
}

// settingPatch turns KEY VALUE into the PATCH body that changes it.
func settingPatch(key, value string) (map[string]any, error) {
	var v any
	if value != "null" {
		v = value
	}
	switch {
	case key == settings.DebugRecording:
		if v != nil {
			on, err := strconv.ParseBool(value)
			if err != nil {
				return nil, fmt.Errorf("%s: want true, false or null, not %q", key, value)
			}
			v = on
		}
		return map[string]any{key: v}, nil
	case key == settings.CompactionThresholdPercent:
		if v != nil {
			n, err := settings.ParsePercent(value)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			v = n
		}
		return map[string]any{key: v}, nil
	}
	if kind, ok := strings.CutPrefix(key, "models."); ok && slices.Contains(settings.ModelKinds, kind) {
		return map[string]any{"models": map[string]any{kind: v}}, nil
	}
	return nil, fmt.Errorf("unknown setting %q: use debug_recording, models.subagent, models.advisor, models.compaction, models.title or compaction_threshold_percent", key)
}

func orInherit[T any](p *T) string {
	if p == nil {
		return "(inherit)"
	}
	return fmt.Sprint(*p)
}

func (c *cli) printUserSettings(w io.Writer, s wire.UserSettings) error {
	if c.json {
		return printJSON(w, s)
	}
	pairs := [][2]string{{settings.DebugRecording, orInherit(s.DebugRecording)}}
	for _, k := range settings.ModelKinds {
		pairs = append(pairs, [2]string{"models." + k, orInherit(s.Models[k])})
	}
	pairs = append(pairs, [2]string{settings.CompactionThresholdPercent, orInherit(s.CompactionThresholdPercent)})
	return printDetails(w, pairs...)
}

func (c *cli) printDeploymentSettings(w io.Writer, s wire.DeploymentSettings) error {
	if c.json {
		return printJSON(w, s)
	}
	pairs := [][2]string{
		{settings.DebugRecording, fmtBool(s.DebugRecording)},
		{"debug_recording_forced", fmtBool(s.DebugRecordingForced)},
	}
	for _, k := range settings.ModelKinds {
		v := "-"
		if s.Models[k] != nil {
			v = *s.Models[k]
		}
		pairs = append(pairs, [2]string{"models." + k, v})
	}
	pairs = append(pairs, [2]string{settings.CompactionThresholdPercent, strconv.Itoa(s.CompactionThresholdPercent)})
	return printDetails(w, pairs...)
}
