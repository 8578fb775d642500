package route

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

// TestIgnoresSDKEnvironment sets every variable the OpenAI and Anthropic
// SDKs read: none may change where a model call goes or what credential
// it carries. Not parallel: it changes the process environment.
func TestIgnoresSDKEnvironment(t *testing.T) {
	const envKey = "sk-env-CANARY-0000111122223333"
	for k, v := range map[string]string{
		"OPENAI_API_KEY":        envKey,
		"OPENAI_ADMIN_KEY":      envKey,
		"OPENAI_ORG_ID":         "org-env",
		"OPENAI_PROJECT_ID":     "proj-env",
		"OPENAI_BASE_URL":       "http://127.0.0.1:1/v1",
		"OPENAI_CUSTOM_HEADERS": "X-Chatd-Chat-Id: env-chat",
		"ANTHROPIC_API_KEY":     envKey,
		"ANTHROPIC_AUTH_TOKEN":  envKey,
		"ANTHROPIC_BASE_URL":    "http://127.0.0.1:1",
	} {
		t.Setenv(k, v)
	}
	for _, direct := range []bool{false, true} {
		for _, typ := range []store.ProviderType{store.ProviderOpenAI, store.ProviderAnthropic} {
			t.Run(fmt.Sprintf("direct=%t/%s", direct, typ), func(t *testing.T) {
				e := newEnv(t)
				up := llmtest.NewServer(t, llmtest.Load(t, fixtureFor(typ, false)).Response())
				p := e.addProvider("prov", typ, up.URL)
				mc := e.addModel(p, "m", nil)
				res, err := e.router(direct, up.Client()).Model(t.Context(), Request{
					UserID: e.user.ID, ModelConfigID: mc.ID, APIKeyID: e.keyID, ChatID: "chat-1",
				}, Options{})
				if err != nil {
					t.Fatalf("Model: %v", err)
				}
				generate(t, res.Model)
				reqs := up.Requests()
				if len(reqs) != 1 {
					t.Fatalf("upstream got %d requests, want 1", len(reqs))
				}
				checkAuth(t, reqs[0].Header, typ, centralKey)
				for k, vv := range reqs[0].Header {
					checkNoLeak(t, "upstream header "+k, strings.Join(vv, "\n"), envKey, "org-env", "proj-env", "env-chat")
				}
				if direct {
					return
				}
				if ins := e.records(); len(ins) != 1 || ins[0].ChatID != "chat-1" {
					t.Fatalf("gateway records %+v, want one for chat-1", ins)
				}
			})
		}
	}
}
