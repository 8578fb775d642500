package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/chatd/chatd/internal/store"
)

// resealBatch is how many secrets a reseal pass reads, and then rewrites
// in one transaction, at a time, so that no transaction stays open long.
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

// resealSource is the PostgreSQL SQL of a reseal pass.
type resealSource struct{ db *DB }

func (r resealSource) SealedSecrets(ctx context.Context, k store.SecretKind, after *store.SealedSecret, n int) ([]store.SealedSecret, error) {
	var a store.SealedSecret
	if after != nil {
		a = *after
	}
	if k == store.CentralKeys {
		rows, err := r.db.pool.Query(ctx, `
			SELECT id, name, api_key_cipher FROM providers
			WHERE id > $1 AND octet_length(api_key_cipher) > 0
			ORDER BY id LIMIT $2`, a.ProviderID, n)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SealedSecret, error) {
			var s store.SealedSecret
			err := r.Scan(&s.ProviderID, &s.ProviderName, &s.Cipher)
			return s, err
		})
	}
	rows, err := r.db.pool.Query(ctx, `
		SELECT k.user_id, k.provider_id, p.name, k.key_cipher
		FROM user_provider_keys k JOIN providers p ON p.id = k.provider_id
		WHERE (k.user_id, k.provider_id) > ($1, $2) AND octet_length(k.key_cipher) > 0
		ORDER BY k.user_id, k.provider_id LIMIT $3`, a.UserID, a.ProviderID, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SealedSecret, error) {
		var s store.SealedSecret
		err := r.Scan(&s.UserID, &s.ProviderID, &s.ProviderName, &s.Cipher)
		return s, err
	})
}

func (r resealSource) SwapCiphers(ctx context.Context, k store.SecretKind, swaps []store.CipherSwap) (int, error) {
	swapped := 0
	err := r.db.inTx(ctx, func(tx pgx.Tx) error {
		for _, w := range swaps {
			q, args := `UPDATE providers SET api_key_cipher = $1 WHERE id = $2 AND api_key_cipher = $3`, []any{w.Next, w.S.ProviderID, w.S.Cipher}
			if k == store.UserKeys {
				q, args = `UPDATE user_provider_keys SET key_cipher = $1 WHERE user_id = $2 AND provider_id = $3 AND key_cipher = $4`, []any{w.Next, w.S.UserID, w.S.ProviderID, w.S.Cipher}
			}
			tag, err := tx.Exec(ctx, q, args...)
			if err != nil {
				return err
			}
			swapped += int(tag.RowsAffected())
		}
		return nil
	})
	return swapped, err
}
