package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/client"
	"github.com/chatd/chatd/internal/wire"
)

func (c *cli) providerKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "provider-keys",
		Short: "Manage your own provider keys (bring your own key)",
	}
	cmd.AddCommand(c.providerKeysLsCmd(), c.providerKeysSetCmd(), c.providerKeysRmCmd())
	return cmd
}

func (c *cli) printProviderKeys(cmd *cobra.Command, pks ...wire.ProviderKey) error {
	t := newTable(cmd.OutOrStdout(), "PROVIDER", "KEY", "CREATED", "UPDATED")
	for _, pk := range pks {
		t.row(pk.Provider, orDash(pk.KeyHint), fmtTime(pk.CreatedAt), fmtTime(pk.UpdatedAt))
	}
	return t.flush()
}

func (c *cli) providerKeysLsCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List your provider keys (hints only)",
		Args:    cobra.NoArgs,
		RunE: c.run(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			pks, err := api.ProviderKeys(cmd.Context())
			if err != nil {
				return apiError("list provider keys", err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"provider_keys": nonNil(pks)})
			}
			return c.printProviderKeys(cmd, pks...)
		}),
	}
}

func (c *cli) providerKeysSetCmd() *cobra.Command {
	var keyStdin bool
	cmd := &cobra.Command{
		Use:   "set PROVIDER",
		Short: "Set your own key for a provider",
		Long: `Set your own API key for a provider; the gateway then uses it for your
calls instead of the organisation's key. The key is read from a prompt that
does not echo, or from stdin with --key-stdin, never from a flag.`,
		Example: `  chatd provider-keys set anthropic
  chatd provider-keys set openai --key-stdin < ~/.openai-key`,
		Args: cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			k, err := readSecret(cmd, keyStdin, "key-stdin", "API key for "+args[0], false)
			if err != nil {
				return err
			}
			pk, err := api.PutProviderKey(cmd.Context(), args[0], k)
			if err != nil {
				return apiError("set provider key", err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), pk)
			}
			return c.printProviderKeys(cmd, pk)
		}),
	}
	cmd.Flags().BoolVar(&keyStdin, "key-stdin", false, "read the key from stdin")
	return cmd
}

func (c *cli) providerKeysRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "rm PROVIDER",
		Aliases: []string{"delete"},
		Short:   "Remove your own key for a provider",
		Args:    cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			if err := api.DeleteProviderKey(cmd.Context(), args[0]); err != nil {
				return apiError("remove provider key", err)
			}
			if !c.json {
				fmt.Fprintf(cmd.OutOrStdout(), "Removed your key for %s.\n", args[0])
			}
			return nil
		}),
	}
}
