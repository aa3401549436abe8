-- How each platform reaches its Stripe account. Secrets (the secret key and
-- the webhook signing secrets) are sealed with the master key
-- (internal/secret): the database alone yields nothing that can charge a
-- card or forge a webhook. The default platform may instead take these from
-- the environment, in which case it has no row here.

-- +goose Up
CREATE TABLE platform_stripe (
    platform_id             TEXT PRIMARY KEY REFERENCES platforms (id),
    secret_key_sealed       TEXT NOT NULL,
    secret_key_hint         TEXT NOT NULL,
    publishable_key         TEXT NOT NULL DEFAULT '',
    client_id               TEXT NOT NULL DEFAULT '',
    webhook_secrets_sealed  TEXT NOT NULL DEFAULT '',
    api_base                TEXT NOT NULL DEFAULT '',
    connect_base            TEXT NOT NULL DEFAULT '',
    updated_at              BIGINT NOT NULL
);

-- +goose Down
DROP TABLE platform_stripe;
