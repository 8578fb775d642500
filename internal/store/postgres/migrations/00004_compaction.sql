-- +goose Up
-- Compaction boundaries: a summary message records the last seq it
-- covers, so messages sent while it was written stay in the prompt.
ALTER TABLE messages ADD COLUMN summary_through_seq bigint;

-- +goose Down
ALTER TABLE messages DROP COLUMN summary_through_seq;
