package store

import (
	"bytes"
	"context"
	"fmt"
)

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

// SecretKind says which sealed secrets a ResealSource reads or writes.
type SecretKind int

// The kinds of sealed secret, in the order a pass visits them.
const (
	// CentralKeys are providers' central keys, ordered by provider id.
	CentralKeys SecretKind = iota
	// UserKeys are users' own provider keys, ordered by (user, provider).
	UserKeys
)

// CipherSwap replaces S.Cipher with Next, if it is still S.Cipher.
type CipherSwap struct {
	S    SealedSecret
	Next []byte
}

// ResealSource is a backend's SQL for ResealPass.
type ResealSource interface {
	// SealedSecrets reads up to n non-empty secrets of kind k that sort
	// after the one given (nil: from the start), all read before it
	// returns.
	SealedSecrets(ctx context.Context, k SecretKind, after *SealedSecret, n int) ([]SealedSecret, error)
	// SwapCiphers writes swaps of kind k in one transaction, each only
	// where the stored cipher is still the old one, and returns how many
	// rows matched.
	SwapCiphers(ctx context.Context, k SecretKind, swaps []CipherSwap) (int, error)
}

// ResealPass is ResealSecrets for a backend: it reads batch secrets at a
// time, asks reseal about each with no query open, and writes the new
// ciphertexts of a batch in one short transaction.
func ResealPass(ctx context.Context, src ResealSource, reseal ResealFunc, batch int) (ResealResult, error) {
	var res ResealResult
	for _, k := range []SecretKind{CentralKeys, UserKeys} {
		var after *SealedSecret
		for {
			page, err := src.SealedSecrets(ctx, k, after, batch)
			if err != nil {
				return res, fmt.Errorf("reseal %s: %w", k, err)
			}
			var swaps []CipherSwap
			for _, s := range page {
				next, err := reseal(s)
				switch {
				case err != nil:
					res.Failed++
				case next == nil || bytes.Equal(next, s.Cipher):
					res.Current++
				default:
					swaps = append(swaps, CipherSwap{S: s, Next: next})
				}
			}
			if len(swaps) > 0 {
				n, err := src.SwapCiphers(ctx, k, swaps)
				if err != nil {
					return res, fmt.Errorf("reseal %s: %w", k, err)
				}
				res.Resealed += n
				res.Skipped += len(swaps) - n
			}
			if len(page) < batch {
				break
			}
			after = &page[len(page)-1]
		}
	}
	return res, nil
}

func (k SecretKind) String() string {
	if k == CentralKeys {
		return "provider keys"
	}
	return "user provider keys"
}
