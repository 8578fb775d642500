package route

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
)

// TestProviderAuthRedacted prints a delegated credential every way code
// might, alone and inside other values.
func TestProviderAuthRedacted(t *testing.T) {
	t.Parallel()
	a := authFor(store.ProviderAnthropic, secret.New(userKey))
	type outer struct {
		Auth  ProviderAuth
		inner ProviderAuth
		Ptr   *ProviderAuth
	}
	o := outer{Auth: a, inner: a, Ptr: &a}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		for name, v := range map[string]any{"value": a, "pointer": &a, "struct": o, "slice": []ProviderAuth{a}} {
			t.Run(verb+"/"+name, func(t *testing.T) {
				t.Parallel()
				got := fmt.Sprintf(verb, v)
				checkNoLeak(t, "output", got, userKey)
				if name == "value" && got != redacted {
					t.Fatalf("%s of ProviderAuth = %q, want %q", verb, got, redacted)
				}
			})
		}
	}
	for _, h := range []string{"text", "json"} {
		t.Run("slog/"+h, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			var hd slog.Handler = slog.NewTextHandler(&buf, nil)
			if h == "json" {
				hd = slog.NewJSONHandler(&buf, nil)
			}
			slog.New(hd).Info("auth", "auth", a, "ptr", &a, "group", slog.GroupValue(slog.Any("auth", a)))
			got := buf.String()
			checkNoLeak(t, "log", got, userKey)
			if strings.Count(got, redacted) != 3 {
				t.Fatalf("log %q, want three %q", got, redacted)
			}
		})
	}
}

// TestCanary plants the central and the user's key and runs successful
// and failing calls in both modes: neither key may show up in logs, in
// errors, or in a printed Result.
func TestCanary(t *testing.T) {
	t.Parallel()
	for _, direct := range []bool{false, true} {
		for _, byok := range []bool{false, true} {
			for _, fixture := range []string{"openai-chat/blocking-plain", "openai-chat/error-500", "anthropic-messages/error-429"} {
				t.Run(fmt.Sprintf("direct=%t/byok=%t/%s", direct, byok, fixture), func(t *testing.T) {
					t.Parallel()
					e := newEnv(t)
					f := llmtest.Load(t, fixture)
					typ := store.ProviderOpenAI
					if f.API == "anthropic-messages" {
						typ = store.ProviderAnthropic
					}
					up := llmtest.NewServer(t, f.Response())
					p := e.addProvider("prov", typ, up.URL)
					mc := e.addModel(p, "m", nil)
					if byok {
						e.addUserKey(p, userKey)
					}
					res, err := e.router(direct, up.Client()).Model(t.Context(), Request{
						UserID: e.user.ID, ModelConfigID: mc.ID, APIKeyID: e.keyID, ChatID: "c",
					}, Options{})
					if err != nil {
						t.Fatalf("Model: %v", err)
					}
					for _, verb := range []string{"%v", "%+v", "%#v"} {
						checkNoLeak(t, "printed result", fmt.Sprintf(verb, res), centralKey, userKey)
					}
					_, err = res.Model.Generate(t.Context(), callHello())
					if (err != nil) != (f.Status >= 400) {
						t.Fatalf("Generate error = %v for a %d answer", err, f.Status)
					}
					if err != nil {
						checkNoLeak(t, "error", err.Error(), centralKey, userKey)
						checkNoLeak(t, "error", fmt.Sprintf("%+v", err), centralKey, userKey)
					}
					e.records()
					checkNoLeak(t, "logs", e.logs.String(), centralKey, userKey)
				})
			}
		}
	}
}
