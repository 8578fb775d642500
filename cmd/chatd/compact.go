package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/client"
)

func (c *cli) chatCompactCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "compact ID",
		Short: "Summarise a chat's older history to free context",
		Long: `Compact an idle chat now: its older history is replaced, in what the model
sees, by a summary; the recent messages stay as they are. The summary is
written in the background and shows in the chat's history (chatd chat
watch ID). A chat with too little history answers "nothing to compact".`,
		Args: cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			ch, err := api.CompactChat(cmd.Context(), args[0])
			if err != nil {
				return apiError("compact chat", err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), ch)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Compacting chat %s; the summary appears in its history when written.\n", ch.Chat.ID)
			return nil
		}),
	}
}
