package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestServerRefusesBadFlags: values that would break every turn are
// refused before anything starts.
func TestServerRefusesBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--model-idle-timeout", "-1s"}, "--model-idle-timeout"},
		{[]string{"--model-idle-timeout", "0"}, "--model-idle-timeout"},
		{[]string{"--chat-workers", "0"}, "--chat-workers"},
		{[]string{"--gateway-retention-days", "-1"}, "--gateway-retention-days"},
	}
	for _, tt := range tests {
		cmd := newServerCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append([]string{"--data-dir", t.TempDir(), "--listen", "127.0.0.1:0"}, tt.args...))
		err := cmd.ExecuteContext(t.Context())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("%v: err = %v, want it to name %s", tt.args, err, tt.want)
		}
	}
}
