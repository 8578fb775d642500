package chat

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"charm.land/fantasy"

	"github.com/chatd/chatd/internal/route"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		retryable bool
		msg       string
	}{
		{name: "429", err: &fantasy.ProviderError{StatusCode: 429, Message: "slow down"}, retryable: true, msg: "the model provider is rate limiting requests (429): slow down"},
		{name: "503", err: &fantasy.ProviderError{StatusCode: 503, Message: "overloaded"}, retryable: true, msg: "the model provider failed (503): overloaded"},
		{name: "400", err: &fantasy.ProviderError{StatusCode: 400, Message: "bad tool schema"}, msg: "the model provider refused the request (400): bad tool schema"},
		{name: "401", err: &fantasy.ProviderError{StatusCode: 401, Message: "invalid key"}, msg: "the model provider refused the credentials (401): invalid key; check the provider key or your API key"},
		{name: "broken stream", err: fantasy.NewIncompleteStreamError(), retryable: true, msg: "the model stream broke: unexpected EOF"},
		{name: "ended early", err: errIncompleteStream, retryable: true, msg: errIncompleteStream.Error()},
		{name: "network", err: fmt.Errorf("post: %w", io.ErrUnexpectedEOF), retryable: true, msg: "the model provider could not be reached: post: unexpected EOF"},
		{name: "unroutable", err: fmt.Errorf("%w: provider disabled", route.ErrUnroutable), msg: "the chat's model cannot be used: " + fmt.Errorf("%w: provider disabled", route.ErrUnroutable).Error()},
		{name: "other", err: errors.New("boom"), msg: "the model call failed: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := classify(tt.err)
			if got.Retryable != tt.retryable || got.Message != tt.msg {
				t.Fatalf("classify = %v %q, want %v %q", got.Retryable, got.Message, tt.retryable, tt.msg)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		attempt int
		want    time.Duration
	}{
		{name: "first", attempt: 1, want: time.Second},
		{name: "second", attempt: 2, want: 2 * time.Second},
		{name: "sixth", attempt: 6, want: 32 * time.Second},
		{name: "capped", attempt: 7, want: time.Minute},
		{name: "far", attempt: 40, want: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := backoff(tt.attempt, time.Second, time.Minute); got != tt.want {
				t.Fatalf("backoff(%d) = %s, want %s", tt.attempt, got, tt.want)
			}
		})
	}
}
