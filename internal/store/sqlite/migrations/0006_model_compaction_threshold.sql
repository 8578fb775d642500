-- A model config's own compaction threshold, in percent of its context
-- window (1 to 100); NULL inherits the deployment's. A user's setting
-- overrides it.

-- +goose Up
ALTER TABLE models ADD COLUMN compaction_threshold_percent INTEGER
    CHECK (compaction_threshold_percent BETWEEN 1 AND 100);

-- +goose Down
ALTER TABLE models DROP COLUMN compaction_threshold_percent;
