package store

import "context"

// Resealer is a store that can re-seal every secret it keeps (providers'
// central keys and users' own provider keys) after a secret-key rotation.
// Both backends implement it; callers find it by type assertion.
type Resealer interface {
	// ResealSecrets calls reseal once for each non-empty sealed secret, one
	// at a time, outside any transaction (reseal may itself use the store),
	// and stores what it returns in place of the old ciphertext.
	//
	// Each write is a compare-and-swap on the old ciphertext: a secret
	// replaced or deleted since it was read is left as it now is and
	// counted in Skipped. Writes do not change UpdatedAt, and rows are
	// read and written in small batches, so no write transaction is held
	// for long.
	//
	// The store only ever sees ciphertexts. An error from reseal leaves
	// that secret as it is, counts it in Failed and the pass goes on; the
	// returned error is the store's own (or ctx's), with the counts so far.
	ResealSecrets(ctx context.Context, reseal ResealFunc) (ResealResult, error)
}

// ResealFunc returns s's value sealed anew, or nil when s.Cipher is
// already sealed the way it should be.
type ResealFunc func(s SealedSecret) ([]byte, error)

// SealedSecret is one ciphertext a store holds, with what names it in a
// log line.
type SealedSecret struct {
	// UserID is empty for a provider's central key and is the owner of a
	// user's own provider key.
	UserID       string
	ProviderID   string
	ProviderName string
	// Cipher is the sealed value as stored.
	Cipher []byte
}

// ResealResult counts what a ResealSecrets pass did.
type ResealResult struct {
	// Resealed secrets were rewritten with what reseal returned.
	Resealed int
	// Current secrets were already sealed as they should be (reseal
	// returned nil).
	Current int
	// Skipped secrets changed or went away between read and write.
	Skipped int
	// Failed secrets made reseal return an error; they are unchanged.
	Failed int
}
