package main

import (
	"strings"
	"testing"
)

func TestChatCompactCommand(t *testing.T) {
	t.Parallel()
	url, key := newChatServer(t)
	env := map[string]string{"CHATD_URL": url, "CHATD_API_KEY": key, "CHATD_CONFIG_DIR": t.TempDir()}

	_, errOut, err := execCLI(t, env, "", "chat", "first question")
	if err != nil {
		t.Fatalf("chatd chat: %v\nstderr: %s", err, errOut)
	}
	id, _ := strings.CutPrefix(strings.SplitN(errOut, "\n", 2)[0], "chat ")
	_, _, err = execCLI(t, env, "", "chat", "compact", id)
	if err == nil || !strings.Contains(err.Error(), "nothing to compact") {
		t.Fatalf("compact a short chat: %v", err)
	}
	mustCLI(t, env, "", "chat", "send", id, "second question")
	mustCLI(t, env, "", "chat", "send", id, "third question")
	out := mustCLI(t, env, "", "chat", "compact", id)
	if !strings.Contains(out, "Compacting chat "+id) {
		t.Fatalf("compact = %q", out)
	}
}
