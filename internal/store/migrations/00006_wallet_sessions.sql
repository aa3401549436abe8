-- Wallet sessions: a customer's single-use, expiring way into the hosted
-- wallet page. Tender keeps only SHA-256 hashes of the link's token and of
-- the session cookie the link is exchanged for, so a database leak opens
-- no one's wallet.

-- +goose Up
CREATE TABLE wallet_sessions (
    platform_id   TEXT NOT NULL REFERENCES platforms (id),
    id            TEXT NOT NULL,
    customer_id   TEXT NOT NULL,
    return_url    TEXT NOT NULL,
    token_hash    TEXT NOT NULL,
    cookie_hash   TEXT,
    setup_count   INTEGER NOT NULL DEFAULT 0,
    expires_at    BIGINT NOT NULL,
    opened_at     BIGINT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id),
    FOREIGN KEY (platform_id, customer_id) REFERENCES customers (platform_id, id)
);
CREATE UNIQUE INDEX wallet_sessions_token ON wallet_sessions (token_hash);
CREATE UNIQUE INDEX wallet_sessions_cookie ON wallet_sessions (cookie_hash) WHERE cookie_hash IS NOT NULL;
-- A page reached without its cookie (expired, or cookies refused) is
-- found by its id alone, to offer the way back to the platform.
CREATE INDEX wallet_sessions_id ON wallet_sessions (id);

-- +goose Down
DROP TABLE wallet_sessions;
