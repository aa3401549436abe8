-- Checkout links: a single-use, expiring URL to a Tender page where a
-- payer who is present takes out their card and pays an amount the
-- platform fixed. Tender keeps only the SHA-256 of the link's token. The
-- link is priced when it is made (the fee policy's version is kept, as
-- for payments), and its one payment (source 'checkout') is made when the
-- payer first presses Pay; payment_id is set once, by a conditional
-- UPDATE, so two tabs cannot make two. save_card and the consent_*
-- columns are what the payer agreed to when they ticked "save this
-- card", kept until the card is recorded in the wallet
-- (payment_method_id), whoever completes the payment: the page or the
-- job.
--
-- Authentication links: the page where a customer authenticates a
-- payment their bank held for authentication (requires_action). The
-- link's token is an HMAC of its id under the master key, so nothing
-- stored here opens it, and the API can show the URL on every read.
-- Neither table has a foreign key to payments, so a migration that
-- rebuilds payments (as 00012 did) need not rebuild these.

-- +goose Up
CREATE TABLE checkout_links (
    platform_id          TEXT NOT NULL REFERENCES platforms (id),
    id                   TEXT NOT NULL,
    merchant_id          TEXT NOT NULL,
    customer_id          TEXT,
    amount               BIGINT NOT NULL,
    amount_requested     BIGINT NOT NULL,
    currency             TEXT NOT NULL,
    application_fee      BIGINT NOT NULL,
    fee_policy_id        TEXT,
    fee_policy_version   INTEGER,
    description          TEXT NOT NULL DEFAULT '',
    reference            TEXT NOT NULL DEFAULT '',
    metadata             TEXT NOT NULL DEFAULT '{}',
    token_hash           TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('open', 'paid', 'expired', 'canceled')),
    payment_id           TEXT,
    save_card            BOOLEAN NOT NULL DEFAULT FALSE,
    consent_text         TEXT NOT NULL DEFAULT '',
    consent_version      TEXT NOT NULL DEFAULT '',
    consent_ip           TEXT NOT NULL DEFAULT '',
    consent_user_agent   TEXT NOT NULL DEFAULT '',
    payment_method_id    TEXT,
    intent_count         INTEGER NOT NULL DEFAULT 0,
    expires_at           BIGINT NOT NULL,
    paid_at              BIGINT,
    closed_at            BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id),
    FOREIGN KEY (platform_id, merchant_id) REFERENCES merchants (platform_id, id),
    FOREIGN KEY (platform_id, customer_id) REFERENCES customers (platform_id, id)
);
CREATE UNIQUE INDEX checkout_links_token ON checkout_links (token_hash);
CREATE UNIQUE INDEX checkout_links_payment ON checkout_links (platform_id, payment_id) WHERE payment_id IS NOT NULL;

CREATE TABLE payment_auth_links (
    platform_id  TEXT NOT NULL REFERENCES platforms (id),
    id           TEXT NOT NULL,
    payment_id   TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id)
);
-- The page finds a link by the id its signed token carries.
CREATE UNIQUE INDEX payment_auth_links_id ON payment_auth_links (id);
CREATE INDEX payment_auth_links_payment ON payment_auth_links (platform_id, payment_id, id);

-- +goose Down
DROP TABLE payment_auth_links;
DROP TABLE checkout_links;
