// Package auth issues and checks chatd API keys and passwords.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/chatd/chatd/internal/secret"
)

// An API key reads "<id>-<secret>". The id is public (it names the key in
// listings and records); the secret carries 256 bits of entropy, so a plain
// SHA-256 of it is a safe verifier and no slow hash is needed per request.
const (
	keyIDPrefix  = "ck"
	keyIDRandLen = 10 // bytes, 16 base32 chars
	secretLen    = 32 // bytes
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// ErrMalformedKey means a presented key does not have the "<id>-<secret>"
// shape.
var ErrMalformedKey = errors.New("malformed API key")

// NewKey returns a fresh key id, the full key to hand out once, and the
// hash to store.
func NewKey() (id string, key secret.Value, hash []byte) {
	idb := make([]byte, keyIDRandLen)
	sec := make([]byte, secretLen)
	// crypto/rand.Read never returns an error (Go 1.24+).
	_, _ = rand.Read(idb)
	_, _ = rand.Read(sec)
	id = keyIDPrefix + strings.ToLower(idEncoding.EncodeToString(idb))
	s := base64.RawURLEncoding.EncodeToString(sec)
	return id, secret.New(id + "-" + s), HashSecret(s)
}

// SplitKey separates a presented key into its id and secret.
func SplitKey(key string) (id string, sec secret.Value, err error) {
	id, s, ok := strings.Cut(key, "-")
	if !ok || id == "" || s == "" || !strings.HasPrefix(id, keyIDPrefix) || len(id) > 64 {
		return "", secret.Value{}, ErrMalformedKey
	}
	return id, secret.New(s), nil
}

// LooksLikeKey reports whether s has the exact shape of a key NewKey
// makes: the id prefix and the base32 id, a dash, and the base64url
// secret. The gateway uses it to refuse a chatd key offered as a
// provider credential.
func LooksLikeKey(s string) bool {
	id, sec, ok := strings.Cut(s, "-")
	if !ok || len(id) != len(keyIDPrefix)+idEncoding.EncodedLen(keyIDRandLen) || !strings.HasPrefix(id, keyIDPrefix) ||
		len(sec) != base64.RawURLEncoding.EncodedLen(secretLen) {
		return false
	}
	for i := len(keyIDPrefix); i < len(id); i++ {
		if c := id[i]; !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	for i := 0; i < len(sec); i++ {
		if c := sec[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// HashSecret is the stored verifier of a key secret.
func HashSecret(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// secretMatches compares in constant time.
func secretMatches(sec secret.Value, hash []byte) bool {
	return subtle.ConstantTimeCompare(HashSecret(sec.Reveal()), hash) == 1
}
