package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/client"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/wire"
)

// credentials is the file `chatd login` writes.
type credentials struct {
	URL    string `json:"url"`
	APIKey string `json:"api_key"`
}

// credentialsPath is $CHATD_CONFIG_DIR/credentials.json, else
// chatd/credentials.json in the user's configuration directory.
func (c *cli) credentialsPath() (string, error) {
	dir := c.getenv("CHATD_CONFIG_DIR")
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("find configuration directory: %w (set CHATD_CONFIG_DIR)", err)
		}
		dir = filepath.Join(base, "chatd")
	}
	return filepath.Join(dir, "credentials.json"), nil
}

// loadCredentials reads the credentials file; ok is false if there is none.
func (c *cli) loadCredentials() (cr credentials, ok bool, err error) {
	p, err := c.credentialsPath()
	if err != nil {
		return credentials{}, false, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return credentials{}, false, nil
	}
	if err != nil {
		return credentials{}, false, fmt.Errorf("read credentials: %w", err)
	}
	if err := json.Unmarshal(b, &cr); err != nil {
		return credentials{}, false, fmt.Errorf("read credentials %s: %w", p, err)
	}
	return cr, cr.APIKey != "", nil
}

// saveCredentials writes the file readable by its owner only, replacing
// any previous one atomically so a crash never leaves half a key behind.
func (c *cli) saveCredentials(cr credentials) (string, error) {
	p, err := c.credentialsPath()
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("save credentials: %w", err)
	}
	b, err := json.MarshalIndent(cr, "", "  ")
	if err != nil {
		return "", fmt.Errorf("save credentials: %w", err)
	}
	f, err := os.CreateTemp(dir, ".credentials-*.json")
	if err != nil {
		return "", fmt.Errorf("save credentials: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	// CreateTemp makes 0600 files already; say so explicitly in case a
	// platform differs.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(append(b, '\n'))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		return "", fmt.Errorf("save credentials: %w", err)
	}
	return p, nil
}

func (c *cli) loginCmd() *cobra.Command {
	var (
		username      string
		passwordStdin bool
		keyName       string
	)
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in with a password and save a session key",
		Long: `Sign in to a chatd server with a username and password. The session key
the server issues (valid for 30 days) is saved with the server URL in
credentials.json in the chatd configuration directory (CHATD_CONFIG_DIR,
or chatd/ under your user configuration directory), readable only by you.

The password is read from a prompt that does not echo, or from stdin with
--password-stdin.`,
		Example: `  chatd login --url https://chatd.example.com --username ada
  printf %s "$PASSWORD" | chatd login --username ada --password-stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u := c.explicitURL()
			if u == "" {
				if cr, ok, err := c.loadCredentials(); err == nil && ok {
					u = normalizeURL(cr.URL)
				}
			}
			if u == "" {
				u = defaultURL
			}
			if username == "" {
				if passwordStdin {
					return errors.New("--username is required with --password-stdin")
				}
				var err error
				if username, err = promptLine(cmd, "Username"); err != nil {
					return fmt.Errorf("%w: use --username", err)
				}
				if username == "" {
					return errors.New("username is empty")
				}
			}
			pw, err := readSecret(cmd, passwordStdin, "password-stdin", "Password", false)
			if err != nil {
				return err
			}
			api, err := c.newClient(u, secret.Value{})
			if err != nil {
				return err
			}
			if keyName == "" {
				keyName = defaultSessionName()
			}
			s, err := api.Login(cmd.Context(), client.LoginRequest{Username: username, Password: pw, KeyName: keyName})
			if err != nil {
				return apiError("log in", err)
			}
			p, err := c.saveCredentials(credentials{URL: u, APIKey: s.Key.Reveal()})
			if err != nil {
				// The key is lost with this process; do not leave it live.
				if api, cerr := c.newClient(u, s.Key); cerr == nil {
					if rerr := api.RevokeKey(cmd.Context(), s.APIKey.ID); rerr != nil {
						return fmt.Errorf("%w (and the new session key %s could not be revoked: %v)", err, s.APIKey.ID, rerr)
					}
				}
				return err
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), struct {
					URL    string      `json:"url"`
					User   wire.User   `json:"user"`
					APIKey wire.APIKey `json:"api_key"`
				}{u, s.User, s.APIKey})
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Logged in to %s as %s (%s).\n", u, s.User.Username, s.User.Role)
			if s.APIKey.ExpiresAt != nil {
				fmt.Fprintf(out, "Session key %s expires %s.\n", s.APIKey.ID, fmtTime(*s.APIKey.ExpiresAt))
			}
			fmt.Fprintf(out, "Credentials saved to %s.\n", p)
			if c.getenv("CHATD_API_KEY") != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "note: CHATD_API_KEY is set and takes precedence over the saved login")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&username, "username", "", "username (prompted for if not given)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin")
	f.StringVar(&keyName, "key-name", "", "name of the session key (default \"chatd CLI on <hostname>\")")
	return cmd
}

func defaultSessionName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return "chatd CLI on " + h
	}
	return "chatd CLI"
}

func (c *cli) logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Revoke the saved session key and forget it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cr, ok, err := c.loadCredentials()
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("not logged in")
			}
			p, err := c.credentialsPath()
			if err != nil {
				return err
			}
			var revokeErr error
			api, err := c.newClient(normalizeURL(cr.URL), secret.New(cr.APIKey))
			if err == nil {
				id, _, serr := auth.SplitKey(cr.APIKey)
				if serr != nil {
					revokeErr = fmt.Errorf("saved key: %w", serr)
				} else if err := api.RevokeKey(cmd.Context(), id); err != nil {
					// A key that no longer works (expired, revoked) needs
					// no revoking.
					if ae, ok := errors.AsType[*client.APIError](err); !ok || ae.Status != http.StatusUnauthorized {
						revokeErr = apiError("revoke session key", err)
					}
				}
			} else {
				revokeErr = err
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove credentials: %w", err)
			}
			if revokeErr != nil {
				return fmt.Errorf("logged out locally, but the session key may still be valid: %w", revokeErr)
			}
			if !c.json {
				fmt.Fprintf(cmd.OutOrStdout(), "Logged out of %s.\n", cr.URL)
			}
			return nil
		},
	}
}
