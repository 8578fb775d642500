package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/store"
)

// brokenProviders fails every provider listing, as a broken disk would.
type brokenProviders struct {
	store.Store
}

var errDisk = errors.New("disk on fire at sector 7")

func (brokenProviders) ListProviders(context.Context) ([]store.Provider, error) {
	return nil, errDisk
}

func TestInternalErrorHidesCause(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{wrap: func(s store.Store) store.Store { return brokenProviders{s} }})
	for _, path := range []string{"/api/v1/providers", "/api/v1/models", "/api/v1/provider-keys"} {
		eb := e.fail("GET", path, e.admin, nil, http.StatusInternalServerError)
		if eb.Error.Code != "internal" || strings.Contains(eb.Error.Message, "disk") {
			t.Fatalf("GET %s: error %+v, want a generic internal error", path, eb.Error)
		}
	}
	if logs := e.logs.String(); !strings.Contains(logs, errDisk.Error()) {
		t.Fatalf("cause not logged:\n%s", logs)
	}
}

func TestToError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want int
		code string
	}{
		{"not found", store.ErrNotFound, 404, "not_found"},
		{"wrapped conflict", errors.Join(errors.New("insert"), store.ErrConflict), 409, "conflict"},
		{"too large", &http.MaxBytesError{Limit: 1}, 413, "too_large"},
		{"other", errors.New("boom"), 500, "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, _ := toError(tt.err)
			if e.Status != tt.want || e.Code != tt.code {
				t.Fatalf("toError(%v) = %d %s, want %d %s", tt.err, e.Status, e.Code, tt.want, tt.code)
			}
		})
	}
}
