package wire

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/secret"
)

const testKey = "ck1-s3cr3t"

func testSession() Session {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	return Session{
		NewKey: NewKey{Key: secret.New(testKey), APIKey: APIKey{ID: "ck1", Name: "n", Kind: "session", CreatedAt: at, ExpiresAt: &at}},
		User:   User{ID: "u1", Username: "ada", Role: "member", HasPassword: true, CreatedAt: at, UpdatedAt: at},
	}
}

// TestKeyJSON pins the answers that carry a freshly issued key: the key
// revealed, members in the order the server has always written them.
func TestKeyJSON(t *testing.T) {
	t.Parallel()
	s := testSession()
	const apiKey = `{"id":"ck1","name":"n","kind":"session","created_at":"2030-01-02T03:04:05Z","expires_at":"2030-01-02T03:04:05Z","last_used_at":null,"revoked_at":null}`
	const user = `{"id":"u1","username":"ada","role":"member","suspended":false,"has_password":true,"created_at":"2030-01-02T03:04:05Z","updated_at":"2030-01-02T03:04:05Z"}`
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"new key", s.NewKey, `{"api_key":` + apiKey + `,"key":"` + testKey + `"}`},
		{"session", s, `{"api_key":` + apiKey + `,"key":"` + testKey + `","user":` + user + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if string(b) != tt.want {
				t.Fatalf("JSON:\n got %s\nwant %s", b, tt.want)
			}
		})
	}
}

func TestKeyJSONRoundTrip(t *testing.T) {
	t.Parallel()
	in := testSession()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Key.Reveal() != testKey || s.APIKey.ID != "ck1" || !s.APIKey.ExpiresAt.Equal(*in.APIKey.ExpiresAt) || s.User != in.User {
		t.Fatalf("session = %+v", s)
	}
	var k NewKey
	if err := json.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	if k.Key.Reveal() != testKey || k.APIKey.ID != "ck1" {
		t.Fatalf("new key = %+v", k)
	}
}

// TestKeyNotPrinted: only JSON reveals a key; fmt never does.
func TestKeyNotPrinted(t *testing.T) {
	t.Parallel()
	s := testSession()
	for _, v := range []any{s, &s, s.NewKey, &s.NewKey} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, "s3cr3t") {
				t.Errorf("%s of %T leaks the key: %s", verb, v, out)
			}
		}
	}
}

func TestChatBusy(t *testing.T) {
	t.Parallel()
	for status, want := range map[string]bool{
		ChatWaiting: false, ChatRunning: true, ChatInterrupting: true, ChatRequiresAction: true, ChatError: false,
	} {
		if got := (Chat{Status: status}).Busy(); got != want {
			t.Errorf("Busy() of %s = %v, want %v", status, got, want)
		}
	}
}

func TestMessageText(t *testing.T) {
	t.Parallel()
	m := Message{Parts: []Part{{Type: PartText, Text: "a"}, {Type: "reasoning", Text: "r"}, {Type: "tool_call", Input: "{}"}, {Type: PartText, Text: "b"}}}
	if got := m.Text(); got != "ab" {
		t.Fatalf("Text() = %q, want ab", got)
	}
}
