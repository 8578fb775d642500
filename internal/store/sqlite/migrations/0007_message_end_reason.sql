-- How an assistant message ended when it did not end normally:
-- 'interrupted' for a partial answer kept by an interrupt; '' otherwise.
-- No CHECK: SQLite cannot change one without rebuilding the table, and
-- the store writes only the values store.EndReason names.

-- +goose Up
ALTER TABLE messages ADD COLUMN end_reason TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE messages DROP COLUMN end_reason;
