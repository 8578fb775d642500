-- +goose Up
-- IDs are text: most are UUIDv7 strings made by the store, but API key IDs
-- come from the caller and lookups of malformed IDs must find nothing rather
-- than fail to parse.

CREATE TABLE users (
    id            text PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    role          text NOT NULL,
    suspended     boolean NOT NULL DEFAULT false,
    password_hash text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL DEFAULT '',
    kind         text NOT NULL,
    secret_hash  bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_user_id_created_at_idx ON api_keys (user_id, created_at DESC);

CREATE TABLE providers (
    id             text PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    type           text NOT NULL,
    base_url       text NOT NULL DEFAULT '',
    enabled        boolean NOT NULL,
    api_key_cipher bytea,
    api_key_hint   text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

CREATE TABLE models (
    id                text PRIMARY KEY,
    provider_id       text NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    model             text NOT NULL,
    display_name      text NOT NULL DEFAULT '',
    context_limit     bigint NOT NULL DEFAULT 0,
    price_input       double precision,
    price_output      double precision,
    price_cache_read  double precision,
    price_cache_write double precision,
    enabled           boolean NOT NULL,
    is_default        boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    UNIQUE (provider_id, model)
);
-- At most one default model, enforced by the database so that two replicas
-- setting a default at once cannot both win.
CREATE UNIQUE INDEX models_one_default_idx ON models (is_default) WHERE is_default;

CREATE TABLE user_provider_keys (
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider_id text NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    key_cipher  bytea NOT NULL,
    key_hint    text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, provider_id)
);
CREATE INDEX user_provider_keys_provider_id_idx ON user_provider_keys (provider_id);

-- interceptions is an audit log: it has no foreign keys so that records
-- outlive the users, keys, providers and chats they name.
CREATE TABLE interceptions (
    id                 text PRIMARY KEY,
    user_id            text NOT NULL DEFAULT '',
    api_key_id         text NOT NULL DEFAULT '',
    provider_name      text NOT NULL DEFAULT '',
    provider_type      text NOT NULL DEFAULT '',
    endpoint           text NOT NULL DEFAULT '',
    model              text NOT NULL DEFAULT '',
    streaming          boolean NOT NULL DEFAULT false,
    client             text NOT NULL DEFAULT '',
    user_agent         text NOT NULL DEFAULT '',
    chat_id            text NOT NULL DEFAULT '',
    subchat_id         text NOT NULL DEFAULT '',
    source             text NOT NULL DEFAULT '',
    credential_kind    text NOT NULL DEFAULT '',
    credential_hint    text NOT NULL DEFAULT '',
    status             integer NOT NULL DEFAULT 0,
    error              text NOT NULL DEFAULT '',
    started_at         timestamptz NOT NULL,
    ended_at           timestamptz,
    ttfb_ns            bigint NOT NULL DEFAULT 0,
    input_tokens       bigint NOT NULL DEFAULT 0,
    output_tokens      bigint NOT NULL DEFAULT 0,
    cache_read_tokens  bigint NOT NULL DEFAULT 0,
    cache_write_tokens bigint NOT NULL DEFAULT 0,
    reasoning_tokens   bigint NOT NULL DEFAULT 0,
    prompt             text NOT NULL DEFAULT '',
    tool_calls         jsonb,
    reasoning          text NOT NULL DEFAULT '',
    cost_micros        bigint
);
CREATE INDEX interceptions_started_at_idx ON interceptions (started_at DESC, id DESC);
CREATE INDEX interceptions_user_id_started_at_idx ON interceptions (user_id, started_at DESC, id DESC);
CREATE INDEX interceptions_chat_id_idx ON interceptions (chat_id) WHERE chat_id <> '';

CREATE TABLE settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE interceptions;
DROP TABLE user_provider_keys;
DROP TABLE models;
DROP TABLE providers;
DROP TABLE api_keys;
DROP TABLE users;
