package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"charm.land/fantasy"
	fanthropic "charm.land/fantasy/providers/anthropic"
	fopenai "charm.land/fantasy/providers/openai"
	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

const sdkPrompt = "What's the weather in Tokyo?"

// sdkCall is how a client library is pointed at the gateway.
type sdkCall struct {
	base    string // "http://host/gateway/p": no "/v1"
	key     string // what the SDK sends as its API key
	headers map[string]string
	client  *http.Client
}

// sdkClients run one call each and return an error when the library
// reports one (an incomplete stream included).
var sdkClients = []struct {
	name   string
	api    string // fixture directory
	client string // guessClient result
	run    func(ctx context.Context, c sdkCall, stream bool) error
}{
	{"openai-go chat", "openai-chat", ClientOpenAISDK, func(ctx context.Context, c sdkCall, stream bool) error {
		cl := openai.NewClient(openaiOptions(c)...)
		p := openai.ChatCompletionNewParams{Model: "gpt-4.1-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(sdkPrompt)}}
		if !stream {
			r, err := cl.Chat.Completions.New(ctx, p)
			if err == nil && len(r.Choices[0].Message.ToolCalls) != 1 {
				err = errors.New("no tool call")
			}
			return err
		}
		p.StreamOptions.IncludeUsage = openai.Bool(true)
		s := cl.Chat.Completions.NewStreaming(ctx, p)
		var acc openai.ChatCompletionAccumulator
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			return err
		}
		if len(acc.Choices) == 0 || len(acc.Choices[0].Message.ToolCalls) != 1 {
			return errors.New("no tool call")
		}
		return nil
	}},
	{"openai-go responses", "openai-responses", ClientOpenAISDK, func(ctx context.Context, c sdkCall, stream bool) error {
		cl := openai.NewClient(openaiOptions(c)...)
		p := responses.ResponseNewParams{Model: "gpt-4.1-mini", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(sdkPrompt)}}
		if !stream {
			r, err := cl.Responses.New(ctx, p)
			if err == nil && len(r.Output) == 0 {
				err = errors.New("no output")
			}
			return err
		}
		s := cl.Responses.NewStreaming(ctx, p)
		completed := false
		for s.Next() {
			if s.Current().Type == "response.completed" {
				completed = true
			}
		}
		if err := s.Err(); err != nil {
			return err
		}
		if !completed {
			return errors.New("no response.completed")
		}
		return nil
	}},
	{"anthropic-sdk-go", "anthropic-messages", ClientAnthropicSDK, func(ctx context.Context, c sdkCall, stream bool) error {
		opts := []aoption.RequestOption{aoption.WithBaseURL(c.base), aoption.WithAPIKey(c.key), aoption.WithMaxRetries(0)}
		if c.client != nil {
			opts = append(opts, aoption.WithHTTPClient(c.client))
		}
		for k, v := range c.headers {
			opts = append(opts, aoption.WithHeader(k, v))
		}
		cl := anthropic.NewClient(opts...)
		p := anthropic.MessageNewParams{Model: "claude-sonnet-4-20250514", MaxTokens: 1024,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(sdkPrompt))}}
		if !stream {
			_, err := cl.Messages.New(ctx, p)
			return err
		}
		s := cl.Messages.NewStreaming(ctx, p)
		var m anthropic.Message
		for s.Next() {
			if err := m.Accumulate(s.Current()); err != nil {
				return err
			}
		}
		if err := s.Err(); err != nil {
			return err
		}
		for _, b := range m.Content {
			if b.Type == "tool_use" {
				return nil
			}
		}
		return errors.New("no tool_use block")
	}},
	{"fantasy openai", "openai-chat", ClientFantasy, func(ctx context.Context, c sdkCall, stream bool) error {
		return runFantasy(ctx, c, stream, func() (fantasy.Provider, error) {
			return fopenai.New(fantasyOpenAIOptions(c)...)
		})
	}},
	{"fantasy openai responses", "openai-responses", ClientFantasy, func(ctx context.Context, c sdkCall, stream bool) error {
		return runFantasy(ctx, c, stream, func() (fantasy.Provider, error) {
			return fopenai.New(append(fantasyOpenAIOptions(c), fopenai.WithUseResponsesAPI(), fopenai.WithResponsesAPIFunc(func(string) bool { return true }))...)
		})
	}},
	{"fantasy anthropic", "anthropic-messages", ClientFantasy, func(ctx context.Context, c sdkCall, stream bool) error {
		return runFantasy(ctx, c, stream, func() (fantasy.Provider, error) {
			opts := []fanthropic.Option{fanthropic.WithBaseURL(c.base), fanthropic.WithAPIKey(c.key), fanthropic.WithHeaders(c.headers)}
			if c.client != nil {
				opts = append(opts, fanthropic.WithHTTPClient(c.client))
			}
			return fanthropic.New(opts...)
		})
	}},
}

func openaiOptions(c sdkCall) []ooption.RequestOption {
	opts := []ooption.RequestOption{ooption.WithBaseURL(c.base + "/v1"), ooption.WithAPIKey(c.key), ooption.WithMaxRetries(0)}
	if c.client != nil {
		opts = append(opts, ooption.WithHTTPClient(c.client))
	}
	for k, v := range c.headers {
		opts = append(opts, ooption.WithHeader(k, v))
	}
	return opts
}

func fantasyOpenAIOptions(c sdkCall) []fopenai.Option {
	opts := []fopenai.Option{fopenai.WithBaseURL(c.base + "/v1"), fopenai.WithAPIKey(c.key), fopenai.WithHeaders(c.headers)}
	if c.client != nil {
		opts = append(opts, fopenai.WithHTTPClient(c.client))
	}
	return opts
}

func runFantasy(ctx context.Context, c sdkCall, stream bool, newProvider func() (fantasy.Provider, error)) error {
	p, err := newProvider()
	if err != nil {
		return err
	}
	lm, err := p.LanguageModel(ctx, "test-model")
	if err != nil {
		return err
	}
	call := fantasy.Call{Prompt: fantasy.Prompt{fantasy.NewUserMessage(sdkPrompt)}}
	if !stream {
		r, err := lm.Generate(ctx, call)
		if err != nil {
			return err
		}
		if len(r.Content.ToolCalls()) != 1 {
			return fmt.Errorf("got %d tool calls", len(r.Content.ToolCalls()))
		}
		return nil
	}
	s, err := lm.Stream(ctx, call)
	if err != nil {
		return err
	}
	calls, finished := 0, false
	for part := range s {
		switch part.Type {
		case fantasy.StreamPartTypeError:
			return part.Error
		case fantasy.StreamPartTypeToolCall:
			calls++
		case fantasy.StreamPartTypeFinish:
			finished = true
		}
	}
	if calls != 1 || !finished {
		return fmt.Errorf("stream: %d tool calls, finished %v", calls, finished)
	}
	return nil
}

// TestSDKs runs the official SDKs and fantasy against the gateway, over
// HTTP and over the in-process transport, with the central key and with
// the caller's own key.
func TestSDKs(t *testing.T) {
	t.Parallel()
	modes := []struct {
		name    string
		inProc  bool
		byok    bool
		wantKey string
	}{
		{"central", false, false, centralKey},
		{"byok", false, true, byokKey},
		{"in-process central", true, false, centralKey},
		{"in-process byok", true, true, byokKey},
	}
	for _, sc := range sdkClients {
		for _, stream := range []bool{false, true} {
			for _, m := range modes {
				name := fmt.Sprintf("%s/stream=%v/%s", sc.name, stream, m.name)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					fx := "blocking-tool"
					if stream {
						fx = "stream-tool"
					}
					f := llmtest.Load(t, sc.api+"/"+fx)
					up := llmtest.NewServer(t, f.Response())
					e := newEnv(t, envOptions{})
					typ := providerTypeFor(sc.api)
					e.addProvider("p", typ, up.URL)

					ctx := t.Context()
					c := sdkCall{base: e.srv.URL + "/gateway/p", key: e.key, headers: map[string]string{}}
					if m.inProc {
						c.base = "http://chatd-gateway"
						c.key = "placeholder"
						c.client = &http.Client{Transport: e.gw.TransportFor("p", store.SourceAgents)}
						ctx = WithDelegatedKeyID(ctx, e.keyID)
					}
					if m.byok {
						c.key = byokKey
						c.headers[GovernanceHeader] = e.key
						if m.inProc {
							c.headers[GovernanceHeader] = DelegatedMarker
						}
					}
					if err := sc.run(ctx, c, stream); err != nil {
						t.Fatalf("call: %v", err)
					}

					got := up.Requests()[0]
					cred := got.Header.Get("Authorization")
					if typ == store.ProviderAnthropic && cred == "" {
						cred = got.Header.Get("X-Api-Key")
					} else {
						cred = bearerOf(cred)
					}
					if cred != m.wantKey {
						t.Fatalf("upstream credential = %q, want %q", cred, m.wantKey)
					}
					if v := got.Header.Get(GovernanceHeader); v != "" {
						t.Fatalf("governance header reached upstream: %q", v)
					}

					in := e.oneRecord()
					x := f.Expect
					if in.Usage.Input != x.InputTokens || in.Usage.Output != x.OutputTokens {
						t.Fatalf("usage = %+v, want %+v", in.Usage, x)
					}
					if len(in.ToolCalls) != 1 || in.ToolCalls[0].Name != x.ToolCalls[0].Name {
						t.Fatalf("tool calls = %+v", in.ToolCalls)
					}
					if in.Prompt != sdkPrompt || in.Streaming != stream || in.Error != "" || in.Client != sc.client {
						t.Fatalf("record = prompt %q streaming %v error %q client %q", in.Prompt, in.Streaming, in.Error, in.Client)
					}
					wantKind, wantSource := store.CredentialCentral, store.SourceExternal
					if m.byok {
						wantKind = store.CredentialBYOK
					}
					if m.inProc {
						wantSource = store.SourceAgents
					}
					if in.CredentialKind != wantKind || in.Source != wantSource || in.APIKeyID != e.keyID {
						t.Fatalf("record = kind %q source %q key %q", in.CredentialKind, in.Source, in.APIKeyID)
					}
				})
			}
		}
	}
}

func bearerOf(v string) string {
	if len(v) > 7 {
		return v[7:]
	}
	return v
}
