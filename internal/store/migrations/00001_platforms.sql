-- Platforms, their API keys, and stored idempotent responses.
-- Portable SQL for SQLite and PostgreSQL: TEXT, BIGINT, BOOLEAN; times are
-- BIGINT microseconds since the Unix epoch (store.Time). Every table but
-- platforms starts with platform_id, and keys are (platform_id, id), so rows
-- of one platform can only ever reference rows of the same platform.

-- +goose Up
CREATE TABLE platforms (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    is_default  BOOLEAN NOT NULL DEFAULT FALSE,
    settings    TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX platforms_one_default ON platforms (is_default) WHERE is_default;

CREATE TABLE api_keys (
    platform_id  TEXT NOT NULL REFERENCES platforms (id),
    id           TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    mode         TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    hint         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    PRIMARY KEY (platform_id, id)
);
CREATE UNIQUE INDEX api_keys_secret_hash ON api_keys (secret_hash);

CREATE TABLE idempotency_keys (
    platform_id      TEXT NOT NULL REFERENCES platforms (id),
    idempotency_key  TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    method           TEXT NOT NULL,
    path             TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('in_progress', 'complete')),
    response_status  INTEGER,
    response_body    TEXT,
    locked_until     BIGINT,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    PRIMARY KEY (platform_id, idempotency_key)
);
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE api_keys;
DROP TABLE platforms;
