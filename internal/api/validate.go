package api

import (
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/store"
)

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

const (
	maxKeyName     = 100
	maxModelName   = 200
	maxDisplayName = 200
	// maxProviderKey bounds a provider credential; real ones are far
	// shorter.
	maxProviderKey = 4096
)

func validProviderName(field, name string) error {
	if name == "" {
		return invalid(field, "required")
	}
	if len(name) > store.MaxProviderName {
		return invalid(field, "at most %d characters", store.MaxProviderName)
	}
	if !store.ValidProviderName(name) {
		return invalid(field, "must match %s", store.ProviderNamePattern)
	}
	return nil
}

func validProviderType(t string) error {
	if t == "" {
		return invalid("type", "required")
	}
	if !store.ProviderType(t).Valid() {
		return invalid("type", "must be one of openai, anthropic, openai-compatible")
	}
	return nil
}

func validBaseURL(s string) error {
	if s == "" {
		return invalid("base_url", "required")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return invalid("base_url", "must not contain spaces or control characters")
	}
	u, err := url.ParseRequestURI(s)
	if err != nil {
		return invalid("base_url", "not a valid URL")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return invalid("base_url", "port %q is not from 1 to 65535", p)
		}
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return invalid("base_url", "must be an absolute http or https URL")
	case u.Host == "" || u.Hostname() == "":
		return invalid("base_url", "must have a host")
	case u.User != nil:
		return invalid("base_url", "must not contain credentials")
	case u.RawQuery != "" || u.ForceQuery:
		return invalid("base_url", "must not have a query")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return invalid("base_url", "must not have a fragment")
	}
	return nil
}

func validUsername(s string) error {
	if s == "" {
		return invalid("username", "required")
	}
	if !usernameRE.MatchString(s) {
		return invalid("username", "must match %s", usernameRE)
	}
	return nil
}

func validRole(s string) error {
	if !store.Role(s).Valid() {
		return invalid("role", "must be admin or member")
	}
	return nil
}

func validKeyName(field, s string) error {
	n := utf8.RuneCountInString(s)
	if n == 0 || strings.TrimSpace(s) == "" {
		return invalid(field, "required")
	}
	if n > maxKeyName {
		return invalid(field, "at most %d characters", maxKeyName)
	}
	return nil
}

// parseExpiry parses an optional RFC 3339 expiry that must lie ahead of now.
func parseExpiry(s *string, now time.Time) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return nil, invalid("expires_at", "must be an RFC 3339 time")
	}
	if !t.After(now) {
		return nil, invalid("expires_at", "must be in the future")
	}
	t = t.UTC()
	return &t, nil
}

func validPrices(p store.Prices) error {
	for _, f := range []struct {
		name string
		v    *float64
	}{
		{"prices.input", p.Input},
		{"prices.output", p.Output},
		{"prices.cache_read", p.CacheRead},
		{"prices.cache_write", p.CacheWrite},
	} {
		if f.v == nil {
			continue
		}
		if math.IsNaN(*f.v) || math.IsInf(*f.v, 0) || *f.v < 0 {
			return invalid(f.name, "must be a non-negative number")
		}
	}
	return nil
}

func validContextLimit(n int64) error {
	if n < 0 {
		return invalid("context_limit", "must be >= 0")
	}
	return nil
}

func validDisplayName(s string) error {
	if utf8.RuneCountInString(s) > maxDisplayName {
		return invalid("display_name", "at most %d characters", maxDisplayName)
	}
	return nil
}
