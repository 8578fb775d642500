package api

import (
	"net/http"
	"testing"

	"github.com/chatd/chatd/internal/wire"
)

// TestModelOptions sets, keeps and clears a model's Responses API switch
// and compaction threshold, and refuses the Responses API on Anthropic.
func TestModelOptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createProvider("oa", "openai")
	e.createProvider("an", "anthropic")

	var m wire.Model
	e.call("POST", "/api/v1/models", e.admin, map[string]any{"provider": "oa", "model": "o3", "use_responses_api": true, "compaction_threshold_percent": 60}, http.StatusCreated, &m)
	if !m.UseResponsesAPI || m.CompactionThresholdPercent == nil || *m.CompactionThresholdPercent != 60 {
		t.Fatalf("created %+v", m)
	}
	// A patch that does not name them leaves them alone.
	e.call("PATCH", "/api/v1/models/"+m.ID, e.admin, map[string]any{"display_name": "o3 (responses)"}, http.StatusOK, &m)
	if !m.UseResponsesAPI || m.CompactionThresholdPercent == nil || *m.CompactionThresholdPercent != 60 {
		t.Fatalf("after an unrelated patch %+v", m)
	}
	e.call("PATCH", "/api/v1/models/"+m.ID, e.admin, map[string]any{"compaction_threshold_percent": 90}, http.StatusOK, &m)
	if m.CompactionThresholdPercent == nil || *m.CompactionThresholdPercent != 90 {
		t.Fatalf("threshold = %v, want 90", m.CompactionThresholdPercent)
	}
	e.call("PATCH", "/api/v1/models/"+m.ID, e.admin, map[string]any{"compaction_threshold_percent": nil, "use_responses_api": false}, http.StatusOK, &m)
	if m.UseResponsesAPI || m.CompactionThresholdPercent != nil {
		t.Fatalf("after clearing %+v", m)
	}
	e.call("GET", "/api/v1/models/"+m.ID, e.admin, nil, http.StatusOK, &m)
	if m.UseResponsesAPI || m.CompactionThresholdPercent != nil {
		t.Fatalf("read back %+v", m)
	}

	var claude wire.Model
	e.call("POST", "/api/v1/models", e.admin, map[string]any{"provider": "an", "model": "claude-x"}, http.StatusCreated, &claude)
	e.fail("PATCH", "/api/v1/models/"+claude.ID, e.admin, map[string]any{"use_responses_api": true}, http.StatusBadRequest)
	e.fail("POST", "/api/v1/models", e.admin, map[string]any{"provider": "an", "model": "claude-y", "use_responses_api": true}, http.StatusBadRequest)
}
