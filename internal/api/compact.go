package api

import (
	"errors"
	"net/http"

	"github.com/chatd/chatd/internal/chat"
)

// compactChat starts a manual compaction of an idle chat: 202 with the
// chat and its queue; the summary message follows on the chat's stream.
func (a *API) compactChat(w http.ResponseWriter, r *http.Request) error {
	c, err := a.ownChat(r)
	if err != nil {
		return err
	}
	c, err = a.chats.Compact(r.Context(), c.ID, principal(r).Key.ID)
	switch {
	case errors.Is(err, chat.ErrNothingToCompact):
		return errConflict("nothing to compact")
	case err != nil:
		return chatError("chat", err)
	}
	return a.writeChat(w, r, http.StatusAccepted, c)
}
