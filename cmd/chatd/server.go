package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/server"
	"github.com/chatd/chatd/internal/store/postgres"
	"github.com/chatd/chatd/internal/store/sqlite"
)

func newServerCmd() *cobra.Command {
	var (
		c                  server.Config
		logFormat          string
		logLevel           string
		retentionDays      int
		debugRetentionDays int
		showVersion        bool
		resetAdmin         string
		gatewayRoute       bool
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the chatd server",
		Long: `Run the chatd server: the web interface, the HTTP API, the AI gateway and the chat daemon.

Every flag can also be set with an environment variable: CHATD_ and the flag
name in upper case with dashes as underscores (--data-dir is CHATD_DATA_DIR).
The encryption key for provider keys comes from CHATD_SECRET_KEY (base64,
comma-separated for rotation, the first one encrypts) or --secret-key-file;
with SQLite and neither given, a key file is created in the data directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if showVersion {
				return printVersion(cmd)
			}
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			log, err := newLogger(logFormat, logLevel)
			if err != nil {
				return err
			}
			if retentionDays < 0 {
				return errors.New("--gateway-retention-days must be 0 (keep forever) or more")
			}
			c.GatewayRetention = time.Duration(retentionDays) * 24 * time.Hour
			if debugRetentionDays < 0 {
				return errors.New("--debug-retention-days must be 0 (keep forever) or more")
			}
			c.DebugRetention = time.Duration(debugRetentionDays) * 24 * time.Hour
			c.DirectRouting = !gatewayRoute
			c.SecretKey = secret.New(os.Getenv("CHATD_SECRET_KEY"))
			c.Logger = log
			c.Out = cmd.OutOrStdout()
			if resetAdmin != "" {
				return server.ResetAdmin(cmd.Context(), c, resetAdmin)
			}
			if c.ModelIdleTimeout < time.Second {
				return errors.New("--model-idle-timeout (CHATD_MODEL_IDLE_TIMEOUT) must be at least 1s: a model call that streams nothing for that long is retried")
			}
			if c.ChatWorkers < 1 {
				return errors.New("--chat-workers (CHATD_CHAT_WORKERS) must be at least 1")
			}
			return server.Run(cmd.Context(), c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Listen, "listen", "127.0.0.1:7080", "address to serve HTTP on")
	f.StringVar(&c.DataDir, "data-dir", "./chatd-data", "directory for the SQLite database and the secret key file")
	f.StringVar(&c.PostgresURL, "postgres-url", "", "use PostgreSQL at this URL instead of SQLite (needs CHATD_SECRET_KEY)")
	f.StringVar(&c.SecretKeyFile, "secret-key-file", "", "file holding the base64 encryption key(s), instead of CHATD_SECRET_KEY")
	f.BoolVar(&c.Dev, "dev", false, "development mode: serve and register the built-in FAKE LLM providers dev-openai and dev-anthropic")
	f.StringVar(&c.FirstAdminUsername, "first-admin-username", "admin", "username of the admin created on an empty database")
	f.StringVar(&c.FirstAdminKeyFile, "first-admin-key-file", "", "also write the first admin's API key to this file (mode 0600)")
	f.BoolVar(&c.AllowBYOK, "allow-byok", true, "let users bring their own provider keys")
	f.BoolVar(&c.GatewayRecordContent, "gateway-record-content", true, "keep prompts, tool arguments and thinking in gateway records (false keeps only tokens and costs)")
	f.IntVar(&retentionDays, "gateway-retention-days", 60, "delete gateway records older than this many days (0 keeps them)")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.BoolVar(&showVersion, "version", false, "print the version and the database schema version, then exit")
	f.IntVar(&c.ChatWorkers, "chat-workers", 8, "chat turns this replica runs at once")
	f.DurationVar(&c.ModelIdleTimeout, "model-idle-timeout", 10*time.Minute, "cancel and retry a chat turn's model call that streams nothing for this long (the wait for its first token included)")
	f.StringVar(&resetAdmin, "reset-admin", "", "recovery: make USERNAME an admin with a new password and API key, print them once, then exit (needs the server's --data-dir or --postgres-url)")
	f.BoolVar(&c.DebugRecording, "debug-recording", false, "record every chat's model calls for troubleshooting, unless a chat or user turns it off")
	f.IntVar(&debugRetentionDays, "debug-retention-days", 7, "delete debug recordings older than this many days (0 keeps them)")
	// Deployment options kept out of --help on purpose.
	f.BoolVar(&gatewayRoute, "ai-gateway-routing", true, "send the chat daemon's model calls through the in-process gateway")
	_ = f.MarkHidden("ai-gateway-routing")
	f.DurationVar(&c.DevLatency, "dev-latency", 40*time.Millisecond, "with --dev: pause before each streamed word of the fake provider, so streaming, queueing and interrupts can be watched (0: none)")
	return cmd
}

// bindEnv sets every flag not given on the command line from its
// CHATD_* environment variable.
func bindEnv(fs *pflag.FlagSet) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "version" || f.Name == "reset-admin" {
			return
		}
		env := envName(f.Name)
		v, ok := os.LookupEnv(env)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", env, v, err))
		}
	})
	return errors.Join(errs...)
}

func envName(flag string) string {
	return "CHATD_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the database schema version this binary migrates to",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return printVersion(cmd) },
	}
}

func printVersion(cmd *cobra.Command) error {
	sv, err := sqlite.LatestSchemaVersion()
	if err != nil {
		return err
	}
	pv, err := postgres.LatestSchemaVersion()
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "chatd %s\nschema version: sqlite %d, postgres %d\n", version, sv, pv)
	return nil
}
