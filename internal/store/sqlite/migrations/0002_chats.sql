-- Chats, their messages and their queues of messages waiting for the
-- running turn, plus the Responses API switch on model configs.
--
-- Times are INTEGER unix microseconds in UTC. JSON is stored as TEXT
-- exactly as the store wrote it, so provider metadata round-trips byte for
-- byte.

-- +goose Up
ALTER TABLE models ADD COLUMN use_responses_api INTEGER NOT NULL DEFAULT 0;

-- model_config_id has no foreign key: deleting a model config must not
-- delete or block the chats that used it.
CREATE TABLE chats (
    id               TEXT    PRIMARY KEY,
    owner_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title            TEXT    NOT NULL DEFAULT '',
    status           TEXT    NOT NULL,
    archived         INTEGER NOT NULL DEFAULT 0,
    model_config_id  TEXT    NOT NULL,
    parent_chat_id   TEXT    REFERENCES chats (id) ON DELETE CASCADE,
    root_chat_id     TEXT    NOT NULL DEFAULT '',
    api_key_id       TEXT    NOT NULL DEFAULT '',
    worker_id        TEXT    NOT NULL DEFAULT '',
    lease_expires_at INTEGER,
    snapshot_version INTEGER NOT NULL,
    last_error       TEXT    NOT NULL DEFAULT '',
    retry            TEXT,
    debug_override   INTEGER,
    client_tools     TEXT    NOT NULL DEFAULT 'null',
    action_deadline  INTEGER,
    -- last_seq is the per-chat message counter.
    last_seq         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX chats_runnable ON chats (status, lease_expires_at, updated_at)
    WHERE status IN ('running', 'interrupting');
CREATE INDEX chats_owner_updated ON chats (owner_id, updated_at DESC);
CREATE INDEX chats_parent ON chats (parent_chat_id);
CREATE INDEX chats_action_deadline ON chats (action_deadline) WHERE status = 'requires_action';

CREATE TABLE messages (
    id                 TEXT    PRIMARY KEY,
    chat_id            TEXT    NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    seq                INTEGER NOT NULL,
    role               TEXT    NOT NULL,
    parts              TEXT    NOT NULL,
    input_tokens       INTEGER NOT NULL DEFAULT 0,
    output_tokens      INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens  INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens   INTEGER NOT NULL DEFAULT 0,
    cost_micros        INTEGER,
    model_config_id    TEXT    NOT NULL DEFAULT '',
    api_key_id         TEXT    NOT NULL DEFAULT '',
    created_by         TEXT    NOT NULL DEFAULT '',
    deleted_at         INTEGER,
    created_at         INTEGER NOT NULL,
    UNIQUE (chat_id, seq)
) STRICT;

CREATE TABLE queued_messages (
    id         TEXT    PRIMARY KEY,
    chat_id    TEXT    NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    parts      TEXT    NOT NULL,
    api_key_id TEXT    NOT NULL DEFAULT '',
    created_by TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX queued_messages_chat_position ON queued_messages (chat_id, position);

-- +goose Down
DROP TABLE queued_messages;
DROP TABLE messages;
DROP TABLE chats;
ALTER TABLE models DROP COLUMN use_responses_api;
