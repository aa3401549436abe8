-- Payments and the fee policies that price them. A fee policy is never
-- changed in place: every change is a new version (a new row), so a
-- payment names the exact policy and version its fee came from. Removing a
-- merchant's override is also a version, with removed set, so the history
-- stays whole.

-- +goose Up
CREATE TABLE fee_policies (
    platform_id           TEXT NOT NULL REFERENCES platforms (id),
    id                    TEXT NOT NULL,
    -- '' for the platform's own policy, else the merchant it overrides for.
    merchant_id           TEXT NOT NULL DEFAULT '',
    version               INTEGER NOT NULL,
    rules                 TEXT NOT NULL DEFAULT '{}',
    stripe_fee_payer      TEXT NOT NULL,
    customer_covers_fees  BOOLEAN NOT NULL DEFAULT FALSE,
    removed               BOOLEAN NOT NULL DEFAULT FALSE,
    created_at            BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id)
);
-- Two concurrent changes cannot both become the same version.
CREATE UNIQUE INDEX fee_policies_version ON fee_policies (platform_id, merchant_id, version);

CREATE TABLE payments (
    platform_id                  TEXT NOT NULL REFERENCES platforms (id),
    id                           TEXT NOT NULL,
    merchant_id                  TEXT NOT NULL,
    customer_id                  TEXT NOT NULL,
    payment_method_id            TEXT NOT NULL,
    -- what the customer is charged, and what the platform asked for
    -- (they differ when the customer covers the fees)
    amount                       BIGINT NOT NULL,
    amount_requested             BIGINT NOT NULL,
    currency                     TEXT NOT NULL,
    application_fee              BIGINT NOT NULL,
    fee_policy_id                TEXT,
    fee_policy_version           INTEGER,
    charge_type                  TEXT NOT NULL,
    capture                      TEXT NOT NULL,
    off_session                  BOOLEAN NOT NULL DEFAULT FALSE,
    description                  TEXT NOT NULL DEFAULT '',
    statement_descriptor_suffix  TEXT NOT NULL DEFAULT '',
    reference                    TEXT NOT NULL DEFAULT '',
    metadata                     TEXT NOT NULL DEFAULT '{}',
    status                       TEXT NOT NULL,
    attempt                      INTEGER NOT NULL DEFAULT 1,
    account_id                   TEXT NOT NULL DEFAULT '',
    stripe_payment_intent_id     TEXT,
    failure_code                 TEXT NOT NULL DEFAULT '',
    decline_code                 TEXT NOT NULL DEFAULT '',
    failure_message              TEXT NOT NULL DEFAULT '',
    -- Stripe's own words for an invalid request, for the operator only.
    failure_detail               TEXT NOT NULL DEFAULT '',
    created_at                   BIGINT NOT NULL,
    updated_at                   BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id),
    FOREIGN KEY (platform_id, merchant_id) REFERENCES merchants (platform_id, id),
    FOREIGN KEY (platform_id, customer_id) REFERENCES customers (platform_id, id)
);
CREATE INDEX payments_merchant ON payments (platform_id, merchant_id, id);
CREATE INDEX payments_customer ON payments (platform_id, customer_id, id);

-- +goose Down
DROP TABLE payments;
DROP TABLE fee_policies;
