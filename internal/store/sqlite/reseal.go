package sqlite

import (
	"context"
	"database/sql"

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
	return store.ResealPass(ctx, resealSource{db}, reseal, batch)
}

// resealSource is the SQLite SQL of a reseal pass.
type resealSource struct{ db *DB }

func (r resealSource) SealedSecrets(ctx context.Context, k store.SecretKind, after *store.SealedSecret, n int) ([]store.SealedSecret, error) {
	var a store.SealedSecret
	if after != nil {
		a = *after
	}
	if k == store.CentralKeys {
		rows, err := r.db.r.QueryContext(ctx, `
			SELECT id, name, api_key_cipher FROM providers
			WHERE id > ? AND length(api_key_cipher) > 0
			ORDER BY id LIMIT ?`, a.ProviderID, n)
		if err != nil {
			return nil, err
		}
		return collectSealed(rows, func(s *store.SealedSecret) []any { return []any{&s.ProviderID, &s.ProviderName, &s.Cipher} })
	}
	rows, err := r.db.r.QueryContext(ctx, `
		SELECT k.user_id, k.provider_id, p.name, k.key_cipher
		FROM user_provider_keys k JOIN providers p ON p.id = k.provider_id
		WHERE (k.user_id, k.provider_id) > (?, ?) AND length(k.key_cipher) > 0
		ORDER BY k.user_id, k.provider_id LIMIT ?`, a.UserID, a.ProviderID, n)
	if err != nil {
		return nil, err
	}
	return collectSealed(rows, func(s *store.SealedSecret) []any {
		return []any{&s.UserID, &s.ProviderID, &s.ProviderName, &s.Cipher}
	})
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

func (r resealSource) SwapCiphers(ctx context.Context, k store.SecretKind, swaps []store.CipherSwap) (int, error) {
	swapped := 0
	err := r.db.inTx(ctx, func(tx *sql.Tx) error {
		for _, w := range swaps {
			q, args := `UPDATE providers SET api_key_cipher = ? WHERE id = ? AND api_key_cipher = ?`, []any{w.Next, w.S.ProviderID, w.S.Cipher}
			if k == store.UserKeys {
				q, args = `UPDATE user_provider_keys SET key_cipher = ? WHERE user_id = ? AND provider_id = ? AND key_cipher = ?`, []any{w.Next, w.S.UserID, w.S.ProviderID, w.S.Cipher}
			}
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			swapped += int(n)
		}
		return nil
	})
	return swapped, err
}
