package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/client"
	"github.com/chatd/chatd/internal/wire"
)

func (c *cli) usersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Manage users (admins)",
		Long:  "Manage users (admins). USER is a user ID or a username.",
	}
	cmd.AddCommand(
		c.usersLsCmd(),
		c.usersCreateCmd(),
		c.usersSuspendCmd("suspend", true),
		c.usersSuspendCmd("unsuspend", false),
		c.usersSetRoleCmd(),
		c.usersResetPasswordCmd(),
	)
	return cmd
}

func (c *cli) printUsers(cmd *cobra.Command, users ...wire.User) error {
	t := newTable(cmd.OutOrStdout(), "ID", "USERNAME", "ROLE", "SUSPENDED", "PASSWORD", "CREATED")
	for _, u := range users {
		t.row(u.ID, u.Username, u.Role, fmtBool(u.Suspended), fmtBool(u.HasPassword), fmtTime(u.CreatedAt))
	}
	return t.flush()
}

// printUser prints one user as the API sent it (--json) or as a table.
func (c *cli) printUser(cmd *cobra.Command, u wire.User) error {
	if c.json {
		return printJSON(cmd.OutOrStdout(), u)
	}
	return c.printUsers(cmd, u)
}

func (c *cli) usersLsCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List users",
		Args:    cobra.NoArgs,
		RunE: c.run(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			users, err := api.Users(cmd.Context())
			if err != nil {
				return apiError("list users", err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"users": nonNil(users)})
			}
			return c.printUsers(cmd, users...)
		}),
	}
}

func (c *cli) usersCreateCmd() *cobra.Command {
	var (
		role          string
		passwordStdin bool
	)
	cmd := &cobra.Command{
		Use:   "create USERNAME",
		Short: "Create a user",
		Long: `Create a user. Without --password-stdin the user has no password and
signs in with API keys only (set one later with reset-password).`,
		Args: cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			r := client.CreateUserRequest{Username: args[0], Role: role}
			if passwordStdin {
				pw, err := readSecret(cmd, true, "password-stdin", "Password", false)
				if err != nil {
					return err
				}
				r.Password = pw
			}
			u, err := api.CreateUser(cmd.Context(), r)
			if err != nil {
				return apiError("create user", err)
			}
			return c.printUser(cmd, u)
		}),
	}
	cmd.Flags().StringVar(&role, "role", "", "admin or member (default member)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the user's password from stdin")
	return cmd
}

func (c *cli) usersSuspendCmd(name string, suspend bool) *cobra.Command {
	short := "Suspend a user: their keys stop working until unsuspended"
	if !suspend {
		short = "Lift a user's suspension"
	}
	return &cobra.Command{
		Use:   name + " USER",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			id, err := userID(cmd.Context(), api, args[0])
			if err != nil {
				return apiError(name+" user", err)
			}
			u, err := api.UpdateUser(cmd.Context(), id, client.UpdateUserRequest{Suspended: &suspend})
			if err != nil {
				return apiError(name+" user", err)
			}
			return c.printUser(cmd, u)
		}),
	}
}

func (c *cli) usersSetRoleCmd() *cobra.Command {
	return &cobra.Command{
		Use:       "set-role USER ROLE",
		Short:     "Make a user an admin or a member",
		Args:      cobra.ExactArgs(2),
		ValidArgs: []string{"admin", "member"},
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			role := args[1]
			if role != "admin" && role != "member" {
				return fmt.Errorf("role %q: want admin or member", role)
			}
			id, err := userID(cmd.Context(), api, args[0])
			if err != nil {
				return apiError("set role", err)
			}
			u, err := api.UpdateUser(cmd.Context(), id, client.UpdateUserRequest{Role: &role})
			if err != nil {
				return apiError("set role", err)
			}
			return c.printUser(cmd, u)
		}),
	}
}

func (c *cli) usersResetPasswordCmd() *cobra.Command {
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "reset-password USER",
		Short: "Set a user's password",
		Long:  "Set a user's password, read from a prompt that does not echo or from stdin with --password-stdin.",
		Args:  cobra.ExactArgs(1),
		RunE: c.run(func(cmd *cobra.Command, args []string, api *client.Client) error {
			pw, err := readSecret(cmd, passwordStdin, "password-stdin", "New password", true)
			if err != nil {
				return err
			}
			id, err := userID(cmd.Context(), api, args[0])
			if err != nil {
				return apiError("reset password", err)
			}
			u, err := api.UpdateUser(cmd.Context(), id, client.UpdateUserRequest{Password: &pw})
			if err != nil {
				return apiError("reset password", err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), u)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Password of %s changed.\n", u.Username)
			return nil
		}),
	}
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin")
	return cmd
}

// nonNil makes an empty list print as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// userID accepts a user ID or a username: the API addresses users by ID,
// people think of them by name.
func userID(ctx context.Context, api *client.Client, arg string) (string, error) {
	u, err := api.GetUser(ctx, arg)
	if err == nil {
		return u.ID, nil
	}
	if client.ErrorCode(err) != "not_found" {
		return "", err
	}
	users, lerr := api.Users(ctx)
	if lerr != nil {
		return "", lerr
	}
	for _, u := range users {
		if u.Username == arg {
			return u.ID, nil
		}
	}
	return "", err
}
