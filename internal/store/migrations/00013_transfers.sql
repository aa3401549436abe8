-- A separate charge is made on the platform's account and its money moved
-- to merchants by transfers, one per split, each tied to the charge with
-- source_transaction. A transfer row is written with its payment, pending;
-- its amount is set when it is made (the payment's captured amount less
-- the platform's fee, shared out in proportion to the splits), and its
-- Stripe id saved as soon as Stripe returns it.

-- +goose Up
CREATE TABLE transfers (
    platform_id          TEXT NOT NULL REFERENCES platforms (id),
    id                   TEXT NOT NULL,
    payment_id           TEXT NOT NULL,
    position             INTEGER NOT NULL,
    merchant_id          TEXT NOT NULL,
    account_id           TEXT NOT NULL,
    -- the merchant's part of the charge, as the splits gave it
    split_amount         BIGINT NOT NULL,
    -- what is transferred: 0 until it is made
    amount               BIGINT NOT NULL DEFAULT 0,
    amount_reversed      BIGINT NOT NULL DEFAULT 0,
    currency             TEXT NOT NULL,
    status               TEXT NOT NULL,
    key_try              INTEGER NOT NULL DEFAULT 0,
    stripe_transfer_id   TEXT,
    failure_code         TEXT NOT NULL DEFAULT '',
    failure_detail       TEXT NOT NULL DEFAULT '',
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id),
    FOREIGN KEY (platform_id, payment_id) REFERENCES payments (platform_id, id),
    FOREIGN KEY (platform_id, merchant_id) REFERENCES merchants (platform_id, id)
);
CREATE UNIQUE INDEX transfers_payment ON transfers (platform_id, payment_id, position);
CREATE INDEX transfers_merchant ON transfers (platform_id, merchant_id, id);

-- +goose Down
DROP TABLE transfers;
