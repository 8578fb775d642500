package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/settings"
	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

// TestSettings changes user and deployment settings and reads them back,
// and through the settings package, with the user's value first.
func TestSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.createProvider("prov", "openai")
	_ = p
	ctx := context.Background()
	prov, err := e.db.GetProviderByName(ctx, "prov")
	if err != nil {
		t.Fatal(err)
	}
	m1, err := e.db.CreateModel(ctx, store.ModelConfig{ProviderID: prov.ID, Model: "m1", DisplayName: "m1", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := e.db.CreateModel(ctx, store.ModelConfig{ProviderID: prov.ID, Model: "m2", DisplayName: "m2", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}

	var us wire.UserSettings
	e.call("GET", "/api/v1/settings/me", e.member, nil, http.StatusOK, &us)
	if us.DebugRecording != nil || us.CompactionThresholdPercent != nil || len(us.Models) != 4 || us.Models["title"] != nil {
		t.Fatalf("fresh user settings %+v", us)
	}
	var ds wire.DeploymentSettings
	e.call("PATCH", "/api/v1/settings/deployment", e.admin, map[string]any{
		"debug_recording": true, "models": map[string]any{"subagent": m1.ID, "title": m1.ID}, "compaction_threshold_percent": 70,
	}, http.StatusOK, &ds)
	if !ds.DebugRecording || ds.DebugRecordingForced || ds.CompactionThresholdPercent != 70 || ds.Models["subagent"] == nil || *ds.Models["subagent"] != m1.ID {
		t.Fatalf("deployment settings %+v", ds)
	}
	e.call("PATCH", "/api/v1/settings/me", e.member, map[string]any{
		"debug_recording": false, "models": map[string]any{"subagent": m2.ID}, "compaction_threshold_percent": 50,
	}, http.StatusOK, &us)
	if us.DebugRecording == nil || *us.DebugRecording || *us.Models["subagent"] != m2.ID || *us.CompactionThresholdPercent != 50 {
		t.Fatalf("user settings %+v", us)
	}
	for _, tt := range []struct {
		kind, want string
	}{{settings.ModelSubagent, m2.ID}, {settings.ModelTitle, m1.ID}, {settings.ModelAdvisor, ""}} {
		id, ok, err := settings.ModelOverride(ctx, e.db, e.memberID, tt.kind)
		if err != nil || id != tt.want || ok != (tt.want != "") {
			t.Fatalf("ModelOverride(%s) = %q, %t, %v; want %q", tt.kind, id, ok, err, tt.want)
		}
	}
	if n, ok, _ := settings.CompactionThreshold(ctx, e.db, e.memberID); !ok || n != 50 {
		t.Fatalf("CompactionThreshold = %d, %t; want 50", n, ok)
	}
	e.call("PATCH", "/api/v1/settings/me", e.member, map[string]any{"models": map[string]any{"subagent": nil}, "compaction_threshold_percent": nil}, http.StatusOK, &us)
	if us.Models["subagent"] != nil || us.CompactionThresholdPercent != nil || us.DebugRecording == nil {
		t.Fatalf("after clearing: %+v", us)
	}
	if id, _, _ := settings.ModelOverride(ctx, e.db, e.memberID, settings.ModelSubagent); id != m1.ID {
		t.Fatalf("cleared user override: %q, want the deployment's %q", id, m1.ID)
	}
	e.call("PATCH", "/api/v1/settings/deployment", e.admin, map[string]any{"models": map[string]any{"subagent": nil}}, http.StatusOK, &ds)
	if ds.Models["subagent"] != nil || ds.Models["title"] == nil {
		t.Fatalf("after clearing the deployment's: %+v", ds)
	}
	if _, ok, _ := settings.ModelOverride(ctx, e.db, e.memberID, settings.ModelSubagent); ok {
		t.Fatal("override still set after both were cleared")
	}
	e.fail("GET", "/api/v1/settings/deployment", e.member, nil, http.StatusForbidden)
	e.fail("PATCH", "/api/v1/settings/deployment", e.member, map[string]any{"debug_recording": true}, http.StatusForbidden)
}

// TestSettingsBadInput: each bad value is a 400 naming its field, and
// nothing is written.
func TestSettingsBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createProvider("prov", "openai")
	ctx := context.Background()
	prov, err := e.db.GetProviderByName(ctx, "prov")
	if err != nil {
		t.Fatal(err)
	}
	off, err := e.db.CreateModel(ctx, store.ModelConfig{ProviderID: prov.ID, Model: "off", DisplayName: "off", Enabled: false})
	if err != nil {
		t.Fatal(err)
	}
	big := `{"models":{"title":"` + strings.Repeat("x", maxBody) + `"}}`
	tests := []struct {
		name, path, body string
		status           int
		field            string
	}{
		{"debug not bool", "/me", `{"debug_recording":"yes"}`, 400, "debug_recording"},
		{"unknown model kind", "/me", `{"models":{"boss":null}}`, 400, "models.boss"},
		{"model not a string", "/me", `{"models":{"title":5}}`, 400, "models.title"},
		{"unknown model", "/me", `{"models":{"title":"nope"}}`, 400, "models.title"},
		{"disabled model", "/me", `{"models":{"advisor":"` + off.ID + `"}}`, 400, "models.advisor"},
		{"percent zero", "/me", `{"compaction_threshold_percent":0}`, 400, "compaction_threshold_percent"},
		{"percent over", "/me", `{"compaction_threshold_percent":101}`, 400, "compaction_threshold_percent"},
		{"percent fraction", "/me", `{"compaction_threshold_percent":50.5}`, 400, "compaction_threshold_percent"},
		{"unknown field", "/me", `{"colour":"red"}`, 400, "colour"},
		{"forced on user", "/me", `{"debug_recording_forced":true}`, 400, "debug_recording_forced"},
		{"not an object", "/me", `[1]`, 400, "body"},
		{"models not an object", "/me", `{"models":"x"}`, 400, "models"},
		{"too large", "/me", big, 413, ""},
		{"deployment debug null", "/deployment", `{"debug_recording":null}`, 400, "debug_recording"},
		{"deployment forced", "/deployment", `{"debug_recording_forced":false}`, 400, "debug_recording_forced"},
		{"deployment percent", "/deployment", `{"compaction_threshold_percent":-1}`, 400, "compaction_threshold_percent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eb := e.fail("PATCH", "/api/v1/settings"+tt.path, e.admin, tt.body, tt.status)
			if !strings.Contains(eb.Error.Message, tt.field) {
				t.Fatalf("message %q does not name %q", eb.Error.Message, tt.field)
			}
		})
	}
	var us wire.UserSettings
	e.call("GET", "/api/v1/settings/me", e.admin, nil, http.StatusOK, &us)
	if us.DebugRecording != nil || us.CompactionThresholdPercent != nil || us.Models["advisor"] != nil {
		t.Fatalf("a refused PATCH wrote something: %+v", us)
	}
}
