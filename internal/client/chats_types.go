package client

import "github.com/chatd/chatd/internal/wire"

// CreateChatRequest starts a chat. Set Message or Parts.
type CreateChatRequest struct {
	Message string      `json:"message,omitempty"`
	Parts   []wire.Part `json:"parts,omitempty"`
	// Model is a model config id; empty is the default model.
	Model       string      `json:"model,omitempty"`
	Title       string      `json:"title,omitempty"`
	ClientTools []wire.Tool `json:"client_tools,omitempty"`
}

// UpdateChatRequest changes the non-nil fields of a chat.
type UpdateChatRequest struct {
	Title    *string `json:"title,omitempty"`
	Archived *bool   `json:"archived,omitempty"`
}

// Send modes.
const (
	SendQueue     = "queue"
	SendInterrupt = "interrupt"
)

// SendMessageRequest sends a message. Set Message or Parts. Mode is
// SendQueue (the default) or SendInterrupt.
type SendMessageRequest struct {
	Message string      `json:"message,omitempty"`
	Parts   []wire.Part `json:"parts,omitempty"`
	Mode    string      `json:"mode,omitempty"`
}

// EditMessageRequest replaces a user message. Set Message or Parts.
type EditMessageRequest struct {
	Message string      `json:"message,omitempty"`
	Parts   []wire.Part `json:"parts,omitempty"`
}
