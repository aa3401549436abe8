-- Refunds of captured payments. payments.amount_refunded is what refunds
-- not failed have taken (a refund reserves its amount when accepted, in
-- the same statement that checks it fits, so two refunds racing cannot
-- return more than was captured). A refund's parts (the platform's fee
-- returned, each transfer reversed) are fixed before Stripe is called, so
-- a rerun sends the same amounts under the same keys; refund_reversals
-- holds a separate charge's reversals, one per paid transfer.

-- +goose Up
ALTER TABLE payments ADD COLUMN amount_refunded BIGINT NOT NULL DEFAULT 0;

CREATE TABLE refunds (
    platform_id           TEXT NOT NULL REFERENCES platforms (id),
    id                    TEXT NOT NULL,
    payment_id            TEXT NOT NULL,
    amount                BIGINT NOT NULL,
    currency              TEXT NOT NULL,
    reason                TEXT NOT NULL DEFAULT '',
    metadata              TEXT NOT NULL DEFAULT '{}',
    status                TEXT NOT NULL,
    -- the platform's fee given back with it; NULL until fixed
    fee_refunded          BIGINT,
    key_try               INTEGER NOT NULL DEFAULT 0,
    stripe_refund_id      TEXT,
    stripe_fee_refund_id  TEXT,
    failure_code          TEXT NOT NULL DEFAULT '',
    failure_detail        TEXT NOT NULL DEFAULT '',
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id),
    FOREIGN KEY (platform_id, payment_id) REFERENCES payments (platform_id, id)
);
CREATE INDEX refunds_payment ON refunds (platform_id, payment_id, id);
CREATE INDEX refunds_unsettled ON refunds (updated_at) WHERE status IN ('pending', 'processing');

CREATE TABLE refund_reversals (
    platform_id          TEXT NOT NULL,
    refund_id            TEXT NOT NULL,
    transfer_id          TEXT NOT NULL,
    amount               BIGINT NOT NULL,
    stripe_reversal_id   TEXT,
    PRIMARY KEY (platform_id, refund_id, transfer_id),
    FOREIGN KEY (platform_id, refund_id) REFERENCES refunds (platform_id, id),
    FOREIGN KEY (platform_id, transfer_id) REFERENCES transfers (platform_id, id)
);

-- +goose Down
DROP TABLE refund_reversals;
DROP TABLE refunds;
ALTER TABLE payments DROP COLUMN amount_refunded;
