package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/client"
)

func (c *cli) keysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage your chatd API keys",
	}
	cmd.AddCommand(c.keysLsCmd(), c.keysCreateCmd(), c.keysRevokeCmd())
	return cmd
}

func (c *cli) keysLsCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List your API keys",
		Args:    cobra.NoArgs,
		RunE: c.run(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			keys, err := api.Keys(cmd.Context())
			if err != nil {
				return apiError("list keys", err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"api_keys": nonNil(keys)})
			}
			t := newTable(cmd.OutOrStdout(), "ID", "NAME", "KIND", "CREATED", "EXPIRES", "LAST USED", "REVOKED")
			for _, k := range keys {
				t.row(k.ID, k.Name, k.Kind, fmtTime(k.CreatedAt), fmtTimePtr(k.ExpiresAt, "never"),
					fmtTimePtr(k.LastUsedAt, "never"), fmtTimePtr(k.RevokedAt, "-"))
			}
			return t.flush()
		}),
	}
}

func (c *cli) keysCreateCmd() *cobra.Command {
	var expires string
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an API key; it is shown only once",
		Long: `Create an API key for yourself. The key is printed on stdout, once: the
server keeps only a hash of it. The note about it goes to stderr, so
KEY=$(chatd keys create ci) captures the key alone.`,
		Example: `  chatd keys create laptop --expires 720h
  chatd keys create ci --expires 2026-01-01T00:00:00Z`,
		Args: cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			r := client.CreateKeyRequest{Name: args[0]}
			if expires != "" {
				t, err := parseWhen(expires, c.now(), 1)
				if err != nil {
					return fmt.Errorf("--expires %w", err)
				}
				t = t.UTC()
				r.ExpiresAt = &t
			}
			k, err := api.CreateKey(cmd.Context(), r)
			if err != nil {
				return apiError("create key", err)
			}
			if c.json {
				// NewKey marshals with the key revealed: this is the one
				// time it is shown.
				return printJSON(cmd.OutOrStdout(), k)
			}
			fmt.Fprintln(cmd.OutOrStdout(), k.Key.Reveal())
			fmt.Fprintf(cmd.ErrOrStderr(), "Created key %s (%s), expires %s.\nThis key is shown only once: store it now.\n",
				k.APIKey.Name, k.APIKey.ID, fmtTimePtr(k.APIKey.ExpiresAt, "never"))
			return nil
		}),
	}
	cmd.Flags().StringVar(&expires, "expires", "", "expiry: a duration from now (720h, 30d) or an RFC 3339 time; default never")
	return cmd
}

func (c *cli) keysRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke one of your API keys",
		Args:  cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			if err := api.RevokeKey(cmd.Context(), args[0]); err != nil {
				return apiError("revoke key", err)
			}
			if !c.json {
				fmt.Fprintf(cmd.OutOrStdout(), "Revoked key %s.\n", args[0])
			}
			return nil
		}),
	}
}
