-- The first schema: users, API keys, providers, models, BYOK keys, the
-- gateway's interception log and settings. Later features (chats,
-- messages, debug runs) add 0002+ beside this file.
--
-- Times are INTEGER unix microseconds in UTC. Booleans are INTEGER 0/1.

-- +goose Up
CREATE TABLE users (
    id            TEXT    PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,
    suspended     INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id           TEXT    PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL DEFAULT '',
    kind         TEXT    NOT NULL,
    secret_hash  BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;

CREATE INDEX api_keys_user_created ON api_keys (user_id, created_at DESC);

CREATE TABLE providers (
    id             TEXT    PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    type           TEXT    NOT NULL,
    base_url       TEXT    NOT NULL DEFAULT '',
    enabled        INTEGER NOT NULL DEFAULT 0,
    api_key_cipher BLOB,
    api_key_hint   TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE models (
    id                TEXT    PRIMARY KEY,
    provider_id       TEXT    NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    model             TEXT    NOT NULL,
    display_name      TEXT    NOT NULL DEFAULT '',
    context_limit     INTEGER NOT NULL DEFAULT 0,
    price_input       REAL,
    price_output      REAL,
    price_cache_read  REAL,
    price_cache_write REAL,
    enabled           INTEGER NOT NULL DEFAULT 0,
    is_default        INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (provider_id, model)
) STRICT;

-- At most one default model; the store clears the old default first, this
-- index is the safety net.
CREATE UNIQUE INDEX models_one_default ON models (is_default) WHERE is_default = 1;

CREATE TABLE user_provider_keys (
    user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider_id TEXT    NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    key_cipher  BLOB    NOT NULL,
    key_hint    TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, provider_id)
) STRICT;

CREATE INDEX user_provider_keys_provider ON user_provider_keys (provider_id);

-- Interceptions are a log: no foreign keys, so records outlive the rows
-- they name.
CREATE TABLE interceptions (
    id                 TEXT    PRIMARY KEY,
    user_id            TEXT    NOT NULL DEFAULT '',
    api_key_id         TEXT    NOT NULL DEFAULT '',
    provider_name      TEXT    NOT NULL DEFAULT '',
    provider_type      TEXT    NOT NULL DEFAULT '',
    endpoint           TEXT    NOT NULL DEFAULT '',
    model              TEXT    NOT NULL DEFAULT '',
    streaming          INTEGER NOT NULL DEFAULT 0,
    client             TEXT    NOT NULL DEFAULT '',
    user_agent         TEXT    NOT NULL DEFAULT '',
    chat_id            TEXT    NOT NULL DEFAULT '',
    subchat_id         TEXT    NOT NULL DEFAULT '',
    source             TEXT    NOT NULL DEFAULT '',
    credential_kind    TEXT    NOT NULL DEFAULT '',
    credential_hint    TEXT    NOT NULL DEFAULT '',
    status             INTEGER NOT NULL DEFAULT 0,
    error              TEXT    NOT NULL DEFAULT '',
    started_at         INTEGER NOT NULL,
    ended_at           INTEGER,
    ttfb_micros        INTEGER NOT NULL DEFAULT 0,
    input_tokens       INTEGER NOT NULL DEFAULT 0,
    output_tokens      INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens  INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens   INTEGER NOT NULL DEFAULT 0,
    prompt             TEXT    NOT NULL DEFAULT '',
    tool_calls         TEXT,
    reasoning          TEXT    NOT NULL DEFAULT '',
    cost_micros        INTEGER
) STRICT;

CREATE INDEX interceptions_started ON interceptions (started_at DESC, id DESC);
CREATE INDEX interceptions_user_started ON interceptions (user_id, started_at DESC);
CREATE INDEX interceptions_chat_started ON interceptions (chat_id, started_at DESC) WHERE chat_id <> '';

CREATE TABLE settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE settings;
DROP TABLE interceptions;
DROP TABLE user_provider_keys;
DROP TABLE models;
DROP TABLE providers;
DROP TABLE api_keys;
DROP TABLE users;
