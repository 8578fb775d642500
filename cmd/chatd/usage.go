package main

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/client"
	"github.com/chatd/chatd/internal/wire"
)

func (c *cli) usageCmd() *cobra.Command {
	var (
		since, until string
		f            client.UsageFilter
	)
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Show tokens and cost by day, user and model",
		Long: `Show the gateway's token counts and costs by day (UTC), user and model,
with a total. Admins see everyone's use, members their own. --since and
--until take an RFC 3339 time, a date (2025-01-02) or a duration back from
now (7d, 12h).`,
		Example: `  chatd usage --since 7d
  chatd usage --since 2025-01-01 --until 2025-02-01 --user ada --json`,
		Args: cobra.NoArgs,
		RunE: c.run(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			now := c.now()
			var err error
			if since != "" {
				if f.Since, err = parseWhen(since, now, -1); err != nil {
					return fmt.Errorf("--since %w", err)
				}
			}
			if until != "" {
				if f.Until, err = parseWhen(until, now, -1); err != nil {
					return fmt.Errorf("--until %w", err)
				}
			}
			rows, err := api.Usage(cmd.Context(), f)
			if err != nil {
				return apiError("load usage", err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"usage": nonNil(rows)})
			}
			slices.SortStableFunc(rows, func(a, b wire.UsageRow) int {
				return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(userLabel(a), userLabel(b)), cmp.Compare(a.Model, b.Model))
			})
			t := newTable(cmd.OutOrStdout(), "DAY", "USER", "MODEL", "CALLS", "INPUT", "OUTPUT",
				"CACHE READ", "CACHE WRITE", "REASONING", "COST")
			var total wire.UsageRow
			for _, r := range rows {
				t.row(r.Day, userLabel(r), r.Model, fmtCount(r.Calls), fmtCount(r.InputTokens), fmtCount(r.OutputTokens),
					fmtCount(r.CacheReadTokens), fmtCount(r.CacheWriteTokens), fmtCount(r.ReasoningTokens), fmtCost(r.CostUSD))
				total.Calls += r.Calls
				total.InputTokens += r.InputTokens
				total.OutputTokens += r.OutputTokens
				total.CacheReadTokens += r.CacheReadTokens
				total.CacheWriteTokens += r.CacheWriteTokens
				total.ReasoningTokens += r.ReasoningTokens
				total.CostUSD += r.CostUSD
			}
			t.row("TOTAL", "", "", fmtCount(total.Calls), fmtCount(total.InputTokens), fmtCount(total.OutputTokens),
				fmtCount(total.CacheReadTokens), fmtCount(total.CacheWriteTokens), fmtCount(total.ReasoningTokens), fmtCost(total.CostUSD))
			return t.flush()
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&since, "since", "", "only use from this time on")
	fl.StringVar(&until, "until", "", "only use before this time")
	fl.StringVar(&f.User, "user", "", "only this user")
	fl.StringVar(&f.Model, "model", "", "only this model")
	fl.StringVar(&f.Provider, "provider", "", "only this provider")
	return cmd
}

// userLabel names a row's user by name, or by ID for a deleted user.
func userLabel(r wire.UsageRow) string {
	return cmp.Or(r.Username, r.UserID, "-")
}
