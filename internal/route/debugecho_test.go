package route

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/store"
)

// TestDebugEchoedKeyScrubbed has a provider answer 401 quoting, in its
// body and in a header, the credential it was sent, as real providers do
// ("Incorrect API key provided: sk-..."). The recording transport sits
// below the gateway in gateway mode, where the route only holds a
// placeholder, so the central key must still reach the run's scrubber.
func TestDebugEchoedKeyScrubbed(t *testing.T) {
	t.Parallel()
	for _, direct := range []bool{false, true} {
		for _, byok := range []bool{false, true} {
			t.Run(fmt.Sprintf("direct=%t/byok=%t", direct, byok), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					got := r.Header.Get("X-Api-Key")
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("X-Echo", got)
					w.WriteHeader(http.StatusUnauthorized)
					fmt.Fprintf(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key %s"}}`, got)
				}))
				t.Cleanup(up.Close)
				p := e.addProvider("prov", store.ProviderAnthropic, up.URL)
				mc := e.addModel(p, "claude-x", nil)
				if byok {
					e.addUserKey(p, userKey)
				}
				dbg := e.debugService(false)
				rt := New(Config{
					Store: e.db, Keyring: e.keyring, Gateway: e.gw,
					Direct: direct, AllowBYOK: true, DirectClient: up.Client(), Logger: e.log,
					Debug: dbg,
				})
				on := true
				res, err := rt.Model(t.Context(), Request{
					UserID: e.user.ID, ModelConfigID: mc.ID, APIKeyID: e.keyID, ChatID: "chat-1",
					Debug: &DebugInfo{Override: &on, Kind: store.DebugKindChatTurn, ChatID: "chat-1"},
				}, Options{})
				if err != nil {
					t.Fatalf("Model: %v", err)
				}
				if _, err := res.Model.Generate(t.Context(), callHello()); err == nil {
					t.Fatal("Generate succeeded against a 401")
				}
				res.Run.Finish(t.Context(), store.DebugError, "done")
				if err := dbg.Close(t.Context()); err != nil {
					t.Fatalf("close debug service: %v", err)
				}
				run, steps, err := e.db.GetDebugRun(t.Context(), res.Run.ID())
				if err != nil {
					t.Fatalf("GetDebugRun: %v", err)
				}
				if len(steps) != 1 || len(steps[0].Attempts) == 0 {
					t.Fatalf("got %d steps, want 1 with attempts", len(steps))
				}
				a := steps[0].Attempts[0]
				if a.Status != http.StatusUnauthorized || !strings.Contains(a.ResponseBody, "invalid x-api-key") {
					t.Fatalf("attempt %d %q, want the provider's 401 recorded", a.Status, a.ResponseBody)
				}
				all, _ := json.Marshal(map[string]any{"run": run, "steps": steps})
				checkNoLeak(t, "debug recording", string(all), centralKey, userKey)
			})
		}
	}
}
