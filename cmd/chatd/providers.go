package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/client"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/wire"
)

func (c *cli) providersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "providers",
		Short: "Manage the LLM providers the gateway routes to (admins)",
	}
	cmd.AddCommand(c.providersLsCmd(), c.providersCreateCmd(), c.providersShowCmd(),
		c.providersUpdateCmd(), c.providersRmCmd())
	return cmd
}

func (c *cli) printProvider(cmd *cobra.Command, p wire.Provider) error {
	if c.json {
		return printJSON(cmd.OutOrStdout(), p)
	}
	key := "none"
	if p.HasAPIKey {
		key = orDash(p.APIKeyHint)
	}
	return printDetails(cmd.OutOrStdout(),
		[2]string{"Name", p.Name},
		[2]string{"ID", p.ID},
		[2]string{"Type", p.Type},
		[2]string{"Base URL", p.BaseURL},
		[2]string{"Enabled", fmtBool(p.Enabled)},
		[2]string{"Central key", key},
		[2]string{"Created", fmtTime(p.CreatedAt)},
		[2]string{"Updated", fmtTime(p.UpdatedAt)},
	)
}

func (c *cli) providersLsCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List providers",
		Args:    cobra.NoArgs,
		RunE: c.run(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			ps, err := api.Providers(cmd.Context())
			if err != nil {
				return apiError("list providers", err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"providers": nonNil(ps)})
			}
			t := newTable(cmd.OutOrStdout(), "NAME", "TYPE", "BASE URL", "ENABLED", "CENTRAL KEY")
			for _, p := range ps {
				key := "none"
				if p.HasAPIKey {
					key = orDash(p.APIKeyHint)
				}
				t.row(p.Name, p.Type, p.BaseURL, fmtBool(p.Enabled), key)
			}
			return t.flush()
		}),
	}
}

func (c *cli) providersCreateCmd() *cobra.Command {
	var (
		typ, baseURL string
		keyStdin     bool
		disabled     bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a provider",
		Long: `Create a provider. The central API key, if any, is read from stdin with
--api-key-stdin, never from a flag, so it stays out of shell history.`,
		Example: `  chatd providers create openai --type openai --base-url https://api.openai.com/v1 --api-key-stdin < key.txt`,
		Args:    cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			r := client.CreateProviderRequest{Name: args[0], Type: typ, BaseURL: baseURL}
			if disabled {
				f := false
				r.Enabled = &f
			}
			if keyStdin {
				k, err := readSecret(cmd, true, "api-key-stdin", "Central API key", false)
				if err != nil {
					return err
				}
				r.APIKey = k
			}
			p, err := api.CreateProvider(cmd.Context(), r)
			if err != nil {
				return apiError("create provider", err)
			}
			return c.printProvider(cmd, p)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&typ, "type", "", "openai, anthropic or openai-compatible")
	f.StringVar(&baseURL, "base-url", "", "the provider's API base URL")
	f.BoolVar(&keyStdin, "api-key-stdin", false, "read the central API key from stdin")
	f.BoolVar(&disabled, "disabled", false, "create the provider disabled")
	_ = cmd.MarkFlagRequired("type")
	_ = cmd.MarkFlagRequired("base-url")
	return cmd
}

func (c *cli) providersShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a provider",
		Args:  cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			p, err := api.GetProvider(cmd.Context(), args[0])
			if err != nil {
				return apiError("show provider", err)
			}
			return c.printProvider(cmd, p)
		}),
	}
}

func (c *cli) providersUpdateCmd() *cobra.Command {
	var (
		name, baseURL     string
		enable, disable   bool
		keyStdin, clearKy bool
	)
	cmd := &cobra.Command{
		Use:   "update NAME",
		Short: "Change a provider",
		Example: `  chatd providers update openai --disable
  chatd providers update openai --api-key-stdin < new-key.txt`,
		Args: cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			var r client.UpdateProviderRequest
			f := cmd.Flags()
			if f.Changed("name") {
				r.Name = &name
			}
			if f.Changed("base-url") {
				r.BaseURL = &baseURL
			}
			if enable || disable {
				r.Enabled = &enable
			}
			switch {
			case keyStdin:
				k, err := readSecret(cmd, true, "api-key-stdin", "Central API key", false)
				if err != nil {
					return err
				}
				r.APIKey = &k
			case clearKy:
				r.APIKey = &secret.Value{}
			}
			if r == (client.UpdateProviderRequest{}) {
				return errors.New("nothing to update: give at least one flag")
			}
			p, err := api.UpdateProvider(cmd.Context(), args[0], r)
			if err != nil {
				return apiError("update provider", err)
			}
			return c.printProvider(cmd, p)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "rename the provider")
	f.StringVar(&baseURL, "base-url", "", "new API base URL")
	f.BoolVar(&enable, "enable", false, "enable the provider")
	f.BoolVar(&disable, "disable", false, "disable the provider")
	f.BoolVar(&keyStdin, "api-key-stdin", false, "read a new central API key from stdin")
	f.BoolVar(&clearKy, "clear-api-key", false, "remove the central API key")
	cmd.MarkFlagsMutuallyExclusive("enable", "disable")
	cmd.MarkFlagsMutuallyExclusive("api-key-stdin", "clear-api-key")
	return cmd
}

func (c *cli) providersRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "rm NAME",
		Aliases: []string{"delete"},
		Short:   "Delete a provider",
		Args:    cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			if err := api.DeleteProvider(cmd.Context(), args[0]); err != nil {
				return apiError("delete provider", err)
			}
			if !c.json {
				fmt.Fprintf(cmd.OutOrStdout(), "Deleted provider %s.\n", args[0])
			}
			return nil
		}),
	}
}
