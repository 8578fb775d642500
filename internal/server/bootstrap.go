package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/chatd/chatd/internal/auth"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
)

// firstAdmin is what a first start hands out, once.
type firstAdmin struct {
	username string
	password secret.Value
	key      secret.Value
}

// ensureFirstAdmin creates an admin with a password and an API key when the
// database has no users. It returns nil on every later start, so a key is
// never printed twice.
func ensureFirstAdmin(ctx context.Context, st store.Store, username, keyFile string) (*firstAdmin, error) {
	n, err := st.CountUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return nil, nil
	}
	pw, hash, err := newPassword()
	if err != nil {
		return nil, err
	}
	u, err := st.CreateUser(ctx, store.User{Username: username, Role: store.RoleAdmin, PasswordHash: hash})
	if errors.Is(err, store.ErrConflict) {
		// Another replica won the race to bootstrap.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("create first admin: %w", err)
	}
	key, _, err := newAPIKey(ctx, st, u.ID, "first admin key")
	if err != nil {
		return nil, fmt.Errorf("create first admin key: %w", err)
	}
	if keyFile != "" {
		if err := writeSecretFile(keyFile, key.Reveal()+"\n"); err != nil {
			return nil, fmt.Errorf("write first admin key file: %w", err)
		}
	}
	return &firstAdmin{username: username, password: pw, key: key}, nil
}

// newPassword makes a random password and its hash.
func newPassword() (pw secret.Value, hash string, err error) {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	pw = secret.New(base64.RawURLEncoding.EncodeToString(b))
	hash, err = auth.HashPassword(pw.Reveal())
	return pw, hash, err
}

// newAPIKey creates an API key named name for a user and returns it, to
// be shown once, with its id.
func newAPIKey(ctx context.Context, st store.Store, userID, name string) (secret.Value, string, error) {
	id, key, h := auth.NewKey()
	if _, err := st.CreateAPIKey(ctx, store.APIKey{ID: id, UserID: userID, Name: name, Kind: store.APIKeyKindAPI, SecretHash: h}); err != nil {
		return secret.Value{}, "", err
	}
	return key, id, nil
}

// writeSecretFile writes s to path with mode 0600, replacing any file.
func writeSecretFile(path, s string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".chatd-key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := io.WriteString(tmp, s); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// printBanner tells a person how to reach the server; on a first start it
// also shows the admin's credentials, which are never shown again.
func printBanner(w io.Writer, c Config, addr net.Addr, admin *firstAdmin) {
	url := "http://" + displayAddr(addr)
	var b strings.Builder
	fmt.Fprintf(&b, "\nchatd is listening on %s\n", url)
	if c.Dev {
		fmt.Fprintf(&b, "  dev mode: the built-in FAKE providers dev-openai and dev-anthropic answer model calls (no internet, no keys)\n")
		fmt.Fprintf(&b, "  OpenAI SDK base URL:    %s/gateway/dev-openai/v1\n", url)
		fmt.Fprintf(&b, "  Anthropic SDK base URL: %s/gateway/dev-anthropic\n", url)
	}
	if admin != nil {
		fmt.Fprintf(&b, "\nFirst start: created admin user %q.\n", admin.username)
		fmt.Fprintf(&b, "  password: %s\n", admin.password.Reveal())
		fmt.Fprintf(&b, "  API key:  %s\n", admin.key.Reveal())
		fmt.Fprintf(&b, "These are shown only once. Try:\n")
		fmt.Fprintf(&b, "  export CHATD_URL=%s CHATD_API_KEY=%s\n", url, admin.key.Reveal())
		fmt.Fprintf(&b, "  go run ./cmd/chatd chat \"hello\"    (or chatd chat \"hello\" with the binary installed)\n")
		if c.FirstAdminKeyFile != "" {
			fmt.Fprintf(&b, "The API key was also written to %s.\n", c.FirstAdminKeyFile)
		}
	}
	b.WriteString("\n")
	_, _ = io.WriteString(w, b.String())
}

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	return tcp.String()
}

// ResetAdmin is the way back in when every admin credential is lost: run
// on the server's machine with its data directory (or PostgreSQL URL), it
// gives the user username the admin role, lifts a suspension, sets a new
// random password and creates a new API key, and prints them once to
// c.Out. It needs direct access to the database, which is the proof of
// authority.
func ResetAdmin(ctx context.Context, c Config, username string) error {
	c.DataDir = cmp.Or(c.DataDir, "chatd-data")
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	out := c.Out
	if out == nil {
		out = os.Stdout
	}
	if c.PostgresURL == "" {
		if _, err := os.Stat(filepath.Join(c.DataDir, "chatd.db")); err != nil {
			return fmt.Errorf("no chatd database in %s: give the server's --data-dir (or --postgres-url)", c.DataDir)
		}
	}
	st, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.GetUserByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user %q in this database", username)
	}
	if err != nil {
		return fmt.Errorf("find user %q: %w", username, err)
	}
	pw, hash, err := newPassword()
	if err != nil {
		return err
	}
	admin, active := store.RoleAdmin, false
	if _, err := st.UpdateUser(ctx, u.ID, store.UserPatch{Role: &admin, Suspended: &active, PasswordHash: &hash}); err != nil {
		return fmt.Errorf("reset user %q: %w", username, err)
	}
	key, id, err := newAPIKey(ctx, st, u.ID, "recovery key")
	if err != nil {
		return fmt.Errorf("create recovery key: %w", err)
	}
	log.Warn("admin access reset from the command line", "user_id", u.ID, "api_key_id", id)
	fmt.Fprintf(out, "User %q is an admin again, not suspended, with a new password and API key (shown only once):\n  password: %s\n  API key:  %s\n",
		username, pw.Reveal(), key.Reveal())
	return nil
}
