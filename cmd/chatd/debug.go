package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/client"
	"github.com/chatd/chatd/internal/wire"
)

func (c *cli) debugCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "debug",
		Short: "Read a chat's debug recordings and switch recording on or off",
		Long: `Debug recording keeps, for chats where it is on, every model call of a turn:
the request and answer, token usage and each HTTP attempt, with secrets
redacted. A chat's owner and admins may read them.`,
		Example: `  chatd debug on CHAT_ID
  chatd debug runs CHAT_ID
  chatd debug show CHAT_ID RUN_ID`,
	}
	var limit int
	runs := &cobra.Command{
		Use:   "runs CHAT",
		Short: "List a chat's debug runs, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			rs, err := api.DebugRuns(cmd.Context(), args[0], limit)
			if err != nil {
				return apiError("list debug runs", err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), rs)
			}
			t := newTable(cmd.OutOrStdout(), "ID", "KIND", "STATUS", "MODEL", "STARTED", "SUMMARY")
			for _, r := range rs {
				t.row(r.ID, r.Kind, r.Status, orDash(r.Model), fmtTime(r.StartedAt), orDash(clip(r.Summary, 60)))
			}
			return t.flush()
		}),
	}
	runs.Flags().IntVar(&limit, "limit", 0, "at most this many runs (1-200; default 50)")
	show := &cobra.Command{
		Use:   "show CHAT RUN",
		Short: "Show a debug run: its steps, HTTP attempts and bodies",
		Args:  cobra.ExactArgs(2),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			d, err := api.DebugRun(cmd.Context(), args[0], args[1])
			if err != nil {
				return apiError("show debug run", err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), d)
			}
			return printDebugRun(cmd.OutOrStdout(), d)
		}),
	}
	cmd.AddCommand(runs, show,
		c.debugToggleCmd("on", "Record this chat's model calls", ptr(true)),
		c.debugToggleCmd("off", "Do not record this chat's model calls", ptr(false)),
		c.debugToggleCmd("inherit", "Record this chat as your and the deployment's settings say", nil),
	)
	return cmd
}

func ptr[T any](v T) *T { return &v }

func (c *cli) debugToggleCmd(use, short string, on *bool) *cobra.Command {
	return &cobra.Command{
		Use:   use + " CHAT",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			ch, err := api.SetChatDebug(cmd.Context(), args[0], on)
			if err != nil {
				return apiError("set debug recording", err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), ch)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "debug recording of chat %s: %s\n", ch.Chat.ID, use)
			return nil
		}),
	}
}

// printDebugRun writes a run readably: the run, then each step with its
// request, response and attempts, JSON bodies indented.
func printDebugRun(w io.Writer, d wire.DebugRunDetail) error {
	r := d.Run
	if err := printDetails(w,
		[2]string{"run", r.ID},
		[2]string{"kind", r.Kind},
		[2]string{"status", r.Status},
		[2]string{"chat", r.ChatID},
		[2]string{"message", orDash(r.MessageID)},
		[2]string{"model", orDash(strings.Trim(r.Provider+"/"+r.Model, "/"))},
		[2]string{"started", fmtTime(r.StartedAt)},
		[2]string{"finished", fmtTimePtr(r.FinishedAt, "-")},
		[2]string{"summary", orDash(r.Summary)},
	); err != nil {
		return err
	}
	for _, s := range d.Steps {
		fmt.Fprintf(w, "\n== step %d (%s) %s", s.Number, s.Operation, s.Status)
		if s.FinishedAt != nil {
			fmt.Fprintf(w, " in %s", s.FinishedAt.Sub(s.StartedAt).Round(1e6))
		}
		fmt.Fprintln(w)
		if s.Error != "" {
			fmt.Fprintf(w, "error: %s\n", s.Error)
		}
		fmt.Fprintln(w, "-- request")
		fmt.Fprintln(w, pretty(string(s.Request)))
		fmt.Fprintln(w, "-- response")
		fmt.Fprintln(w, pretty(string(s.Response)))
		for _, a := range s.Attempts {
			fmt.Fprintf(w, "-- attempt %d: %s %s -> %d (ttfb %.0f ms, total %.0f ms)\n", a.Number, a.Method, a.URL, a.Status, a.TTFBMS, a.DurationMS)
			if a.Error != "" {
				fmt.Fprintf(w, "error: %s\n", a.Error)
			}
			writeHeaders(w, "> ", a.RequestHeaders)
			fmt.Fprintln(w, pretty(a.RequestBody))
			writeHeaders(w, "< ", a.ResponseHeaders)
			fmt.Fprintln(w, pretty(a.ResponseBody))
		}
	}
	return nil
}

func writeHeaders(w io.Writer, prefix string, h map[string][]string) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s%s: %s\n", prefix, k, strings.Join(h[k], ", "))
	}
}

// pretty indents s when it is JSON, and returns it as is otherwise (a
// streamed body or a redaction note).
func pretty(s string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(s), "", "  "); err != nil {
		return s
	}
	return b.String()
}
