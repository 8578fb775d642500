package gateway

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/llmtest"
	"github.com/chatd/chatd/internal/store"
)

// TestMetricsModelLabel: the model label was the caller's string, so any
// caller could mint series without bound. It is now a configured model's
// name, or "other".
func TestMetricsModelLabel(t *testing.T) {
	t.Parallel()
	f := llmtest.Load(t, "openai-chat/blocking-plain")
	up := llmtest.NewServer(t, f.Response(), f.Response())
	e := newEnv(t, envOptions{})
	p := e.addProvider("p", store.ProviderOpenAI, up.URL)
	if _, err := e.store.CreateModel(t.Context(), store.ModelConfig{ProviderID: p.ID, Model: "gpt-4o-mini", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	invented := bytes.Replace(f.Request, []byte(`"gpt-4o-mini"`), []byte(`"made-up-model-8d1f"`), 1)
	for _, body := range [][]byte{f.Request, invented} {
		if resp, b := e.do(http.MethodPost, "/gateway/p/v1/chat/completions", body, e.bearer()); resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
	}
	ins := e.records()
	m := e.metricsText()
	if strings.Contains(m, "made-up-model") {
		t.Fatalf("an unconfigured model name became a label:\n%s", m)
	}
	for _, want := range []string{`model="gpt-4o-mini"`, `model="other"`} {
		if !strings.Contains(m, want) {
			t.Fatalf("metrics lack %s:\n%s", want, m)
		}
	}
	// The record keeps what the caller asked for.
	var models []string
	for _, in := range ins {
		models = append(models, in.Model)
	}
	if !strings.Contains(strings.Join(models, ","), "made-up-model-8d1f") {
		t.Fatalf("record models = %v", models)
	}
}
