-- Debug recordings of model calls (runs, their steps, the HTTP attempts of
-- each step) and per-user settings.
--
-- Times are INTEGER unix microseconds in UTC; durations are INTEGER
-- microseconds. JSON is stored as TEXT exactly as the store wrote it.

-- +goose Up

-- chat_id, root_chat_id and parent_chat_id have no foreign key: runs must
-- survive whichever of a chat and its runs is deleted first; chat cleanup
-- deletes them explicitly.
CREATE TABLE debug_runs (
    id              TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL,
    chat_id         TEXT    NOT NULL DEFAULT '',
    root_chat_id    TEXT    NOT NULL DEFAULT '',
    parent_chat_id  TEXT    NOT NULL DEFAULT '',
    message_id      TEXT    NOT NULL DEFAULT '',
    user_id         TEXT    NOT NULL DEFAULT '',
    model_config_id TEXT    NOT NULL DEFAULT '',
    provider        TEXT    NOT NULL DEFAULT '',
    model           TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,
    summary         TEXT    NOT NULL DEFAULT '',
    started_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    finished_at     INTEGER
) STRICT;

CREATE INDEX debug_runs_chat_started ON debug_runs (chat_id, started_at);
CREATE INDEX debug_runs_status_updated ON debug_runs (status, updated_at);
CREATE INDEX debug_runs_started ON debug_runs (started_at);

CREATE TABLE debug_steps (
    id          TEXT    PRIMARY KEY,
    run_id      TEXT    NOT NULL REFERENCES debug_runs (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    operation   TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL,
    request     TEXT,
    response    TEXT,
    error       TEXT    NOT NULL DEFAULT '',
    started_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    finished_at INTEGER,
    UNIQUE (run_id, number)
) STRICT;

CREATE TABLE debug_attempts (
    id              TEXT    PRIMARY KEY,
    step_id         TEXT    NOT NULL REFERENCES debug_steps (id) ON DELETE CASCADE,
    number          INTEGER NOT NULL,
    method          TEXT    NOT NULL DEFAULT '',
    url             TEXT    NOT NULL DEFAULT '',
    status          INTEGER NOT NULL DEFAULT 0,
    request_header  TEXT    NOT NULL DEFAULT 'null',
    request_body    TEXT    NOT NULL DEFAULT '',
    response_header TEXT    NOT NULL DEFAULT 'null',
    response_body   TEXT    NOT NULL DEFAULT '',
    error           TEXT    NOT NULL DEFAULT '',
    started_at      INTEGER NOT NULL,
    duration_micros INTEGER NOT NULL DEFAULT 0,
    ttfb_micros     INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX debug_attempts_step_number ON debug_attempts (step_id, number);

CREATE TABLE user_settings (
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE user_settings;
DROP TABLE debug_attempts;
DROP TABLE debug_steps;
DROP TABLE debug_runs;
