-- Merchants, the sellers of a platform, each with at most one connected
-- Stripe account, and the single-use links through which they connect it.
-- Only the account id is kept: no access or refresh token ever is.

-- +goose Up
CREATE TABLE merchants (
    platform_id          TEXT NOT NULL REFERENCES platforms (id),
    id                   TEXT NOT NULL,
    external_id          TEXT,
    name                 TEXT NOT NULL DEFAULT '',
    email                TEXT NOT NULL DEFAULT '',
    country              TEXT NOT NULL DEFAULT '',
    default_currency     TEXT NOT NULL DEFAULT '',
    metadata             TEXT NOT NULL DEFAULT '{}',
    account_id           TEXT,
    account_type         TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL DEFAULT 'not_connected',
    charges_enabled      BOOLEAN NOT NULL DEFAULT FALSE,
    payouts_enabled      BOOLEAN NOT NULL DEFAULT FALSE,
    details_submitted    BOOLEAN NOT NULL DEFAULT FALSE,
    requirements         TEXT NOT NULL DEFAULT '{}',
    connected_at         BIGINT,
    status_checked_at    BIGINT,
    archived_at          BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id)
);
CREATE UNIQUE INDEX merchants_external_id ON merchants (platform_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX merchants_account ON merchants (platform_id, account_id);

CREATE TABLE connect_links (
    platform_id   TEXT NOT NULL REFERENCES platforms (id),
    id            TEXT NOT NULL,
    merchant_id   TEXT NOT NULL,
    type          TEXT NOT NULL CHECK (type IN ('standard', 'express')),
    return_url    TEXT NOT NULL,
    refresh_url   TEXT NOT NULL,
    token_hash    TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('created', 'opened', 'completed', 'failed')),
    nonce         TEXT,
    account_id    TEXT,
    result        TEXT NOT NULL DEFAULT '',
    expires_at    BIGINT NOT NULL,
    opened_at     BIGINT,
    finished_at   BIGINT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id),
    FOREIGN KEY (platform_id, merchant_id) REFERENCES merchants (platform_id, id)
);
CREATE UNIQUE INDEX connect_links_token ON connect_links (token_hash);
CREATE INDEX connect_links_merchant ON connect_links (platform_id, merchant_id, id);

-- +goose Down
DROP TABLE connect_links;
DROP TABLE merchants;
