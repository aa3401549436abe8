-- A payment taken at a hosted checkout may have no Tender customer (a
-- walk-up payer at a shop counter): customer_id becomes nullable. Neither
-- SQLite nor the SQL both databases share can drop NOT NULL in place, so
-- the table is rebuilt (nothing references payments yet). source says
-- how the payment came: 'api' (POST /v1/payments, charged by Tender's
-- job with a saved card) or 'checkout' (confirmed by the payer in the
-- browser on a checkout link's page).

-- +goose Up
CREATE TABLE payments_new (
    platform_id                  TEXT NOT NULL REFERENCES platforms (id),
    id                           TEXT NOT NULL,
    merchant_id                  TEXT NOT NULL,
    customer_id                  TEXT,
    payment_method_id            TEXT NOT NULL,
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
    failure_detail               TEXT NOT NULL DEFAULT '',
    created_at                   BIGINT NOT NULL,
    updated_at                   BIGINT NOT NULL,
    key_try                      INTEGER NOT NULL DEFAULT 0,
    create_failed_at             BIGINT,
    amount_captured              BIGINT NOT NULL DEFAULT 0,
    op_try                       INTEGER NOT NULL DEFAULT 0,
    source                       TEXT NOT NULL DEFAULT 'api',
    PRIMARY KEY (platform_id, id),
    FOREIGN KEY (platform_id, merchant_id) REFERENCES merchants (platform_id, id),
    FOREIGN KEY (platform_id, customer_id) REFERENCES customers (platform_id, id)
);
INSERT INTO payments_new (platform_id, id, merchant_id, customer_id, payment_method_id, amount, amount_requested, currency,
    application_fee, fee_policy_id, fee_policy_version, charge_type, capture, off_session, description, statement_descriptor_suffix,
    reference, metadata, status, attempt, account_id, stripe_payment_intent_id, failure_code, decline_code, failure_message,
    failure_detail, created_at, updated_at, key_try, create_failed_at, amount_captured, op_try)
SELECT platform_id, id, merchant_id, customer_id, payment_method_id, amount, amount_requested, currency,
    application_fee, fee_policy_id, fee_policy_version, charge_type, capture, off_session, description, statement_descriptor_suffix,
    reference, metadata, status, attempt, account_id, stripe_payment_intent_id, failure_code, decline_code, failure_message,
    failure_detail, created_at, updated_at, key_try, create_failed_at, amount_captured, op_try
FROM payments;
DROP TABLE payments;
ALTER TABLE payments_new RENAME TO payments;
CREATE INDEX payments_merchant ON payments (platform_id, merchant_id, id);
CREATE INDEX payments_customer ON payments (platform_id, customer_id, id);
CREATE INDEX payments_unsettled ON payments (updated_at) WHERE status IN ('pending', 'processing');

-- +goose Down
DELETE FROM payments WHERE customer_id IS NULL;
CREATE TABLE payments_old (
    platform_id                  TEXT NOT NULL REFERENCES platforms (id),
    id                           TEXT NOT NULL,
    merchant_id                  TEXT NOT NULL,
    customer_id                  TEXT NOT NULL,
    payment_method_id            TEXT NOT NULL,
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
    failure_detail               TEXT NOT NULL DEFAULT '',
    created_at                   BIGINT NOT NULL,
    updated_at                   BIGINT NOT NULL,
    key_try                      INTEGER NOT NULL DEFAULT 0,
    create_failed_at             BIGINT,
    amount_captured              BIGINT NOT NULL DEFAULT 0,
    op_try                       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (platform_id, id),
    FOREIGN KEY (platform_id, merchant_id) REFERENCES merchants (platform_id, id),
    FOREIGN KEY (platform_id, customer_id) REFERENCES customers (platform_id, id)
);
INSERT INTO payments_old SELECT platform_id, id, merchant_id, customer_id, payment_method_id, amount, amount_requested, currency,
    application_fee, fee_policy_id, fee_policy_version, charge_type, capture, off_session, description, statement_descriptor_suffix,
    reference, metadata, status, attempt, account_id, stripe_payment_intent_id, failure_code, decline_code, failure_message,
    failure_detail, created_at, updated_at, key_try, create_failed_at, amount_captured, op_try
FROM payments;
DROP TABLE payments;
ALTER TABLE payments_old RENAME TO payments;
CREATE INDEX payments_merchant ON payments (platform_id, merchant_id, id);
CREATE INDEX payments_customer ON payments (platform_id, customer_id, id);
CREATE INDEX payments_unsettled ON payments (updated_at) WHERE status IN ('pending', 'processing');
