package secret

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	kr, err := NewKeyring(key(1))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := kr.Seal(New(canary))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(canary)) {
		t.Fatal("ciphertext contains the plaintext")
	}
	again, _ := kr.Seal(New(canary))
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of the same value are equal: nonce reuse")
	}
	got, err := kr.Open(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if got.Reveal() != canary {
		t.Fatalf("Open = %q", got.Reveal())
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	old, _ := NewKeyring(key(1))
	sealedOld, _ := old.Seal(New("old secret"))

	rotated, err := NewKeyring(key(2), key(1))
	if err != nil {
		t.Fatal(err)
	}
	got, err := rotated.Open(sealedOld)
	if err != nil || got.Reveal() != "old secret" {
		t.Fatalf("open old value after rotation: %q, %v", got.Reveal(), err)
	}
	if !rotated.NeedsReseal(sealedOld) {
		t.Fatal("value sealed with the old key should need resealing")
	}
	sealedNew, _ := rotated.Seal(New("new secret"))
	if rotated.NeedsReseal(sealedNew) {
		t.Fatal("value sealed with the primary key should not need resealing")
	}
	if _, err := old.Open(sealedNew); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old keyring opening new value: %v, want ErrUnknownKey", err)
	}
}

func TestReseal(t *testing.T) {
	t.Parallel()
	old, _ := NewKeyring(key(1))
	other, _ := NewKeyring(key(3))
	rotated, _ := NewKeyring(key(2), key(1))
	newOnly, _ := NewKeyring(key(2))
	if old.Len() != 1 || rotated.Len() != 2 {
		t.Fatalf("Len = %d, %d; want 1, 2", old.Len(), rotated.Len())
	}
	if dup, _ := NewKeyring(key(2), key(2)); dup.Len() != 1 {
		t.Fatalf("Len of a key given twice = %d, want 1", dup.Len())
	}

	sealedOld, _ := old.Seal(New(canary))
	resealed, err := rotated.Reseal(sealedOld)
	if err != nil || resealed == nil {
		t.Fatalf("Reseal old = %v, %v", resealed, err)
	}
	if bytes.Contains(resealed, []byte(canary)) {
		t.Fatal("resealed ciphertext contains the plaintext")
	}
	if v, err := newOnly.Open(resealed); err != nil || v.Reveal() != canary {
		t.Fatalf("new key alone opens resealed value: %v", err)
	}
	if again, err := rotated.Reseal(resealed); again != nil || err != nil {
		t.Fatalf("Reseal current = %v, %v; want nil, nil", again, err)
	}
	sealedOther, _ := other.Seal(New(canary))
	if _, err := rotated.Reseal(sealedOther); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Reseal under unknown key: %v, want ErrUnknownKey", err)
	}
	if _, err := rotated.Reseal([]byte{1, 2}); err == nil {
		t.Fatal("Reseal of a short ciphertext succeeded")
	}
}

func TestOpenRejectsTampering(t *testing.T) {
	t.Parallel()
	kr, _ := NewKeyring(key(1))
	sealed, _ := kr.Seal(New("value"))
	tests := []struct {
		name   string
		mutate func([]byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"short", func(b []byte) []byte { return b[:5] }},
		{"version", func(b []byte) []byte { b[0] = 9; return b }},
		{"key id", func(b []byte) []byte { b[1] ^= 1; return b }},
		{"body", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }},
		{"no tag", func(b []byte) []byte { return b[:1+keyIDLen+12] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.mutate(bytes.Clone(sealed))
			if _, err := kr.Open(b); err == nil {
				t.Fatal("tampered ciphertext opened")
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	k1 := base64.StdEncoding.EncodeToString(key(1))
	k2 := base64.RawURLEncoding.EncodeToString(key(2))
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"one", k1, ""},
		{"two with spaces", k1 + " , " + k2, ""},
		{"empty", " ", "empty"},
		{"not base64", "!!!", "base64"},
		{"wrong size", base64.StdEncoding.EncodeToString([]byte("short")), "32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeys(tt.in)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "secret.key")
	kr, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created {
		t.Fatalf("create: %v, created=%v", err, created)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, want 0600", fi.Mode().Perm())
	}
	sealed, _ := kr.Seal(New("x"))
	kr2, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created {
		t.Fatalf("load: %v, created=%v", err, created)
	}
	if v, err := kr2.Open(sealed); err != nil || v.Reveal() != "x" {
		t.Fatalf("reloaded keyring cannot open: %v", err)
	}
}
