package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"

	"github.com/chatd/chatd/internal/store"
)

// resealBatch is how many secrets a reseal pass reads, and then rewrites
// in one transaction, at a time: SQLite has one writer, and a long write
// transaction would stall every request that writes.
const resealBatch = 100

var _ store.Resealer = (*DB)(nil)

// ResealSecrets implements store.Resealer: providers' central keys first,
// then users' own keys.
func (db *DB) ResealSecrets(ctx context.Context, reseal store.ResealFunc) (store.ResealResult, error) {
	return db.resealSecrets(ctx, reseal, resealBatch)
}

func (db *DB) resealSecrets(ctx context.Context, reseal store.ResealFunc, batch int) (store.ResealResult, error) {
	var res store.ResealResult
	after := ""
	for {
		page, err := db.sealedProviderKeys(ctx, after, batch)
		if err != nil {
			return res, fmt.Errorf("reseal provider keys: %w", err)
		}
		if err := db.swapCiphers(ctx, resealPage(page, reseal, &res), &res,
			`UPDATE providers SET api_key_cipher = ? WHERE id = ? AND api_key_cipher = ?`,
			func(s store.SealedSecret) []any { return []any{s.ProviderID} }); err != nil {
			return res, fmt.Errorf("reseal provider keys: %w", err)
		}
		if len(page) < batch {
			break
		}
		after = page[len(page)-1].ProviderID
	}
	afterUser, afterProvider := "", ""
	for {
		page, err := db.sealedUserKeys(ctx, afterUser, afterProvider, batch)
		if err != nil {
			return res, fmt.Errorf("reseal user provider keys: %w", err)
		}
		if err := db.swapCiphers(ctx, resealPage(page, reseal, &res), &res,
			`UPDATE user_provider_keys SET key_cipher = ? WHERE user_id = ? AND provider_id = ? AND key_cipher = ?`,
			func(s store.SealedSecret) []any { return []any{s.UserID, s.ProviderID} }); err != nil {
			return res, fmt.Errorf("reseal user provider keys: %w", err)
		}
		if len(page) < batch {
			break
		}
		last := page[len(page)-1]
		afterUser, afterProvider = last.UserID, last.ProviderID
	}
	return res, nil
}

// sealedProviderKeys reads up to n central keys of providers whose id
// sorts after the given one.
func (db *DB) sealedProviderKeys(ctx context.Context, after string, n int) ([]store.SealedSecret, error) {
	rows, err := db.r.QueryContext(ctx, `
		SELECT id, name, api_key_cipher FROM providers
		WHERE id > ? AND length(api_key_cipher) > 0
		ORDER BY id LIMIT ?`, after, n)
	if err != nil {
		return nil, err
	}
	return collectSealed(rows, func(s *store.SealedSecret) []any { return []any{&s.ProviderID, &s.ProviderName, &s.Cipher} })
}

// sealedUserKeys reads up to n users' keys that sort after the given
// (user, provider).
func (db *DB) sealedUserKeys(ctx context.Context, afterUser, afterProvider string, n int) ([]store.SealedSecret, error) {
	rows, err := db.r.QueryContext(ctx, `
		SELECT k.user_id, k.provider_id, p.name, k.key_cipher
		FROM user_provider_keys k JOIN providers p ON p.id = k.provider_id
		WHERE (k.user_id, k.provider_id) > (?, ?) AND length(k.key_cipher) > 0
		ORDER BY k.user_id, k.provider_id LIMIT ?`, afterUser, afterProvider, n)
	if err != nil {
		return nil, err
	}
	return collectSealed(rows, func(s *store.SealedSecret) []any { return []any{&s.UserID, &s.ProviderID, &s.ProviderName, &s.Cipher} })
}

// collectSealed reads every row before returning, so that reseal, which
// may write, never runs while a read is open.
func collectSealed(rows *sql.Rows, dest func(*store.SealedSecret) []any) ([]store.SealedSecret, error) {
	defer rows.Close()
	var out []store.SealedSecret
	for rows.Next() {
		var s store.SealedSecret
		if err := rows.Scan(dest(&s)...); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// cipherSwap replaces s.Cipher with next, if it is still s.Cipher.
type cipherSwap struct {
	s    store.SealedSecret
	next []byte
}

// resealPage asks reseal about each secret of page, counts the ones that
// are current or failed, and returns the ones to rewrite.
func resealPage(page []store.SealedSecret, reseal store.ResealFunc, res *store.ResealResult) []cipherSwap {
	var swaps []cipherSwap
	for _, s := range page {
		next, err := reseal(s)
		switch {
		case err != nil:
			res.Failed++
		case next == nil || bytes.Equal(next, s.Cipher):
			res.Current++
		default:
			swaps = append(swaps, cipherSwap{s: s, next: next})
		}
	}
	return swaps
}

// swapCiphers runs update (new cipher, key columns from key, old cipher)
// for each swap in one write transaction, and counts a matched row as
// resealed and a missed one as skipped once it commits.
func (db *DB) swapCiphers(ctx context.Context, swaps []cipherSwap, res *store.ResealResult, update string, key func(store.SealedSecret) []any) error {
	if len(swaps) == 0 {
		return nil
	}
	swapped := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, w := range swaps {
			args := append(append([]any{w.next}, key(w.s)...), w.s.Cipher)
			r, err := tx.ExecContext(ctx, update, args...)
			if err != nil {
				return err
			}
			n, err := r.RowsAffected()
			if err != nil {
				return err
			}
			swapped += int(n)
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.Resealed += swapped
	res.Skipped += len(swaps) - swapped
	return nil
}
