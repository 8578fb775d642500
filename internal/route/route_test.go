package route

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/gateway"
	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

// checkAuth asserts the exact provider auth headers upstream received.
func checkAuth(t *testing.T, h http.Header, typ store.ProviderType, want string) {
	t.Helper()
	gotAuth, gotAPIKey := h.Values("Authorization"), h.Values("X-Api-Key")
	if typ == store.ProviderAnthropic {
		if len(gotAPIKey) != 1 || gotAPIKey[0] != want {
			t.Fatalf("upstream X-Api-Key = %q, want [%q]", gotAPIKey, want)
		}
		if len(gotAuth) != 0 {
			t.Fatalf("upstream Authorization = %q, want none", gotAuth)
		}
		return
	}
	if len(gotAuth) != 1 || gotAuth[0] != "Bearer "+want {
		t.Fatalf("upstream Authorization = %q, want [%q]", gotAuth, "Bearer "+want)
	}
	if len(gotAPIKey) != 0 {
		t.Fatalf("upstream X-Api-Key = %q, want none", gotAPIKey)
	}
}

// TestRoutingMatrix runs gateway and direct mode × central and BYOK ×
// OpenAI and Anthropic against a fake upstream, through the real gateway.
func TestRoutingMatrix(t *testing.T) {
	t.Parallel()
	for _, direct := range []bool{false, true} {
		for _, byok := range []bool{false, true} {
			for _, typ := range []store.ProviderType{store.ProviderOpenAI, store.ProviderAnthropic, store.ProviderOpenAICompatible} {
				mode, cred := "gateway", store.CredentialCentral
				if direct {
					mode = "direct"
				}
				if byok {
					cred = store.CredentialBYOK
				}
				t.Run(fmt.Sprintf("%s/%s/%s", mode, cred, typ), func(t *testing.T) {
					t.Parallel()
					e := newEnv(t)
					up := llmtest.NewServer(t, llmtest.Load(t, fixtureFor(typ, false)).Response())
					base := up.URL
					if typ == store.ProviderOpenAICompatible {
						base += "/v1" // base URLs come with or without /v1
					}
					p := e.addProvider("prov", typ, base)
					mc := e.addModel(p, "some-model", nil)
					if byok {
						e.addUserKey(p, userKey)
					}
					res, err := e.router(direct, up.Client()).Model(t.Context(), Request{
						UserID: e.user.ID, ModelConfigID: mc.ID, APIKeyID: e.keyID,
						ChatID: "chat-1", SubchatID: "sub-1", Purpose: PurposeChat,
					}, Options{MaxOutputTokens: 256})
					if err != nil {
						t.Fatalf("Model: %v", err)
					}
					if res.Credential != cred {
						t.Fatalf("Credential = %q, want %q", res.Credential, cred)
					}
					if res.Provider.ID != p.ID || res.ModelConfig.ID != mc.ID {
						t.Fatalf("result names provider %q model %q, want %q %q", res.Provider.ID, res.ModelConfig.ID, p.ID, mc.ID)
					}
					if got := generate(t, res.Model); !strings.Contains(got, "Paris") {
						t.Fatalf("answer %q, want the fixture's", got)
					}

					reqs := up.Requests()
					if len(reqs) != 1 {
						t.Fatalf("upstream got %d requests, want 1", len(reqs))
					}
					r := reqs[0]
					wantPath := "/v1/chat/completions"
					if typ == store.ProviderAnthropic {
						wantPath = "/v1/messages"
					}
					if r.Path != wantPath {
						t.Fatalf("upstream path %q, want %q", r.Path, wantPath)
					}
					want := centralKey
					if byok {
						want = userKey
					}
					checkAuth(t, r.Header, typ, want)
					for k, vv := range r.Header {
						if strings.HasPrefix(http.CanonicalHeaderKey(k), "X-Chatd-") {
							t.Fatalf("upstream got chatd header %s: %q", k, vv)
						}
						all := strings.Join(vv, "\n")
						checkNoLeak(t, "upstream header "+k, all, placeholderKey)
						if byok {
							checkNoLeak(t, "upstream header "+k, all, centralKey)
						}
					}
					if !strings.Contains(string(r.Body), `"max`) || !strings.Contains(string(r.Body), "256") {
						t.Fatalf("request body %s lacks the output token limit", r.Body)
					}

					ins := e.records()
					if direct {
						if len(ins) != 0 {
							t.Fatalf("direct mode left %d gateway records, want 0", len(ins))
						}
						return
					}
					if len(ins) != 1 {
						t.Fatalf("gateway recorded %d interceptions, want 1", len(ins))
					}
					in := ins[0]
					if in.APIKeyID != e.keyID || in.UserID != e.user.ID {
						t.Fatalf("record key %q user %q, want %q %q", in.APIKeyID, in.UserID, e.keyID, e.user.ID)
					}
					if in.ChatID != "chat-1" || in.SubchatID != "sub-1" {
						t.Fatalf("record chat %q subchat %q, want chat-1 sub-1", in.ChatID, in.SubchatID)
					}
					if in.CredentialKind != cred {
						t.Fatalf("record credential %q, want %q", in.CredentialKind, cred)
					}
					if in.Source != store.SourceAgents || in.Client != gateway.ClientChatd {
						t.Fatalf("record source %q client %q, want %q %q", in.Source, in.Client, store.SourceAgents, gateway.ClientChatd)
					}
					if in.Status != http.StatusOK || in.Model != "some-model" {
						t.Fatalf("record status %d model %q", in.Status, in.Model)
					}
				})
			}
		}
	}
}

// TestResponsesAPI checks that the model config, not fantasy's list of
// known models, picks the Responses API.
func TestResponsesAPI(t *testing.T) {
	t.Parallel()
	for _, direct := range []bool{false, true} {
		for _, typ := range []store.ProviderType{store.ProviderOpenAI, store.ProviderOpenAICompatible} {
			for _, responses := range []bool{false, true} {
				t.Run(fmt.Sprintf("direct=%t/%s/responses=%t", direct, typ, responses), func(t *testing.T) {
					t.Parallel()
					e := newEnv(t)
					up := llmtest.NewServer(t, llmtest.Load(t, fixtureFor(typ, responses)).Response())
					p := e.addProvider("prov", typ, up.URL)
					mc := e.addModel(p, "my-own-model", func(m *store.ModelConfig) { m.UseResponsesAPI = responses })
					res, err := e.router(direct, up.Client()).Model(t.Context(), Request{
						UserID: e.user.ID, ModelConfigID: mc.ID, APIKeyID: e.keyID, Purpose: PurposeTitle,
					}, Options{})
					if err != nil {
						t.Fatalf("Model: %v", err)
					}
					generate(t, res.Model)
					want := "/v1/chat/completions"
					if responses {
						want = "/v1/responses"
					}
					if reqs := up.Requests(); len(reqs) != 1 || reqs[0].Path != want {
						t.Fatalf("upstream requests %d, want 1 to %s", len(reqs), want)
					}
					if direct {
						return
					}
					ins := e.records()
					if len(ins) != 1 || ins[0].Endpoint != want {
						t.Fatalf("gateway records %+v, want one on %s", ins, want)
					}
					if ins[0].ChatID != "" || ins[0].SubchatID != "" {
						t.Fatalf("title call recorded chat %q subchat %q, want none", ins[0].ChatID, ins[0].SubchatID)
					}
				})
			}
		}
	}
}

// TestStreamThroughGateway streams each API through the in-process
// transport, as chat turns do.
func TestStreamThroughGateway(t *testing.T) {
	t.Parallel()
	for _, fixture := range []string{"openai-chat/stream-plain", "openai-responses/stream-plain", "anthropic-messages/stream-plain"} {
		t.Run(fixture, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			f := llmtest.Load(t, fixture)
			typ := store.ProviderOpenAI
			if f.API == "anthropic-messages" {
				typ = store.ProviderAnthropic
			}
			up := llmtest.NewServer(t, f.Response())
			p := e.addProvider("prov", typ, up.URL)
			mc := e.addModel(p, "m", func(m *store.ModelConfig) { m.UseResponsesAPI = f.API == "openai-responses" })
			res, err := e.router(false, nil).Model(t.Context(), Request{
				UserID: e.user.ID, ModelConfigID: mc.ID, APIKeyID: e.keyID, ChatID: "chat-1",
			}, Options{})
			if err != nil {
				t.Fatalf("Model: %v", err)
			}
			stream, err := res.Model.Stream(t.Context(), callHello())
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			var text strings.Builder
			finished := false
			for part := range stream {
				switch part.Type {
				case fantasy.StreamPartTypeTextDelta:
					text.WriteString(part.Delta)
				case fantasy.StreamPartTypeFinish:
					finished = true
				case fantasy.StreamPartTypeError:
					t.Fatalf("stream error: %v", part.Error)
				}
			}
			if !finished || text.Len() == 0 {
				t.Fatalf("stream finished=%t text %q", finished, text.String())
			}
			ins := e.records()
			if len(ins) != 1 || !ins[0].Streaming || ins[0].APIKeyID != e.keyID || ins[0].ChatID != "chat-1" {
				t.Fatalf("gateway records %+v, want one streaming call for chat-1", ins)
			}
			if got, want := ins[0].Usage.Output, f.Expect.OutputTokens; got != want {
				t.Fatalf("recorded output tokens %d, want %d", got, want)
			}
		})
	}
}
