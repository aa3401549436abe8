-- Customers of a platform and their wallet: the cards they saved (kept on
-- the platform's Stripe account), their consents for merchants to charge
-- them off-session, and the registry of each card's clones on merchants'
-- connected accounts. No card data is ever here: only Stripe's ids and
-- what Stripe shows of a card (brand, last four digits, expiry,
-- fingerprint).

-- +goose Up
CREATE TABLE customers (
    platform_id                TEXT NOT NULL REFERENCES platforms (id),
    id                         TEXT NOT NULL,
    external_id                TEXT,
    email                      TEXT NOT NULL DEFAULT '',
    name                       TEXT NOT NULL DEFAULT '',
    metadata                   TEXT NOT NULL DEFAULT '{}',
    stripe_customer_id         TEXT,
    default_payment_method_id  TEXT,
    archived_at                BIGINT,
    erase_after                BIGINT,
    erased_at                  BIGINT,
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id)
);
CREATE UNIQUE INDEX customers_external_id ON customers (platform_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX customers_erase_after ON customers (erase_after) WHERE erase_after IS NOT NULL;

CREATE TABLE payment_methods (
    platform_id               TEXT NOT NULL REFERENCES platforms (id),
    id                        TEXT NOT NULL,
    customer_id               TEXT NOT NULL,
    stripe_payment_method_id  TEXT NOT NULL,
    brand                     TEXT NOT NULL DEFAULT '',
    last4                     TEXT NOT NULL DEFAULT '',
    exp_month                 INTEGER NOT NULL DEFAULT 0,
    exp_year                  INTEGER NOT NULL DEFAULT 0,
    fingerprint               TEXT NOT NULL DEFAULT '',
    wallet                    TEXT NOT NULL DEFAULT '',
    status                    TEXT NOT NULL CHECK (status IN ('active', 'detached')),
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL,
    detached_at               BIGINT,
    PRIMARY KEY (platform_id, id),
    FOREIGN KEY (platform_id, customer_id) REFERENCES customers (platform_id, id)
);
CREATE UNIQUE INDEX payment_methods_stripe ON payment_methods (platform_id, stripe_payment_method_id);
CREATE UNIQUE INDEX payment_methods_fingerprint ON payment_methods (platform_id, customer_id, fingerprint)
    WHERE status = 'active' AND fingerprint <> '';

CREATE TABLE consents (
    platform_id        TEXT NOT NULL REFERENCES platforms (id),
    id                 TEXT NOT NULL,
    customer_id        TEXT NOT NULL,
    merchant_id        TEXT NOT NULL,
    payment_method_id  TEXT,
    scope              TEXT NOT NULL CHECK (scope IN ('off_session')),
    text_shown         TEXT NOT NULL,
    text_version       TEXT NOT NULL,
    ip                 TEXT NOT NULL DEFAULT '',
    user_agent         TEXT NOT NULL DEFAULT '',
    granted_at         BIGINT NOT NULL,
    revoked_at         BIGINT,
    revoked_reason     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (platform_id, id),
    FOREIGN KEY (platform_id, customer_id) REFERENCES customers (platform_id, id),
    FOREIGN KEY (platform_id, merchant_id) REFERENCES merchants (platform_id, id)
);
CREATE INDEX consents_customer ON consents (platform_id, customer_id, id);

CREATE TABLE clones (
    platform_id                  TEXT NOT NULL REFERENCES platforms (id),
    payment_method_id            TEXT NOT NULL,
    account_id                   TEXT NOT NULL,
    merchant_id                  TEXT NOT NULL,
    connected_customer_id        TEXT NOT NULL,
    connected_payment_method_id  TEXT NOT NULL,
    created_at                   BIGINT NOT NULL,
    PRIMARY KEY (platform_id, payment_method_id, account_id),
    FOREIGN KEY (platform_id, payment_method_id) REFERENCES payment_methods (platform_id, id)
);
CREATE INDEX clones_merchant ON clones (platform_id, merchant_id);

-- +goose Down
DROP TABLE clones;
DROP TABLE consents;
DROP TABLE payment_methods;
DROP TABLE customers;
