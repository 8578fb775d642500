-- +goose Up
-- What a chat's model calls that left no message cost: a compaction
-- summary that failed after the provider reported its usage, or whose
-- commit was refused. A chat's cost is its messages' (soft-deleted ones
-- included) plus this, so it matches the gateway's records.
ALTER TABLE chats ADD COLUMN orphan_cost_micros bigint;
ALTER TABLE chats ADD COLUMN orphan_unpriced_calls bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE chats DROP COLUMN orphan_unpriced_calls;
ALTER TABLE chats DROP COLUMN orphan_cost_micros;
