package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chat"
	"github.com/chatd/chatd/internal/chatdebug"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// TestJSONShapes pins the exact bytes of every object of docs/api.md, as
// built from store values by the views: field names and order, null
// versus omitted, empty lists, UTC times. Web pages and scripts read
// these bytes; a change here is an API change.
func TestJSONShapes(t *testing.T) {
	t.Parallel()
	// Off UTC, to show which views convert times and which pass them on.
	zone := time.FixedZone("UTC+1", 3600)
	t0 := time.Date(2030, 1, 2, 4, 4, 5, 600_000_000, zone)
	t1 := t0.Add(1500 * time.Millisecond)
	u0 := t0.UTC()
	f := func(v float64) *float64 { return &v }
	i := func(v int64) *int64 { return &v }
	b := func(v bool) *bool { return &v }
	s := func(v string) *string { return &v }

	tests := []struct {
		name string
		v    any
		want string
	}{
		{
			name: "user",
			v:    viewUser(store.User{ID: "u1", Username: "alice", Role: store.RoleMember, PasswordHash: "h", CreatedAt: t0, UpdatedAt: t1}),
			want: `{"id":"u1","username":"alice","role":"member","suspended":false,"has_password":true,"created_at":"2030-01-02T03:04:05.6Z","updated_at":"2030-01-02T03:04:07.1Z"}`,
		},
		{
			name: "api key",
			v:    viewAPIKey(store.APIKey{ID: "k1", UserID: "u1", Name: "ci", Kind: store.APIKeyKindSession, SecretHash: []byte("h"), CreatedAt: t0, ExpiresAt: &t1, RevokedAt: &t0}),
			want: `{"id":"k1","name":"ci","kind":"session","created_at":"2030-01-02T03:04:05.6Z","expires_at":"2030-01-02T03:04:07.1Z","last_used_at":null,"revoked_at":"2030-01-02T03:04:05.6Z"}`,
		},
		{
			name: "provider",
			v:    viewProvider(store.Provider{ID: "p1", Name: "oa", Type: "openai", BaseURL: "https://api.example.com/v1", Enabled: true, APIKeyCipher: []byte{1}, APIKeyHint: "sk-…<z>", CreatedAt: t0, UpdatedAt: t0}),
			want: `{"id":"p1","name":"oa","type":"openai","base_url":"https://api.example.com/v1","enabled":true,"has_api_key":true,"api_key_hint":"sk-…\u003cz\u003e","created_at":"2030-01-02T03:04:05.6Z","updated_at":"2030-01-02T03:04:05.6Z"}`,
		},
		{
			name: "model",
			v: viewModel(store.ModelConfig{ID: "m1", ProviderID: "p1", Model: "gpt", DisplayName: "GPT", ContextLimit: 128000, Prices: store.Prices{Input: f(2.5), CacheRead: f(0)}, IsDefault: true, CreatedAt: t0, UpdatedAt: t0},
				store.Provider{ID: "p1", Name: "oa", Type: "openai"}),
			want: `{"id":"m1","provider":"oa","provider_type":"openai","model":"gpt","display_name":"GPT","context_limit":128000,"prices":{"input":2.5,"output":null,"cache_read":0,"cache_write":null},"enabled":false,"default":true,"use_responses_api":false,"compaction_threshold_percent":null,"created_at":"2030-01-02T03:04:05.6Z","updated_at":"2030-01-02T03:04:05.6Z"}`,
		},
		{
			name: "model with options",
			v: viewModel(store.ModelConfig{ID: "m2", ProviderID: "p1", Model: "o3", DisplayName: "o3", Enabled: true, UseResponsesAPI: true, CompactionThresholdPercent: ptr(60), CreatedAt: t0, UpdatedAt: t0},
				store.Provider{ID: "p1", Name: "oa", Type: "openai"}),
			want: `{"id":"m2","provider":"oa","provider_type":"openai","model":"o3","display_name":"o3","context_limit":0,"prices":{"input":null,"output":null,"cache_read":null,"cache_write":null},"enabled":true,"default":false,"use_responses_api":true,"compaction_threshold_percent":60,"created_at":"2030-01-02T03:04:05.6Z","updated_at":"2030-01-02T03:04:05.6Z"}`,
		},
		{
			name: "provider key",
			v:    viewProviderKey(store.UserProviderKey{UserID: "u1", ProviderID: "p1", KeyCipher: []byte{1}, KeyHint: "sk-…z", CreatedAt: t0, UpdatedAt: t1}, "oa"),
			want: `{"provider":"oa","key_hint":"sk-…z","created_at":"2030-01-02T03:04:05.6Z","updated_at":"2030-01-02T03:04:07.1Z"}`,
		},
		{
			name: "interception, ended",
			v: viewInterception(store.Interception{
				ID: "i1", UserID: "u1", APIKeyID: "k1", ProviderName: "oa", ProviderType: "openai", Endpoint: "/v1/chat/completions",
				Model: "gpt", Streaming: true, Client: "chatd", UserAgent: "ua", ChatID: "c1", SubchatID: "c2", Source: "chat",
				CredentialKind: "central", CredentialHint: "sk-…z", Status: 200, StartedAt: t0, EndedAt: t1, TTFB: 250500 * time.Microsecond,
				Usage:  store.Usage{Input: 1, Output: 2, CacheRead: 3, CacheWrite: 4, Reasoning: 5},
				Prompt: "hi", ToolCalls: []store.ToolCall{{ID: "t1", Name: "ls", Arguments: `{"a":1}`}}, Reasoning: "r", CostMicros: i(1_250_000),
			}),
			want: `{"id":"i1","user_id":"u1","api_key_id":"k1","provider":"oa","provider_type":"openai","endpoint":"/v1/chat/completions","model":"gpt","streaming":true,"client":"chatd","user_agent":"ua","chat_id":"c1","subchat_id":"c2","source":"chat","credential_kind":"central","credential_hint":"sk-…z","status":200,"error":"","started_at":"2030-01-02T03:04:05.6Z","ended_at":"2030-01-02T03:04:07.1Z","ttfb_ms":250.5,"duration_ms":1500,"usage":{"input_tokens":1,"output_tokens":2,"cache_read_tokens":3,"cache_write_tokens":4,"reasoning_tokens":5},"prompt":"hi","tool_calls":[{"id":"t1","name":"ls","arguments":"{\"a\":1}"}],"reasoning":"r","cost_usd":1.25}`,
		},
		{
			name: "interception, open",
			v:    viewInterception(store.Interception{ID: "i2", Status: 0, Error: "boom", StartedAt: t0}),
			want: `{"id":"i2","user_id":"","api_key_id":"","provider":"","provider_type":"","endpoint":"","model":"","streaming":false,"client":"","user_agent":"","chat_id":"","subchat_id":"","source":"","credential_kind":"","credential_hint":"","status":0,"error":"boom","started_at":"2030-01-02T03:04:05.6Z","ended_at":null,"ttfb_ms":0,"duration_ms":0,"usage":{"input_tokens":0,"output_tokens":0,"cache_read_tokens":0,"cache_write_tokens":0,"reasoning_tokens":0},"prompt":"","tool_calls":[],"reasoning":"","cost_usd":null}`,
		},
		{
			name: "usage row",
			v:    viewUsageRow(store.UsageRow{Day: "2030-01-02", UserID: "u1", Model: "gpt", Calls: 3, Usage: store.Usage{Input: 1, Output: 2, CacheRead: 3, CacheWrite: 4, Reasoning: 5}, CostMicros: 1500}, "alice"),
			want: `{"day":"2030-01-02","user_id":"u1","username":"alice","model":"gpt","calls":3,"input_tokens":1,"output_tokens":2,"cache_read_tokens":3,"cache_write_tokens":4,"reasoning_tokens":5,"cost_usd":0.0015}`,
		},
		{
			name: "cost",
			v:    viewCost(chat.Cost{ChatID: "c1", TotalMicros: i(2_000_000), OwnMicros: i(1_500_000), Children: []chat.ChildCost{{ChatID: "c2", Title: "kid", TotalMicros: i(500_000)}, {ChatID: "c3"}}, UnpricedMessages: 2, UnmeteredMessages: 1}),
			want: `{"chat_id":"c1","cost_usd":2,"own_cost_usd":1.5,"children":[{"chat_id":"c2","title":"kid","cost_usd":0.5},{"chat_id":"c3","title":"","cost_usd":null}],"unpriced_messages":2,"unmetered_messages":1}`,
		},
		{
			name: "cost, nothing priced",
			v:    viewCost(chat.Cost{ChatID: "c1"}),
			want: `{"chat_id":"c1","cost_usd":null,"own_cost_usd":null,"children":[],"unpriced_messages":0,"unmetered_messages":0}`,
		},
		{
			name: "debug run",
			v:    viewDebugRun(store.DebugRun{ID: "r1", Kind: "turn", ChatID: "c1", RootChatID: "c0", ParentChatID: "c0", MessageID: "m1", ModelConfigID: "m", Provider: "oa", Model: "gpt", Status: store.DebugStatus("completed"), Summary: "ok", StartedAt: t0, UpdatedAt: t1, FinishedAt: &t1}),
			want: `{"id":"r1","kind":"turn","chat_id":"c1","root_chat_id":"c0","parent_chat_id":"c0","message_id":"m1","model_config_id":"m","provider":"oa","model":"gpt","status":"completed","summary":"ok","started_at":"2030-01-02T03:04:05.6Z","updated_at":"2030-01-02T03:04:07.1Z","finished_at":"2030-01-02T03:04:07.1Z"}`,
		},
		{
			name: "debug run, running",
			v:    viewDebugRun(store.DebugRun{ID: "r2", Kind: "title", ChatID: "c1", Status: store.DebugStatus("in_progress"), StartedAt: t0, UpdatedAt: t0}),
			want: `{"id":"r2","kind":"title","chat_id":"c1","status":"in_progress","started_at":"2030-01-02T03:04:05.6Z","updated_at":"2030-01-02T03:04:05.6Z"}`,
		},
		{
			name: "debug step",
			v: viewDebugStep(store.DebugStep{ID: "s1", Number: 1, Operation: "stream", Status: store.DebugStatus("error"), Request: json.RawMessage(`not json`), Error: "boom", StartedAt: t0, FinishedAt: &t1,
				Attempts: []store.DebugAttempt{
					{Number: 1, Method: "POST", URL: "https://x/v1", Status: 500, RequestHeader: http.Header{"A": {"1"}}, RequestBody: "{}", ResponseBody: "no", Error: "e", StartedAt: t0, Duration: 2 * time.Millisecond, TimeToFirstByte: 1500 * time.Microsecond},
				}}),
			want: `{"id":"s1","number":1,"operation":"stream","status":"error","request":{},"response":null,"error":"boom","started_at":"2030-01-02T03:04:05.6Z","finished_at":"2030-01-02T03:04:07.1Z","attempts":[{"number":1,"method":"POST","url":"https://x/v1","status":500,"request_headers":{"A":["1"]},"request_body":"{}","response_headers":{},"response_body":"no","error":"e","started_at":"2030-01-02T03:04:05.6Z","duration_ms":2,"ttfb_ms":1.5}]}`,
		},
		{
			name: "debug step, no attempts",
			v:    viewDebugStep(store.DebugStep{ID: "s2", Number: 2, Operation: "generate", Status: store.DebugStatus("completed"), Request: json.RawMessage(`{"a":1}`), Response: json.RawMessage(`[1]`), StartedAt: t0}),
			want: `{"id":"s2","number":2,"operation":"generate","status":"completed","request":{"a":1},"response":[1],"started_at":"2030-01-02T03:04:05.6Z","attempts":[]}`,
		},
		{
			name: "debug stream event",
			v:    viewDebugEvent(chatdebug.RunEvent{Kind: chatdebug.EventKind("step"), ChatID: "c1", RunID: "r1", StepID: "s1", Status: store.DebugStatus("completed")}),
			want: `{"kind":"step","chat_id":"c1","run_id":"r1","step_id":"s1","status":"completed"}`,
		},
		{
			name: "debug stream event, run",
			v:    viewDebugEvent(chatdebug.RunEvent{Kind: chatdebug.EventKind("run"), ChatID: "c1", RunID: "r1"}),
			want: `{"kind":"run","chat_id":"c1","run_id":"r1"}`,
		},
		{
			name: "user settings",
			v:    wire.UserSettings{Models: map[string]*string{"title": s("m1"), "advisor": nil}},
			want: `{"debug_recording":null,"models":{"advisor":null,"title":"m1"},"compaction_threshold_percent":null}`,
		},
		{
			name: "deployment settings",
			v:    wire.DeploymentSettings{DebugRecording: true, Models: map[string]*string{"subagent": nil}, CompactionThresholdPercent: 80},
			want: `{"debug_recording":true,"debug_recording_forced":false,"models":{"subagent":null},"compaction_threshold_percent":80}`,
		},
		{
			name: "chat",
			v: chat.ViewChat(store.Chat{
				ID: "c1", OwnerID: "u1", Title: "t", Status: store.ChatRequiresAction, Archived: true, ModelConfigID: "m1", ParentChatID: "c0", RootChatID: "c0",
				APIKeyID: "k1", WorkerID: "w", LeaseExpiresAt: &t1, SnapshotVersion: 7, LastError: "e", Retry: &store.RetryState{Attempt: 2, NextAt: u0, Error: "429"},
				DebugOverride: b(false), ClientTools: []store.ToolSpec{{Name: "ls", Description: "list", InputSchema: json.RawMessage(`{"type":"object"}`)}, {Name: "pwd"}},
				ActionDeadline: &t1, CreatedAt: t0, UpdatedAt: u0,
			}),
			want: `{"id":"c1","owner_id":"u1","title":"t","status":"requires_action","archived":true,"model_config_id":"m1","parent_chat_id":"c0","root_chat_id":"c0","api_key_id":"k1","snapshot_version":7,"last_error":"e","retry":{"attempt":2,"next_at":"2030-01-02T03:04:05.6Z","error":"429"},"debug":false,"client_tools":[{"name":"ls","description":"list","input_schema":{"type":"object"}},{"name":"pwd"}],"action_deadline":"2030-01-02T04:04:07.1+01:00","created_at":"2030-01-02T04:04:05.6+01:00","updated_at":"2030-01-02T03:04:05.6Z"}`,
		},
		{
			name: "chat, bare",
			v:    chat.ViewChat(store.Chat{ID: "c1", Status: store.ChatWaiting, CreatedAt: u0, UpdatedAt: u0}),
			want: `{"id":"c1","owner_id":"","title":"","status":"waiting","archived":false,"model_config_id":"","snapshot_version":0,"debug":null,"created_at":"2030-01-02T03:04:05.6Z","updated_at":"2030-01-02T03:04:05.6Z"}`,
		},
		{
			name: "message",
			v: chat.ViewMessage(store.Message{
				ID: "m1", ChatID: "c1", Seq: 3, Role: store.RoleAssistant,
				Parts: []store.Part{
					{Type: store.PartReasoning, Text: "hmm", ProviderMetadata: json.RawMessage(`{"sig":"x"}`)},
					{Type: store.PartToolCall, ToolCallID: "t1", ToolName: "ls", Input: `{}`, ClientSide: true},
					{Type: store.PartToolResult, ToolCallID: "t1", ToolName: "ls", Output: "a <b>", IsError: true},
					{Type: store.PartText, Text: "done"},
				},
				Usage: store.Usage{Input: 1, Output: 2}, CostMicros: i(12), ModelConfigID: "mc", APIKeyID: "k1", CreatedBy: "u1", SummaryThroughSeq: 2, DeletedAt: &t1, CreatedAt: u0,
			}),
			want: `{"id":"m1","chat_id":"c1","seq":3,"role":"assistant","parts":[{"type":"reasoning","text":"hmm","provider_metadata":{"sig":"x"}},{"type":"tool_call","tool_call_id":"t1","tool_name":"ls","input":"{}","client_side":true},{"type":"tool_result","tool_call_id":"t1","tool_name":"ls","output":"a \u003cb\u003e","is_error":true},{"type":"text","text":"done"}],"usage":{"input_tokens":1,"output_tokens":2,"cache_read_tokens":0,"cache_write_tokens":0,"reasoning_tokens":0},"cost_micros":12,"model_config_id":"mc","api_key_id":"k1","created_by":"u1","summary_through_seq":2,"created_at":"2030-01-02T03:04:05.6Z"}`,
		},
		{
			name: "message, interrupted",
			v: chat.ViewMessage(store.Message{
				ID: "m3", ChatID: "c1", Seq: 4, Role: store.RoleAssistant, Parts: []store.Part{{Type: store.PartText, Text: "Hel"}},
				ModelConfigID: "mc", EndReason: store.EndInterrupted, CreatedAt: u0,
			}),
			want: `{"id":"m3","chat_id":"c1","seq":4,"role":"assistant","parts":[{"type":"text","text":"Hel"}],"model_config_id":"mc","end_reason":"interrupted","created_at":"2030-01-02T03:04:05.6Z"}`,
		},
		{
			name: "message, bare",
			v:    chat.ViewMessage(store.Message{ID: "m2", ChatID: "c1", Seq: 1, Role: store.RoleUser, CreatedAt: t0}),
			want: `{"id":"m2","chat_id":"c1","seq":1,"role":"user","parts":[],"created_at":"2030-01-02T04:04:05.6+01:00"}`,
		},
		{
			name: "queued",
			v:    chat.ViewQueued(store.QueuedMessage{ID: "q1", ChatID: "c1", Position: 2, Parts: []store.Part{{Type: store.PartText, Text: "next"}}, APIKeyID: "k1", CreatedBy: "u1", CreatedAt: u0}),
			want: `{"id":"q1","position":2,"parts":[{"type":"text","text":"next"}],"api_key_id":"k1","created_by":"u1","created_at":"2030-01-02T03:04:05.6Z"}`,
		},
		{
			name: "queued, bare",
			v:    chat.ViewQueued(store.QueuedMessage{ID: "q2", CreatedAt: u0}),
			want: `{"id":"q2","position":0,"parts":[],"created_at":"2030-01-02T03:04:05.6Z"}`,
		},
		{
			name: "chat with queue",
			v:    wire.ChatWithQueue{Chat: chat.ViewChat(store.Chat{ID: "c1", Status: store.ChatRunning, CreatedAt: u0, UpdatedAt: u0}), Queue: []wire.QueuedMessage{chat.ViewQueued(store.QueuedMessage{ID: "q1", CreatedAt: u0})}},
			want: `{"chat":{"id":"c1","owner_id":"","title":"","status":"running","archived":false,"model_config_id":"","snapshot_version":0,"debug":null,"created_at":"2030-01-02T03:04:05.6Z","updated_at":"2030-01-02T03:04:05.6Z"},"queue":[{"id":"q1","position":0,"parts":[],"created_at":"2030-01-02T03:04:05.6Z"}]}`,
		},
		{
			name: "send result, queued",
			v:    wire.SendResult{Chat: chat.ViewChat(store.Chat{ID: "c1", Status: store.ChatRunning, CreatedAt: u0, UpdatedAt: u0}), Queued: ptr(chat.ViewQueued(store.QueuedMessage{ID: "q1", Position: 1, CreatedAt: u0}))},
			want: `{"chat":{"id":"c1","owner_id":"","title":"","status":"running","archived":false,"model_config_id":"","snapshot_version":0,"debug":null,"created_at":"2030-01-02T03:04:05.6Z","updated_at":"2030-01-02T03:04:05.6Z"},"queued":{"id":"q1","position":1,"parts":[],"created_at":"2030-01-02T03:04:05.6Z"}}`,
		},
		{
			name: "send result, committed",
			v:    wire.SendResult{Chat: chat.ViewChat(store.Chat{ID: "c1", Status: store.ChatRunning, CreatedAt: u0, UpdatedAt: u0}), Message: ptr(chat.ViewMessage(store.Message{ID: "m1", ChatID: "c1", Seq: 1, Role: store.RoleUser, CreatedAt: u0}))},
			want: `{"chat":{"id":"c1","owner_id":"","title":"","status":"running","archived":false,"model_config_id":"","snapshot_version":0,"debug":null,"created_at":"2030-01-02T03:04:05.6Z","updated_at":"2030-01-02T03:04:05.6Z"},"message":{"id":"m1","chat_id":"c1","seq":1,"role":"user","parts":[],"created_at":"2030-01-02T03:04:05.6Z"}}`,
		},
		{
			name: "event, chat",
			v:    wire.Event{ID: "1.0.0.0", Type: wire.EventChat, Chat: ptr(chat.ViewChat(store.Chat{ID: "c1", Status: store.ChatWaiting, CreatedAt: u0, UpdatedAt: u0})), Queue: []wire.QueuedMessage{{ID: "dropped"}}},
			want: `{"id":"1.0.0.0","type":"chat","chat":{"id":"c1","owner_id":"","title":"","status":"waiting","archived":false,"model_config_id":"","snapshot_version":0,"debug":null,"created_at":"2030-01-02T03:04:05.6Z","updated_at":"2030-01-02T03:04:05.6Z"}}`,
		},
		{
			name: "event, empty queue",
			v:    wire.Event{ID: "1.1.0.0", Type: wire.EventQueue},
			want: `{"id":"1.1.0.0","type":"queue","queue":[]}`,
		},
		{
			name: "event, queue",
			v:    wire.Event{ID: "1.2.0.0", Type: wire.EventQueue, Queue: []wire.QueuedMessage{chat.ViewQueued(store.QueuedMessage{ID: "q1", CreatedAt: u0})}},
			want: `{"id":"1.2.0.0","type":"queue","queue":[{"id":"q1","position":0,"parts":[],"created_at":"2030-01-02T03:04:05.6Z"}]}`,
		},
		{
			name: "event, message",
			v:    wire.Event{ID: "1.2.3.0", Type: wire.EventMessage, Message: ptr(chat.ViewMessage(store.Message{ID: "m1", ChatID: "c1", Seq: 3, Role: store.RoleUser, Parts: []store.Part{{Type: store.PartText, Text: "hi"}}, CreatedAt: u0}))},
			want: `{"id":"1.2.3.0","type":"message","message":{"id":"m1","chat_id":"c1","seq":3,"role":"user","parts":[{"type":"text","text":"hi"}],"created_at":"2030-01-02T03:04:05.6Z"}}`,
		},
		{
			name: "event, text delta",
			v:    wire.Event{ID: "1.2.3.4", Type: wire.EventPart, Part: &wire.PartDelta{Kind: wire.PartTextDelta, Block: "b0", Delta: "Hel"}},
			want: `{"id":"1.2.3.4","type":"part","part":{"kind":"text_delta","block":"b0","delta":"Hel"}}`,
		},
		{
			name: "event, tool result delta",
			v:    wire.Event{ID: "1.2.3.5", Type: wire.EventPart, Part: &wire.PartDelta{Kind: wire.PartToolResult, ToolCallID: "t1", ToolName: "ls", Output: "x", IsError: true}},
			want: `{"id":"1.2.3.5","type":"part","part":{"kind":"tool_result","tool_call_id":"t1","tool_name":"ls","output":"x","is_error":true}}`,
		},
		{
			name: "event, tool call delta",
			v:    wire.Event{ID: "1.2.3.6", Type: wire.EventPart, Part: &wire.PartDelta{Kind: wire.PartToolCall, ToolCallID: "t1", ToolName: "ls", Input: "{}", ClientSide: true}},
			want: `{"id":"1.2.3.6","type":"part","part":{"kind":"tool_call","tool_call_id":"t1","tool_name":"ls","input":"{}","client_side":true}}`,
		},
		{
			name: "event, restart",
			v:    wire.Event{ID: "1.2.3.7", Type: wire.EventPart, Part: &wire.PartDelta{Kind: wire.PartRestart, Attempt: 2}},
			want: `{"id":"1.2.3.7","type":"part","part":{"kind":"restart","attempt":2}}`,
		},
		{
			name: "event, truncate",
			v:    wire.Event{Type: wire.EventTruncate, Truncate: &wire.Truncation{FromSeq: 4}},
			want: `{"type":"truncate","truncate":{"from_seq":4}}`,
		},
		{
			name: "event, heartbeat",
			v:    wire.Event{Type: wire.EventHeartbeat},
			want: `{"type":"heartbeat"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("JSON changed:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestJSONKeyAnswers pins the answers that carry a freshly issued key,
// down to their top-level member order.
func TestJSONKeyAnswers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, body := e.do("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": "alice-password"})
	if got := topKeys(t, body); got != "api_key,key,user" {
		t.Fatalf("login answer members %s, want api_key,key,user: %s", got, body)
	}
	_, body = e.do("POST", "/api/v1/keys", e.member, map[string]any{"name": "ci"})
	if got := topKeys(t, body); got != "api_key,key" {
		t.Fatalf("key answer members %s, want api_key,key: %s", got, body)
	}
	_, body = e.do("GET", "/api/v1/me", e.member, nil)
	if got := topKeys(t, body); got != "id,username,role,suspended,has_password,created_at,updated_at" {
		t.Fatalf("me answer members %s: %s", got, body)
	}
}

// topKeys lists the members of the JSON object b in order.
func topKeys(t *testing.T, b []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", b)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
	}
	return strings.Join(keys, ",")
}

func ptr[T any](v T) *T { return &v }
