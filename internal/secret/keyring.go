package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of an AES-256 key in bytes.
const KeySize = 32

const (
	sealVersion = 1
	keyIDLen    = 8 // bytes of SHA-256 of the key that name it
)

// ErrUnknownKey means a ciphertext was sealed with a key the keyring does
// not hold (a key was rotated out too early, or the wrong key was given).
var ErrUnknownKey = errors.New("ciphertext sealed with an unknown key")

// Keyring seals with its primary key and opens with any key it holds, so
// keys can be rotated: put the new key first and keep the old ones after
// it until everything is re-sealed.
//
// A Keyring is safe for concurrent use.
type Keyring struct {
	primary keyEntry
	byID    map[string]cipher.AEAD
}

type keyEntry struct {
	id   []byte
	aead cipher.AEAD
}

// NewKeyring builds a keyring from raw 32-byte keys; the first seals.
func NewKeyring(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("keyring needs at least one key")
	}
	kr := &Keyring{byID: make(map[string]cipher.AEAD, len(keys))}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("key %d is %d bytes, want %d", i+1, len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		sum := sha256.Sum256(k)
		id := sum[:keyIDLen]
		if i == 0 {
			kr.primary = keyEntry{id: id, aead: aead}
		}
		kr.byID[string(id)] = aead
	}
	return kr, nil
}

// ParseKeys parses a comma-separated list of base64 keys (standard or URL
// encoding, padded or not), as given in CHATD_SECRET_KEY. The first key
// seals; the rest only open.
func ParseKeys(s string) (*Keyring, error) {
	var keys [][]byte
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, err := decodeKey(part)
		if err != nil {
			return nil, fmt.Errorf("secret key %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("secret key is empty")
	}
	return NewKeyring(keys...)
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("decodes to %d bytes, want %d (generate one with: head -c 32 /dev/urandom | base64)", len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, errors.New("not valid base64")
}

// LoadOrCreateKeyFile reads the base64 key in path, or creates the file
// with a new random key and mode 0600 when it does not exist. created
// reports which happened.
func LoadOrCreateKeyFile(path string) (kr *Keyring, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		kr, err := ParseKeys(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, false, fmt.Errorf("read key file %s: %w", path, err)
		}
		return kr, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("read key file: %w", err)
	}
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, false, fmt.Errorf("generate key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("create key dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create key file: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, false, fmt.Errorf("write key file: %w", werr)
	}
	kr, err = NewKeyring(k)
	return kr, true, err
}

// PrimaryKeyID names the key that seals, as hex; safe to log.
func (kr *Keyring) PrimaryKeyID() string { return hex.EncodeToString(kr.primary.id) }

// Seal encrypts v. The result records which key sealed it:
// version byte, key id, nonce, ciphertext with tag.
func (kr *Keyring) Seal(v Value) ([]byte, error) {
	a := kr.primary.aead
	out := make([]byte, 0, 1+keyIDLen+a.NonceSize()+len(v.Reveal())+a.Overhead())
	out = append(out, sealVersion)
	out = append(out, kr.primary.id...)
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	out = append(out, nonce...)
	// The header is authenticated too, so a key id cannot be swapped.
	return a.Seal(out, nonce, []byte(v.Reveal()), out[:1+keyIDLen]), nil
}

// Open decrypts what Seal produced with any key of the keyring.
func (kr *Keyring) Open(sealed []byte) (Value, error) {
	if len(sealed) < 1+keyIDLen {
		return Value{}, errors.New("open: ciphertext too short")
	}
	if sealed[0] != sealVersion {
		return Value{}, fmt.Errorf("open: unknown ciphertext version %d", sealed[0])
	}
	a, ok := kr.byID[string(sealed[1:1+keyIDLen])]
	if !ok {
		return Value{}, fmt.Errorf("open: %w (key id %s)", ErrUnknownKey, hex.EncodeToString(sealed[1:1+keyIDLen]))
	}
	rest := sealed[1+keyIDLen:]
	if len(rest) < a.NonceSize()+a.Overhead() {
		return Value{}, errors.New("open: ciphertext too short")
	}
	plain, err := a.Open(nil, rest[:a.NonceSize()], rest[a.NonceSize():], sealed[:1+keyIDLen])
	if err != nil {
		return Value{}, fmt.Errorf("open: %w", err)
	}
	return New(string(plain)), nil
}

// NeedsReseal reports whether sealed was made with a key other than the
// primary one, so a rotation job can re-seal it.
func (kr *Keyring) NeedsReseal(sealed []byte) bool {
	return len(sealed) < 1+keyIDLen || string(sealed[1:1+keyIDLen]) != string(kr.primary.id)
}

// Len is how many distinct keys the keyring holds; more than one means a
// rotation is under way.
func (kr *Keyring) Len() int { return len(kr.byID) }

// Reseal returns sealed's value sealed with the primary key, or nil when
// the primary key sealed it already. The value never leaves the keyring.
// It fails like Open: a key the keyring does not hold is ErrUnknownKey.
func (kr *Keyring) Reseal(sealed []byte) ([]byte, error) {
	if !kr.NeedsReseal(sealed) {
		return nil, nil
	}
	v, err := kr.Open(sealed)
	if err != nil {
		return nil, err
	}
	return kr.Seal(v)
}
