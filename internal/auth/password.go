package auth

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 8

// ErrWeakPassword means a password is too short or too long to hash.
var ErrWeakPassword = fmt.Errorf("password must be %d to 72 bytes long", MinPasswordLen)

// HashPassword returns a bcrypt hash of pw.
func HashPassword(pw string) (string, error) {
	if len(pw) < MinPasswordLen || len(pw) > 72 {
		return "", ErrWeakPassword
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether pw matches hash. An empty hash (a user
// without a password) never matches.
func CheckPassword(hash, pw string) bool {
	if hash == "" {
		// Spend the same time as a real comparison so that timing does not
		// tell which usernames exist.
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(pw))
		return false
	}
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw))
	return err == nil && !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword)
}

// dummyHash is a bcrypt hash of a random string, for constant-time misses.
var dummyHash = func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("chatd-no-such-user"), bcrypt.DefaultCost)
	return h
}()
