package route

import (
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/store"
)

// TestEchoedKeyNotInError: a provider that refuses a key and quotes it
// back, plainly or in a gzip body, must not put the key into the error a
// model call returns (it becomes the chat's last error and a log line),
// in direct mode as through the gateway.
func TestEchoedKeyNotInError(t *testing.T) {
	t.Parallel()
	for _, direct := range []bool{false, true} {
		for _, byok := range []bool{false, true} {
			for _, gz := range []bool{false, true} {
				t.Run(fmt.Sprintf("direct=%t/byok=%t/gzip=%t", direct, byok, gz), func(t *testing.T) {
					t.Parallel()
					e := newEnv(t)
					up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
						w.Header().Set("Content-Type", "application/json")
						w.Header().Set("X-Echo", got)
						body := fmt.Sprintf(`{"error":{"message":"Incorrect API key provided: %s","type":"invalid_request_error","code":"invalid_api_key"}}`, got)
						if gz {
							w.Header().Set("Content-Encoding", "gzip")
							w.WriteHeader(http.StatusUnauthorized)
							zw := gzip.NewWriter(w)
							_, _ = zw.Write([]byte(body))
							_ = zw.Close()
							return
						}
						w.WriteHeader(http.StatusUnauthorized)
						_, _ = w.Write([]byte(body))
					}))
					t.Cleanup(up.Close)
					p := e.addProvider("prov", store.ProviderOpenAI, up.URL+"/v1")
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
					_, err = res.Model.Generate(t.Context(), callHello())
					if err == nil {
						t.Fatal("Generate succeeded against a 401")
					}
					if !strings.Contains(err.Error(), "Incorrect API key provided") {
						t.Fatalf("error %q lost the provider's message", err)
					}
					checkNoLeak(t, "error", err.Error(), centralKey, userKey)
					checkNoLeak(t, "error", fmt.Sprintf("%+v", err), centralKey, userKey)
					e.records()
					checkNoLeak(t, "logs", e.logs.String(), centralKey, userKey)
				})
			}
		}
	}
}
