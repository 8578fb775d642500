package chatdebug

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
)

// Canary secrets; none may reach the store or the logs.
const (
	canaryCentral = "sk-central-CANARY-6f1d2c3b4a5e"
	canaryBYOK    = "sk-ant-byok-CANARY-9e8d7c6b5a4f"
	canaryChatd   = "0190a1b2-chatd-CANARY-secret-77aa"
)

var canaries = []string{canaryCentral, canaryBYOK, canaryChatd}

// plant is what an upstream-facing layer above the recorder might do: put
// every canary in headers, the URL and the body.
type plant struct{ next http.RoundTripper }

func (p plant) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+canaryCentral)
	req.Header.Set("X-Api-Key", canaryBYOK)
	req.Header.Set("X-Chatd-Governance-Token", canaryChatd)
	req.Header.Set("X-Trace", "caller="+canaryChatd)
	q := req.URL.Query()
	q.Set("key", canaryCentral)
	q.Set("note", canaryBYOK)
	req.URL.RawQuery = q.Encode()
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	b = bytes.Replace(b, []byte("{"), []byte(`{"api_key":"`+canaryCentral+`","metadata":{"user":"`+canaryChatd+`"},`), 1)
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.GetBody = nil
	req.ContentLength = int64(len(b))
	return p.next.RoundTrip(req)
}

// echoUpstream answers the first call with a 401 echoing the keys, and the
// next with a stream whose text carries them.
func echoUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("X-Echo", canaryCentral)
		w.Header().Add("Set-Cookie", "s="+canaryChatd)
		if calls == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s (byok %s)","type":"invalid_request_error","code":"invalid_api_key","token":%q}}`, canaryCentral, canaryBYOK, canaryChatd)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := func(s string) {
			fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", s)
		}
		chunk("your keys: " + canaryCentral)
		chunk(" and " + canaryBYOK + " and " + canaryChatd)
		fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12}}\n\n")
		fmt.Fprintf(w, ": ping %s\n\ndata: [DONE]\n\n", canaryBYOK)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCanary(t *testing.T) {
	t.Parallel()
	f := newFakeRuns()
	logs := &logRecorder{}
	s := New(Config{Runs: f, Clock: fixedClock(testNow()), Logger: slogOf(logs)})
	srv := echoUpstream(t)

	r := s.StartRun(context.Background(), testRun())
	r.AddSecrets(secret.New(canaryCentral), secret.New(canaryBYOK), secret.New(canaryChatd))
	client := &http.Client{Transport: plant{r.Transport(srv.Client().Transport)}}
	m := r.WrapModel(providerModel(t, "openai-chat", srv.URL, client, canaryBYOK))
	call := fantasy.Call{
		Prompt:  fantasy.Prompt{fantasy.NewUserMessage("my key is " + canaryBYOK + ", the central one " + canaryCentral)},
		Headers: map[string]string{"X-Chatd-Api-Key": canaryChatd},
	}

	if _, err := m.Generate(context.Background(), call); err == nil {
		t.Fatalf("Generate succeeded against a 401")
	}
	seq, err := m.Stream(context.Background(), call)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	var text strings.Builder
	for p := range seq {
		text.WriteString(p.Delta)
	}
	if !strings.Contains(text.String(), canaryBYOK) {
		t.Fatalf("the stream reaching the caller was altered: %q", text.String())
	}
	r.Finish(context.Background(), store.DebugError, "failed with "+canaryCentral)
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("close: %v", err)
	}

	_, steps, err := f.GetDebugRun(context.Background(), r.ID())
	if err != nil {
		t.Fatalf("get run: %v", err)
	}
	if len(steps) != 2 || len(steps[0].Attempts) != 1 || len(steps[1].Attempts) != 1 {
		t.Fatalf("want 2 steps of 1 attempt, got %+v", steps)
	}
	if steps[0].Status != store.DebugError || steps[0].Attempts[0].Status != http.StatusUnauthorized || steps[0].Error == "" {
		t.Fatalf("first step %q %d %q", steps[0].Status, steps[0].Attempts[0].Status, steps[0].Error)
	}
	if steps[1].Status != store.DebugCompleted || !strings.Contains(string(steps[1].Response), `"output_tokens":7`) {
		t.Fatalf("stream step %q %s", steps[1].Status, steps[1].Response)
	}
	if !strings.Contains(steps[1].Attempts[0].ResponseBody, "completion_tokens") {
		t.Fatalf("stream body not recorded: %q", steps[1].Attempts[0].ResponseBody)
	}
	all := dump(t, f) + strings.Join(logs.all(), "\n")
	for _, c := range canaries {
		if strings.Contains(all, c) {
			t.Fatalf("canary %q stored or logged:\n%s", c, all)
		}
		// Nor a recognisable piece of it.
		if strings.Contains(all, c[len(c)-12:]) {
			t.Fatalf("part of canary %q stored", c)
		}
	}
	if !strings.Contains(all, Redacted) {
		t.Fatalf("nothing redacted at all?")
	}
}
