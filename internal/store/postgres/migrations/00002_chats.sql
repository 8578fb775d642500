-- +goose Up
-- Chats, their messages and their queues of messages waiting for the
-- running turn, plus the Responses API switch on model configs. JSON is
-- text, not jsonb, so provider metadata round-trips byte for byte.

ALTER TABLE models ADD COLUMN use_responses_api boolean NOT NULL DEFAULT false;

-- model_config_id has no foreign key: deleting a model config must not
-- delete or block the chats that used it.
CREATE TABLE chats (
    id               text PRIMARY KEY,
    owner_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title            text NOT NULL DEFAULT '',
    status           text NOT NULL,
    archived         boolean NOT NULL DEFAULT false,
    model_config_id  text NOT NULL,
    parent_chat_id   text REFERENCES chats (id) ON DELETE CASCADE,
    root_chat_id     text NOT NULL DEFAULT '',
    api_key_id       text NOT NULL DEFAULT '',
    worker_id        text NOT NULL DEFAULT '',
    lease_expires_at timestamptz,
    snapshot_version bigint NOT NULL,
    last_error       text NOT NULL DEFAULT '',
    retry            text,
    debug_override   boolean,
    client_tools     text NOT NULL DEFAULT 'null',
    action_deadline  timestamptz,
    -- last_seq is the per-chat message counter.
    last_seq         bigint NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX chats_runnable_idx ON chats (status, lease_expires_at, updated_at)
    WHERE status IN ('running', 'interrupting');
CREATE INDEX chats_owner_id_updated_at_idx ON chats (owner_id, updated_at DESC);
CREATE INDEX chats_parent_chat_id_idx ON chats (parent_chat_id);
CREATE INDEX chats_action_deadline_idx ON chats (action_deadline) WHERE status = 'requires_action';

CREATE TABLE messages (
    id                 text PRIMARY KEY,
    chat_id            text NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    seq                bigint NOT NULL,
    role               text NOT NULL,
    parts              text NOT NULL,
    input_tokens       bigint NOT NULL DEFAULT 0,
    output_tokens      bigint NOT NULL DEFAULT 0,
    cache_read_tokens  bigint NOT NULL DEFAULT 0,
    cache_write_tokens bigint NOT NULL DEFAULT 0,
    reasoning_tokens   bigint NOT NULL DEFAULT 0,
    cost_micros        bigint,
    model_config_id    text NOT NULL DEFAULT '',
    api_key_id         text NOT NULL DEFAULT '',
    created_by         text NOT NULL DEFAULT '',
    deleted_at         timestamptz,
    created_at         timestamptz NOT NULL,
    UNIQUE (chat_id, seq)
);

CREATE TABLE queued_messages (
    id         text PRIMARY KEY,
    chat_id    text NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    position   bigint NOT NULL,
    parts      text NOT NULL,
    api_key_id text NOT NULL DEFAULT '',
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);
CREATE INDEX queued_messages_chat_id_position_idx ON queued_messages (chat_id, position);

-- +goose Down
DROP TABLE queued_messages;
DROP TABLE messages;
DROP TABLE chats;
ALTER TABLE models DROP COLUMN use_responses_api;
