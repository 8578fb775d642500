package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/chatd/chatd/internal/secret"
	"github.com/chatd/chatd/internal/store"
)

// resealTimeout bounds the re-seal pass at start. A deployment has a
// secret per provider and per user's own key, so the pass takes well under
// a second; the bound only keeps a stuck database from holding the start.
const resealTimeout = time.Minute

// resealSecrets finishes a secret-key rotation: while the keyring holds
// more than one key, it re-seals with the primary key every provider key
// and user's key still sealed with an older one, so that the older keys can
// be removed. It never fails the start: what it cannot do is logged and
// left for the next start. A secret no key opens is logged by provider and
// user, never by value, and left as it is.
//
// Each secret is swapped only if unchanged since it was read, so replicas
// starting together, or an admin replacing a key meanwhile, lose nothing.
func resealSecrets(ctx context.Context, st store.Store, kr *secret.Keyring, log *slog.Logger) {
	if kr.Len() < 2 {
		return
	}
	r, ok := st.(store.Resealer)
	if !ok {
		log.Warn("secret key rotation: this store cannot re-seal secrets; keep the older keys")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, resealTimeout)
	defer cancel()
	res, err := r.ResealSecrets(ctx, func(s store.SealedSecret) ([]byte, error) {
		next, err := kr.Reseal(s.Cipher)
		if err != nil {
			attrs := []any{"provider", s.ProviderName, "provider_id", s.ProviderID}
			if s.UserID != "" {
				attrs = append(attrs, "secret", "user provider key", "user_id", s.UserID)
			} else {
				attrs = append(attrs, "secret", "provider central key")
			}
			log.Warn("secret key rotation: no key opens this secret; left as it is, set it again", append(attrs, "err", err)...)
		}
		return next, err
	})
	attrs := []any{
		"key_id", kr.PrimaryKeyID(),
		"resealed", res.Resealed,
		"already_current", res.Current,
		"skipped", res.Skipped,
		"unreadable", res.Failed,
	}
	switch {
	case err != nil:
		log.Warn("secret key rotation: re-sealing stopped early; keep the older keys and check the next start", append(attrs, "err", err)...)
	case res.Skipped > 0:
		// Changed while the pass ran: by a replica that may still seal
		// with an older key.
		log.Warn("secret key rotation: re-sealed secrets with the primary key, but some changed meanwhile; keep the older keys and check the next start", attrs...)
	case res.Failed > 0:
		// No key of the ring opens them, so keeping the older keys does
		// not help them.
		log.Warn("secret key rotation: re-sealed secrets with the primary key; the unreadable ones must be set again; none readable is left under older keys, which may be removed once every replica runs with this key first", attrs...)
	default:
		log.Info("secret key rotation: re-sealed secrets with the primary key; none is left under older keys, which may be removed once every replica runs with this key first", attrs...)
	}
}
