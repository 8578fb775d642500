package gateway

import "testing"

func TestGuessClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ua, want string
	}{
		{"empty", "", ClientUnknown},
		{"claude code", "claude-cli/1.0.83 (external, cli)", ClientClaudeCode},
		{"codex", "codex_cli_rs/0.20.0 (Mac OS 15.5.0; arm64) iTerm.app/3.5.14", ClientCodex},
		{"openai go", "OpenAI/Go 3.50.0", ClientOpenAISDK},
		{"openai python", "OpenAI/Python 1.99.1", ClientOpenAISDK},
		{"anthropic go", "Anthropic/Go 1.84.0", ClientAnthropicSDK},
		{"anthropic js", "Anthropic/JS 0.60.0", ClientAnthropicSDK},
		{"fantasy", "Charm-Fantasy/0.41.2 (https://charm.land/fantasy)", ClientFantasy},
		{"chatd", "chatd/0.1.0", ClientChatd},
		{"curl", "curl/8.5.0", ClientOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := guessClient(tt.ua); got != tt.want {
				t.Fatalf("guessClient(%q) = %q, want %q", tt.ua, got, tt.want)
			}
		})
	}
}
