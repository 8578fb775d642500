-- +goose Up
-- How an assistant message ended when it did not end normally:
-- 'interrupted' for a partial answer kept by an interrupt; '' otherwise.
ALTER TABLE messages ADD COLUMN end_reason text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE messages DROP COLUMN end_reason;
