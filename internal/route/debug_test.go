package route

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/chatdebug"
	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

func (e *env) debugService(force bool) *chatdebug.Service {
	return chatdebug.New(chatdebug.Config{
		Runs: e.db, UserSettings: e.db, Settings: e.db,
		Clock: e.db.Now, Force: force, Logger: e.log,
	})
}

func (e *env) debugRouter(direct bool, up *llmtest.Server, d *chatdebug.Service) *Router {
	return New(Config{
		Store: e.db, Keyring: e.keyring, Gateway: e.gw,
		Direct: direct, AllowBYOK: true, DirectClient: up.Client(), Logger: e.log,
		Debug: d,
	})
}

// TestDebugRecorded records one streamed call through the gateway and
// directly, with the central key and a BYOK key, and checks the step, its
// usage and its HTTP attempt, which is the real provider exchange.
func TestDebugRecorded(t *testing.T) {
	t.Parallel()
	for _, direct := range []bool{false, true} {
		for _, byok := range []bool{false, true} {
			t.Run(fmt.Sprintf("direct=%t/byok=%t", direct, byok), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				f := llmtest.Load(t, "anthropic-messages/stream-plain")
				up := llmtest.NewServer(t, f.Response())
				p := e.addProvider("prov", store.ProviderAnthropic, up.URL)
				mc := e.addModel(p, "claude-x", nil)
				if byok {
					e.addUserKey(p, userKey)
				}
				dbg := e.debugService(false)
				on := true
				res, err := e.debugRouter(direct, up, dbg).Model(t.Context(), Request{
					UserID: e.user.ID, ModelConfigID: mc.ID, APIKeyID: e.keyID, ChatID: "chat-1",
					Debug: &DebugInfo{Override: &on, Kind: store.DebugKindChatTurn, ChatID: "chat-1", MessageID: "msg-1"},
				}, Options{})
				if err != nil {
					t.Fatalf("Model: %v", err)
				}
				if !res.Recorded || res.Run == nil {
					t.Fatalf("Recorded = %t, Run = %v; want a recorded model", res.Recorded, res.Run)
				}
				stream, err := res.Model.Stream(t.Context(), callHello())
				if err != nil {
					t.Fatalf("Stream: %v", err)
				}
				for part := range stream {
					if part.Type == fantasy.StreamPartTypeError {
						t.Fatalf("stream error: %v", part.Error)
					}
				}
				res.Run.Finish(t.Context(), store.DebugCompleted, "done")
				if err := dbg.Close(t.Context()); err != nil {
					t.Fatalf("close debug service: %v", err)
				}

				run, steps, err := e.db.GetDebugRun(t.Context(), res.Run.ID())
				if err != nil {
					t.Fatalf("GetDebugRun: %v", err)
				}
				if run.Status != store.DebugCompleted || run.Kind != store.DebugKindChatTurn || run.ChatID != "chat-1" ||
					run.MessageID != "msg-1" || run.UserID != e.user.ID || run.ModelConfigID != mc.ID || run.Provider != "prov" || run.Model != "claude-x" {
					t.Fatalf("run = %+v", run)
				}
				if len(steps) != 1 {
					t.Fatalf("got %d steps, want 1", len(steps))
				}
				st := steps[0]
				if st.Operation != chatdebug.OpStream || st.Status != store.DebugCompleted || st.Number != 1 {
					t.Fatalf("step = %+v", st)
				}
				if want := fmt.Sprintf(`"output_tokens":%d`, f.Expect.OutputTokens); !strings.Contains(string(st.Response), want) {
					t.Fatalf("step response %s lacks %s", st.Response, want)
				}
				if len(st.Attempts) != 1 {
					t.Fatalf("got %d attempts, want 1", len(st.Attempts))
				}
				a := st.Attempts[0]
				if a.URL != up.URL+"/v1/messages" || a.Status != 200 || a.Method != "POST" {
					t.Fatalf("attempt %s %s = %d, want POST %s/v1/messages = 200", a.Method, a.URL, a.Status, up.URL)
				}
				if a.ResponseBody == "" || a.RequestBody == "" {
					t.Fatalf("attempt bodies request %q response %q, want both", a.RequestBody, a.ResponseBody)
				}
				if got := a.RequestHeader.Get("X-Api-Key"); got != "[REDACTED]" {
					t.Fatalf("recorded X-Api-Key = %q, want [REDACTED]", got)
				}
				all, _ := json.Marshal(map[string]any{"run": run, "steps": steps})
				checkNoLeak(t, "debug recording", string(all), centralKey, userKey)
				checkNoLeak(t, "logs", e.logs.String(), centralKey, userKey)
			})
		}
	}
}

// TestDebugOff checks that an unrecorded model is exactly the routed one:
// no wrapper and no recording transport.
func TestDebugOff(t *testing.T) {
	t.Parallel()
	off := false
	tests := []struct {
		name  string
		debug bool // a Service in the Config
		info  *DebugInfo
	}{
		{name: "no service", info: &DebugInfo{Kind: store.DebugKindChatTurn, ChatID: "c"}},
		{name: "no info", debug: true},
		{name: "chat override off", debug: true, info: &DebugInfo{Override: &off, Kind: store.DebugKindChatTurn, ChatID: "c"}},
		{name: "inherits default off", debug: true, info: &DebugInfo{Kind: store.DebugKindChatTurn, ChatID: "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			resp := llmtest.Load(t, "openai-chat/blocking-plain").Response()
			up := llmtest.NewServer(t, resp, resp)
			p := e.addProvider("prov", store.ProviderOpenAI, up.URL)
			mc := e.addModel(p, "m", nil)
			var dbg *chatdebug.Service
			if tt.debug {
				dbg = e.debugService(false)
			}
			for _, direct := range []bool{false, true} {
				req := Request{UserID: e.user.ID, ModelConfigID: mc.ID, APIKeyID: e.keyID, Debug: tt.info}
				res, err := e.debugRouter(direct, up, dbg).Model(t.Context(), req, Options{})
				if err != nil {
					t.Fatalf("Model: %v", err)
				}
				req.Debug = nil
				plain, err := e.router(direct, up.Client()).Model(t.Context(), req, Options{})
				if err != nil {
					t.Fatalf("Model: %v", err)
				}
				if res.Recorded || res.Run != nil {
					t.Fatalf("direct=%t: Recorded = %t, Run = %v; want unrecorded", direct, res.Recorded, res.Run)
				}
				if reflect.TypeOf(res.Model) != reflect.TypeOf(plain.Model) {
					t.Fatalf("direct=%t: model is a %T, want the routed %T", direct, res.Model, plain.Model)
				}
				generate(t, res.Model)
			}
			runs, err := e.db.ListDebugRuns(t.Context(), "c", 0)
			if err != nil || len(runs) != 0 {
				t.Fatalf("ListDebugRuns = %d runs, %v; want none", len(runs), err)
			}
		})
	}
}

// TestDebugReuseRun checks that a later step of a turn records into the
// run it is given instead of starting another.
func TestDebugReuseRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	up := llmtest.NewServer(t, llmtest.Load(t, "openai-chat/blocking-plain").Response(), llmtest.Load(t, "openai-chat/blocking-plain").Response())
	p := e.addProvider("prov", store.ProviderOpenAI, up.URL)
	mc := e.addModel(p, "m", nil)
	dbg := e.debugService(true)
	r := e.debugRouter(false, up, dbg)
	req := Request{UserID: e.user.ID, ModelConfigID: mc.ID, APIKeyID: e.keyID,
		Debug: &DebugInfo{Kind: store.DebugKindChatTurn, ChatID: "c"}}
	first, err := r.Model(t.Context(), req, Options{})
	if err != nil || first.Run == nil {
		t.Fatalf("Model = %v, run %v; want a run (forced)", err, first.Run)
	}
	generate(t, first.Model)
	req.Debug.Run = first.Run
	second, err := r.Model(t.Context(), req, Options{})
	if err != nil || second.Run != first.Run {
		t.Fatalf("second Model = %v, run %v; want the first run", err, second.Run)
	}
	generate(t, second.Model)
	first.Run.Finish(context.WithoutCancel(t.Context()), store.DebugCompleted, "")
	if err := dbg.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	runs, err := e.db.ListDebugRuns(t.Context(), "c", 0)
	if err != nil || len(runs) != 1 {
		t.Fatalf("ListDebugRuns = %d, %v; want 1", len(runs), err)
	}
	_, steps, err := e.db.GetDebugRun(t.Context(), runs[0].ID)
	if err != nil || len(steps) != 2 || steps[1].Number != 2 {
		t.Fatalf("steps = %d, %v; want 2 numbered 1 and 2", len(steps), err)
	}
}
