package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/secret"
)

// TestCanary plants distinctive provider keys through the API and checks
// that they appear nowhere but in sealed form: not in logs, not in any
// answer, not in the database files.
func TestCanary(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tag := make([]byte, 12)
	_, _ = rand.Read(tag)
	central := "sk-CENTRALCANARY" + hex.EncodeToString(tag) + "-tail"
	byok := "sk-BYOKCANARY" + hex.EncodeToString(tag) + "-tail"
	rotated := "sk-ROTATEDCANARY" + hex.EncodeToString(tag) + "-tail"
	// The hints show the ends of a key, so look for the middles.
	needles := []string{
		strings.TrimSuffix(strings.TrimPrefix(central, "sk-"), "-tail"),
		strings.TrimSuffix(strings.TrimPrefix(byok, "sk-"), "-tail"),
		strings.TrimSuffix(strings.TrimPrefix(rotated, "sk-"), "-tail"),
	}

	var p providerJSON
	e.call("POST", "/api/v1/providers", e.admin, map[string]any{"name": "openai", "type": "openai", "base_url": "https://api.openai.com/v1", "api_key": central}, http.StatusCreated, &p)
	if !p.HasAPIKey || p.APIKeyHint != secret.Hint(central) {
		t.Fatalf("provider %+v", p)
	}
	e.call("PUT", "/api/v1/provider-keys/openai", e.member, map[string]any{"api_key": byok}, http.StatusOK, nil)
	e.call("PUT", "/api/v1/provider-keys/openai", e.admin, map[string]any{"api_key": byok}, http.StatusOK, nil)
	e.createProvider("second", "anthropic")
	e.call("PATCH", "/api/v1/providers/second", e.admin, map[string]any{"api_key": rotated}, http.StatusOK, nil)

	// Requests that fail while carrying the secrets.
	e.fail("POST", "/api/v1/providers", e.admin, map[string]any{"name": "openai", "type": "openai", "base_url": "https://x.example", "api_key": central}, http.StatusConflict)
	e.fail("POST", "/api/v1/providers", e.admin, map[string]any{"name": "Bad", "type": "openai", "base_url": "https://x.example", "api_key": central}, http.StatusBadRequest)
	e.fail("POST", "/api/v1/providers", e.member, map[string]any{"name": "evil", "type": "openai", "base_url": "https://x.example", "api_key": central}, http.StatusForbidden)
	e.fail("PUT", "/api/v1/provider-keys/openai", e.member, `{"api_key":"`+byok+`","extra":1}`, http.StatusBadRequest)
	e.fail("PUT", "/api/v1/provider-keys/openai", e.member, `{"api_key":"`+byok+`"} trailing`, http.StatusBadRequest)
	e.fail("PUT", "/api/v1/provider-keys/openai", e.member, `{"api_key":"`+byok, http.StatusBadRequest)
	e.fail("PUT", "/api/v1/provider-keys/nope", e.member, map[string]any{"api_key": byok}, http.StatusNotFound)
	e.fail("GET", "/api/v1/me", central, nil, http.StatusUnauthorized)
	e.fail("GET", "/api/v1/me", "ck"+byok, nil, http.StatusUnauthorized)

	// Every read endpoint that touches them.
	for _, key := range []string{e.admin, e.member} {
		e.do("GET", "/api/v1/providers", key, nil)
		e.do("GET", "/api/v1/providers/openai", key, nil)
		e.do("GET", "/api/v1/provider-keys", key, nil)
		e.do("GET", "/api/v1/models?all=true", key, nil)
		e.do("GET", "/api/v1/me", key, nil)
	}

	// The sealed forms are in the store and open to the keys.
	kr, err := secret.NewKeyring(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stored, err := e.db.GetProviderByName(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := kr.Open(stored.APIKeyCipher); err != nil || v.Reveal() != central {
		t.Fatalf("central key does not open to what was planted (err %v)", err)
	}
	pk, err := e.db.GetProviderKey(ctx, e.memberID, stored.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := kr.Open(pk.KeyCipher); err != nil || v.Reveal() != byok {
		t.Fatalf("BYOK key does not open to what was planted (err %v)", err)
	}

	check := func(where string, data []byte) {
		t.Helper()
		for _, n := range needles {
			for _, form := range []string{n, base64.StdEncoding.EncodeToString([]byte(n)), hex.EncodeToString([]byte(n))} {
				if bytes.Contains(data, []byte(form)) {
					t.Errorf("canary found in %s", where)
				}
			}
		}
	}
	e.mu.Lock()
	bodies := e.bodies
	e.mu.Unlock()
	if len(bodies) < 20 {
		t.Fatalf("only %d response bodies captured", len(bodies))
	}
	for i, b := range bodies {
		check(fmt.Sprintf("response body %d", i), []byte(b))
	}
	readFiles := func() {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			b, err := os.ReadFile(e.dbPath + suffix)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			check("database file chatd.db"+suffix, b)
		}
	}
	readFiles()
	// Closing checkpoints the WAL into the main file; look again.
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	readFiles()
	logs := e.logs.String()
	if !strings.Contains(logs, "provider created") {
		t.Fatalf("logs were not captured:\n%s", logs)
	}
	check("logs", []byte(logs))
}
