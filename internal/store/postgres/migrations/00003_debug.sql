-- +goose Up
-- Debug recordings of model calls (runs, their steps, the HTTP attempts of
-- each step) and per-user settings. JSON is text, not jsonb, so recorded
-- requests and responses round-trip byte for byte. Durations are bigint
-- microseconds.

-- chat_id, root_chat_id and parent_chat_id have no foreign key: runs must
-- survive whichever of a chat and its runs is deleted first; chat cleanup
-- deletes them explicitly.
CREATE TABLE debug_runs (
    id              text PRIMARY KEY,
    kind            text NOT NULL,
    chat_id         text NOT NULL DEFAULT '',
    root_chat_id    text NOT NULL DEFAULT '',
    parent_chat_id  text NOT NULL DEFAULT '',
    message_id      text NOT NULL DEFAULT '',
    user_id         text NOT NULL DEFAULT '',
    model_config_id text NOT NULL DEFAULT '',
    provider        text NOT NULL DEFAULT '',
    model           text NOT NULL DEFAULT '',
    status          text NOT NULL,
    summary         text NOT NULL DEFAULT '',
    started_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    finished_at     timestamptz
);
CREATE INDEX debug_runs_chat_id_started_at_idx ON debug_runs (chat_id, started_at);
CREATE INDEX debug_runs_status_updated_at_idx ON debug_runs (status, updated_at);
CREATE INDEX debug_runs_started_at_idx ON debug_runs (started_at);

CREATE TABLE debug_steps (
    id          text PRIMARY KEY,
    run_id      text NOT NULL REFERENCES debug_runs (id) ON DELETE CASCADE,
    number      integer NOT NULL,
    operation   text NOT NULL DEFAULT '',
    status      text NOT NULL,
    request     text,
    response    text,
    error       text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    finished_at timestamptz,
    UNIQUE (run_id, number)
);

CREATE TABLE debug_attempts (
    id              text PRIMARY KEY,
    step_id         text NOT NULL REFERENCES debug_steps (id) ON DELETE CASCADE,
    number          integer NOT NULL,
    method          text NOT NULL DEFAULT '',
    url             text NOT NULL DEFAULT '',
    status          integer NOT NULL DEFAULT 0,
    request_header  text NOT NULL DEFAULT 'null',
    request_body    text NOT NULL DEFAULT '',
    response_header text NOT NULL DEFAULT 'null',
    response_body   text NOT NULL DEFAULT '',
    error           text NOT NULL DEFAULT '',
    started_at      timestamptz NOT NULL,
    duration_micros bigint NOT NULL DEFAULT 0,
    ttfb_micros     bigint NOT NULL DEFAULT 0
);
CREATE INDEX debug_attempts_step_id_number_idx ON debug_attempts (step_id, number);

CREATE TABLE user_settings (
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key        text NOT NULL,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

-- +goose Down
DROP TABLE user_settings;
DROP TABLE debug_attempts;
DROP TABLE debug_steps;
DROP TABLE debug_runs;
