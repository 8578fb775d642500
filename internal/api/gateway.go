package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/chatd/chatd/internal/store"
	"github.com/chatd/chatd/internal/wire"
)

const (
	defaultLimit = 100
	maxLimit     = 500
)

// filter reads the query parameters shared by the gateway listings. Members
// are always narrowed to their own records; a member asking for someone
// else's gets matchNone, so the listing is empty.
func (a *API) filter(r *http.Request, paging bool) (f store.InterceptionFilter, matchNone bool, err error) {
	q := r.URL.Query()
	f.ProviderName = q.Get("provider")
	f.Model = q.Get("model")
	if f.Since, err = queryTime(q, "since"); err != nil {
		return f, false, err
	}
	if f.Until, err = queryTime(q, "until"); err != nil {
		return f, false, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return f, false, invalid("until", "must not be before since")
	}
	if paging {
		f.ChatID = q.Get("chat")
		if f.Before, err = queryTime(q, "before"); err != nil {
			return f, false, err
		}
		f.Limit = defaultLimit
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxLimit {
				return f, false, invalid("limit", "must be an integer from 1 to %d", maxLimit)
			}
			f.Limit = n
		}
	}
	if user := q.Get("user"); user != "" {
		// Accept a username or a user id.
		u, err := a.store.GetUserByUsername(r.Context(), user)
		switch {
		case err == nil:
			f.UserID = u.ID
		case errors.Is(err, store.ErrNotFound):
			f.UserID = user
		default:
			return f, false, fmt.Errorf("get user: %w", err)
		}
	}
	if p := principal(r); !p.IsAdmin() {
		if f.UserID != "" && f.UserID != p.User.ID {
			return f, true, nil
		}
		f.UserID = p.User.ID
	}
	return f, false, nil
}

func queryTime(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, invalid(name, "must be an RFC 3339 time")
	}
	return t.UTC(), nil
}

func (a *API) listInterceptions(w http.ResponseWriter, r *http.Request) error {
	f, none, err := a.filter(r, true)
	if err != nil {
		return err
	}
	var ins []store.Interception
	if !none {
		if ins, err = a.store.ListInterceptions(r.Context(), f); err != nil {
			return fmt.Errorf("list interceptions: %w", err)
		}
	}
	out := make([]wire.Interception, 0, len(ins))
	for _, in := range ins {
		out = append(out, viewInterception(in))
	}
	writeJSON(w, http.StatusOK, map[string]any{"interceptions": out})
	return nil
}

func (a *API) getInterception(w http.ResponseWriter, r *http.Request) error {
	in, err := a.store.GetInterception(r.Context(), r.PathValue("id"))
	p := principal(r)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !p.IsAdmin() && in.UserID != p.User.ID) {
		return errNotFound("interception")
	}
	if err != nil {
		return fmt.Errorf("get interception: %w", err)
	}
	writeJSON(w, http.StatusOK, viewInterception(in))
	return nil
}

func (a *API) usage(w http.ResponseWriter, r *http.Request) error {
	f, none, err := a.filter(r, false)
	if err != nil {
		return err
	}
	var rows []store.UsageRow
	if !none {
		if rows, err = a.store.UsageByDay(r.Context(), f); err != nil {
			return fmt.Errorf("usage by day: %w", err)
		}
	}
	names := map[string]string{}
	if len(rows) > 0 {
		us, err := a.store.ListUsers(r.Context())
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		for _, u := range us {
			names[u.ID] = u.Username
		}
	}
	out := make([]wire.UsageRow, 0, len(rows))
	for _, row := range rows {
		out = append(out, viewUsageRow(row, names[row.UserID]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"usage": out})
	return nil
}
