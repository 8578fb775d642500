package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const canary = "sk-canary-0123456789abcdef"

func TestValueNeverPrints(t *testing.T) {
	t.Parallel()
	v := New(canary)
	holder := struct {
		Name string
		Key  Value
		Ptr  *Value
		key  Value
		ptr  *Value
	}{"p", v, &v, v, &v}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-20v", "%T"}
	for _, verb := range verbs {
		for _, arg := range []any{v, &v, holder, &holder, []Value{v}, map[string]Value{"k": v}} {
			if got := fmt.Sprintf(verb, arg); strings.Contains(got, canary) || strings.Contains(got, fmt.Sprintf("%x", canary)) {
				t.Errorf("Sprintf(%q, %T) = %q leaks the secret", verb, arg, got)
			}
		}
	}
	if got := fmt.Sprint(v); got != "<redacted>" {
		t.Errorf("Sprint = %q", got)
	}

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("msg", "key", v, "holder", holder, slog.Any("ptr", &v))
	}
	if strings.Contains(buf.String(), canary) {
		t.Errorf("slog leaks the secret: %s", buf.String())
	}

	j, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(j), canary) {
		t.Errorf("json leaks the secret: %s", j)
	}
	if v.Reveal() != canary {
		t.Errorf("Reveal = %q", v.Reveal())
	}
}

func TestHint(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"tiny", "abc", "…"},
		{"short", "abcdefgh", "…gh"},
		{"openai", "sk-abcdefghijklmnopqrstuvwxyz", "sk-a…wxyz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Hint(tt.in); got != tt.want {
				t.Errorf("Hint(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
