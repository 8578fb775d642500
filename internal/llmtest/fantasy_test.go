package llmtest

import (
	"context"
	"testing"

	"charm.land/fantasy"
)

// streamWithFantasy streams one call through a fantasy model and returns
// the finish part, or the error part if the stream failed.
func streamWithFantasy(t *testing.T, m fantasy.LanguageModel) (finish *fantasy.StreamPart, failure error) {
	t.Helper()
	resp, err := m.Stream(context.Background(), fantasy.Call{
		Prompt: fantasy.Prompt{fantasy.NewUserMessage("hello")},
	})
	if err != nil {
		return nil, err
	}
	for part := range resp {
		switch part.Type {
		case fantasy.StreamPartTypeFinish:
			finish = &part
		case fantasy.StreamPartTypeError:
			failure = part.Error
		}
	}
	return finish, failure
}

// TestFixturesWithFantasy replays every streaming fixture to fantasy, which
// reports streams that do not end properly as errors; then replays each
// truncated and checks fantasy notices.
func TestFixturesWithFantasy(t *testing.T) {
	t.Parallel()
	for _, name := range Names() {
		f := Load(t, name)
		if !f.Streaming() {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := NewServer(t, f.Response())
			finish, err := streamWithFantasy(t, fantasyModel(t, f.API, s.URL, s.Client()))
			if err != nil {
				t.Fatalf("fantasy rejected the stream: %v", err)
			}
			if finish == nil {
				t.Fatalf("no finish part")
			}
			if finish.Usage.OutputTokens != f.Expect.OutputTokens || finish.Usage.CacheReadTokens != f.Expect.CacheReadTokens {
				t.Fatalf("usage %v, fixture expects %+v", finish.Usage, f.Expect)
			}
		})
		if len(f.Expect.ToolCalls) > 0 && f.API == "openai-chat" {
			// fantasy accepts a Chat Completions stream cut off in the
			// middle of a tool call (it only requires a finish_reason when
			// there is no tool call), so there is nothing to check.
			continue
		}
		t.Run(name+"/truncated", func(t *testing.T) {
			t.Parallel()
			r := f.Response()
			r.TruncateAfterEvents = 2
			s := NewServer(t, r)
			_, err := streamWithFantasy(t, fantasyModel(t, f.API, s.URL, s.Client()))
			if err == nil {
				t.Fatalf("fantasy accepted a truncated stream")
			}
		})
	}
}
