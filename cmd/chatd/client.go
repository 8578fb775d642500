package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/chatd/chatd/internal/client"
	"github.com/chatd/chatd/internal/secret"
)

// defaultURL is where `chatd server` listens unless told otherwise.
const defaultURL = "http://127.0.0.1:7080"

// errNotLoggedIn is returned when no API key is found anywhere.
var errNotLoggedIn = errors.New("not logged in: run `chatd login` or set CHATD_API_KEY")

// cli is the state the client commands share: the persistent flags and
// the process environment. One is built per clientCommands call, so tests
// can run commands side by side.
type cli struct {
	// Persistent flags.
	url    string
	apiKey string
	json   bool

	// getenv reads the environment (os.Getenv outside tests).
	getenv func(string) string
	// hc is the HTTP client for every call; nil means a client with a
	// generous overall timeout.
	hc *http.Client
	// now is the clock for relative times ("7d" ago).
	now func() time.Time
}

// clientCommands returns the top-level commands that talk to a chatd
// server over HTTP.
func clientCommands() []*cobra.Command {
	c := &cli{getenv: os.Getenv, now: time.Now}
	return c.commands()
}

func (c *cli) commands() []*cobra.Command {
	cmds := []*cobra.Command{
		c.loginCmd(),
		c.logoutCmd(),
		c.usersCmd(),
		c.keysCmd(),
		c.providersCmd(),
		c.modelsCmd(),
		c.providerKeysCmd(),
		c.usageCmd(),
		c.chatCmd(),
		c.debugCmd(),
		c.settingsCmd(),
	}
	for _, cmd := range cmds {
		// The root belongs to main.go; each client command carries the
		// connection flags itself.
		f := cmd.PersistentFlags()
		f.StringVar(&c.url, "url", "", "chatd server URL (default $CHATD_URL, the saved login, or "+defaultURL+")")
		f.StringVar(&c.apiKey, "api-key", "", "chatd API key (default $CHATD_API_KEY or the saved login; prefer the variable: flags show in ps)")
		f.BoolVar(&c.json, "json", false, "print JSON instead of tables")
		refuseUnknownSubcommands(cmd)
	}
	return cmds
}

// refuseUnknownSubcommands makes every command group fail on a word it
// does not know (cobra would print the help and exit 0, so a typo such as
// `chatd keys rm ID` would look like success to a script).
func refuseUnknownSubcommands(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		refuseUnknownSubcommands(sub)
	}
	if !cmd.HasSubCommands() || cmd.Runnable() {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		names := make([]string, 0, len(cmd.Commands()))
		for _, sub := range cmd.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, sub.Name())
			}
		}
		return fmt.Errorf("unknown command %q for %q; use one of: %s", args[0], cmd.CommandPath(), strings.Join(names, ", "))
	}
}

// explicitURL is the server URL from the flag or the environment, without
// looking at the credentials file.
func (c *cli) explicitURL() string {
	return normalizeURL(cmp.Or(c.url, c.getenv("CHATD_URL")))
}

func normalizeURL(u string) string { return strings.TrimRight(strings.TrimSpace(u), "/") }

// client returns an API client for the server and key resolve picks.
func (c *cli) client() (*client.Client, error) {
	u, key, err := c.resolve()
	if err != nil {
		return nil, err
	}
	return c.newClient(u, key)
}

// resolve picks the server and key: flags, then CHATD_URL and
// CHATD_API_KEY, then the credentials file of `chatd login`. The saved key
// is only sent to the server it was issued by.
func (c *cli) resolve() (string, secret.Value, error) {
	u := c.explicitURL()
	key := cmp.Or(c.apiKey, c.getenv("CHATD_API_KEY"))
	if key == "" || u == "" {
		cr, ok, err := c.loadCredentials()
		if err != nil {
			return "", secret.Value{}, err
		}
		if ok {
			saved := normalizeURL(cr.URL)
			if u == "" {
				u = saved
			}
			if key == "" && u == saved {
				key = cr.APIKey
			}
		}
	}
	if u == "" {
		u = defaultURL
	}
	if key == "" {
		if u != defaultURL {
			return "", secret.Value{}, fmt.Errorf("not logged in to %s: run `chatd login --url %s` or set CHATD_API_KEY", u, u)
		}
		return "", secret.Value{}, errNotLoggedIn
	}
	return u, secret.New(key), nil
}

func (c *cli) newClient(u string, key secret.Value) (*client.Client, error) {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http://host:port or https://host", u)
	}
	hc := c.hc
	if hc == nil {
		// A transport of its own, not http.DefaultTransport: nothing else
		// in the process can close its connections under a request.
		hc = &http.Client{Timeout: 2 * time.Minute, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return client.New(u, key, hc), nil
}

// run adapts a command body that needs an API client to cobra.
func (c *cli) run(fn func(cmd *cobra.Command, args []string, api *client.Client) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		api, err := c.client()
		if err != nil {
			return err
		}
		return fn(cmd, args, api)
	}
}

// apiError words an error of the client package for a person: the
// operation, then the server's message and code. A 401 hints at login.
func apiError(op string, err error) error {
	if ae, ok := errors.AsType[*client.APIError](err); ok {
		if ae.Status == http.StatusUnauthorized && op != "log in" {
			return fmt.Errorf("%s: %w: run `chatd login` or check CHATD_API_KEY", op, ae)
		}
		return fmt.Errorf("%s: %w", op, ae)
	}
	if errors.Is(err, context.Canceled) {
		// Ctrl-C: say so rather than blame the network.
		return fmt.Errorf("%s: interrupted", op)
	}
	if ue, ok := errors.AsType[*url.Error](err); ok {
		u, _ := url.Parse(ue.URL)
		host := ue.URL
		if u != nil {
			host = u.Scheme + "://" + u.Host
		}
		return fmt.Errorf("%s: cannot reach chatd at %s: %w", op, host, ue.Err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// maxSecretLen bounds what is read from stdin for a password or key.
const maxSecretLen = 64 << 10

// readSecret reads a password or key: all of stdin when fromStdin is set
// (without the final newline), else from a prompt that does not echo.
// Secrets never come from flags, which end up in shell history and `ps`.
func readSecret(cmd *cobra.Command, fromStdin bool, stdinFlag, prompt string, confirm bool) (secret.Value, error) {
	if fromStdin {
		b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxSecretLen+1))
		if err != nil {
			return secret.Value{}, fmt.Errorf("read stdin: %w", err)
		}
		if len(b) > maxSecretLen {
			return secret.Value{}, errors.New("read stdin: too long")
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			return secret.Value{}, errors.New("read stdin: empty")
		}
		return secret.New(s), nil
	}
	fd, ok := terminalFD(cmd.InOrStdin())
	if !ok {
		return secret.Value{}, fmt.Errorf("stdin is not a terminal: use --%s", stdinFlag)
	}
	s, err := promptHidden(cmd, fd, prompt)
	if err != nil {
		return secret.Value{}, err
	}
	if s == "" {
		return secret.Value{}, errors.New("empty input")
	}
	if confirm {
		again, err := promptHidden(cmd, fd, "Repeat "+strings.ToLower(prompt[:1])+prompt[1:])
		if err != nil {
			return secret.Value{}, err
		}
		if again != s {
			return secret.Value{}, errors.New("the two entries differ")
		}
	}
	return secret.New(s), nil
}

func promptHidden(cmd *cobra.Command, fd int, prompt string) (string, error) {
	fmt.Fprint(cmd.ErrOrStderr(), prompt+": ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil {
		return "", fmt.Errorf("read from terminal: %w", err)
	}
	return string(b), nil
}

// promptLine reads one visible line from a terminal.
func promptLine(cmd *cobra.Command, prompt string) (string, error) {
	if _, ok := terminalFD(cmd.InOrStdin()); !ok {
		return "", errors.New("stdin is not a terminal")
	}
	fmt.Fprint(cmd.ErrOrStderr(), prompt+": ")
	// A terminal in canonical mode hands over one line per read, so this
	// buffered reader does not swallow later input.
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read from terminal: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// terminalFD reports whether r is a terminal, and its descriptor.
func terminalFD(r io.Reader) (int, bool) {
	f, ok := r.(*os.File)
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}
