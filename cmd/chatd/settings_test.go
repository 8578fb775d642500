package main

import (
	"encoding/json"
	"testing"
)

func TestSettingPatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key, value string
		want             string // JSON; "" means an error
	}{
		{"debug on", "debug_recording", "true", `{"debug_recording":true}`},
		{"debug inherit", "debug_recording", "null", `{"debug_recording":null}`},
		{"debug bad", "debug_recording", "maybe", ""},
		{"model", "models.title", "m-1", `{"models":{"title":"m-1"}}`},
		{"model clear", "models.subagent", "null", `{"models":{"subagent":null}}`},
		{"unknown model kind", "models.boss", "m-1", ""},
		{"percent", "compaction_threshold_percent", "75", `{"compaction_threshold_percent":75}`},
		{"percent bad", "compaction_threshold_percent", "150", ""},
		{"unknown key", "colour", "red", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := settingPatch(tt.key, tt.value)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("settingPatch = %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("settingPatch: %v", err)
			}
			b, _ := json.Marshal(got)
			if string(b) != tt.want {
				t.Fatalf("settingPatch = %s, want %s", b, tt.want)
			}
		})
	}
}
