package gateway

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

// providerTypeFor maps a fixture API to the provider type that serves it.
func providerTypeFor(api string) store.ProviderType {
	if api == "anthropic-messages" {
		return store.ProviderAnthropic
	}
	return store.ProviderOpenAI
}

// TestFixtures relays every fixture through the gateway and checks that
// the client gets the provider's exact bytes and the record holds the
// expected tokens, prompt, tool calls and reasoning text.
func TestFixtures(t *testing.T) {
	t.Parallel()
	for _, name := range llmtest.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := llmtest.Load(t, name)
			up := llmtest.NewServer(t, f.Response())
			e := newEnv(t, envOptions{})
			typ := providerTypeFor(f.API)
			e.addProvider("p", typ, up.URL)

			resp, body := e.do(http.MethodPost, "/gateway/p"+f.Path(), f.Request, e.bearer())
			if resp.StatusCode != f.Status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, f.Status, body)
			}
			if !bytes.Equal(body, f.Body) {
				t.Fatalf("client got a different body:\n%s\nwant\n%s", body, f.Body)
			}
			if got, want := resp.Header.Get("Content-Type"), f.Header.Get("Content-Type"); got != want {
				t.Fatalf("Content-Type = %q, want %q", got, want)
			}

			reqs := up.Requests()
			if len(reqs) != 1 {
				t.Fatalf("upstream got %d requests", len(reqs))
			}
			if !bytes.Equal(reqs[0].Body, f.Request) {
				t.Fatalf("upstream got a different request body")
			}
			if typ == store.ProviderAnthropic {
				if got := reqs[0].Header.Get("X-Api-Key"); got != centralKey {
					t.Fatalf("upstream x-api-key = %q", got)
				}
				if got := reqs[0].Header.Get("Authorization"); got != "" {
					t.Fatalf("upstream Authorization = %q, want none", got)
				}
			} else if got := reqs[0].Header.Get("Authorization"); got != "Bearer "+centralKey {
				t.Fatalf("upstream Authorization = %q", got)
			}

			in := e.oneRecord()
			x := f.Expect
			got := in.Usage
			want := store.Usage{Input: x.InputTokens, Output: x.OutputTokens, CacheRead: x.CacheReadTokens, CacheWrite: x.CacheWriteTokens, Reasoning: x.ReasoningTokens}
			if got != want {
				t.Fatalf("usage = %+v, want %+v", got, want)
			}
			if f.Status < 400 && in.Prompt != x.Prompt {
				t.Fatalf("prompt = %q, want %q", in.Prompt, x.Prompt)
			}
			if len(in.ToolCalls) != len(x.ToolCalls) {
				t.Fatalf("tool calls = %+v, want %+v", in.ToolCalls, x.ToolCalls)
			}
			for i, tc := range x.ToolCalls {
				if in.ToolCalls[i].Name != tc.Name || in.ToolCalls[i].Arguments != tc.Arguments {
					t.Fatalf("tool call %d = %+v, want %+v", i, in.ToolCalls[i], tc)
				}
			}
			if in.Status != f.Status || in.Streaming != f.Streaming() || in.ProviderName != "p" || in.Endpoint != f.Path() {
				t.Fatalf("record = %+v", in)
			}
			if in.UserID != e.user.ID || in.APIKeyID != e.keyID || in.Source != store.SourceExternal {
				t.Fatalf("record identity = user %q key %q source %q", in.UserID, in.APIKeyID, in.Source)
			}
			if in.CredentialKind != store.CredentialCentral || in.CredentialHint == "" || strings.Contains(in.CredentialHint, centralKey) {
				t.Fatalf("credential = %q %q", in.CredentialKind, in.CredentialHint)
			}
			if f.Status >= 400 {
				if in.Error == "" {
					t.Fatal("error status recorded without an error")
				}
			} else if in.Error != "" {
				t.Fatalf("record error = %q", in.Error)
			}
			if in.Reasoning != x.Reasoning {
				t.Fatalf("reasoning = %q, want %q", in.Reasoning, x.Reasoning)
			}
		})
	}
}
