-- Payouts of the platform's and its merchants' balances to their banks,
-- as Stripe's events tell of them. account is the Stripe account paid out
-- ('' for the platform's); merchant_id the merchant it is booked to (''
-- for the platform). balance_transaction is the payout's own (the money
-- leaving the balance), failure_balance_transaction the one that returned
-- it when the payout failed or was canceled; each is posted to the ledger
-- once.

-- +goose Up
CREATE TABLE payouts (
    platform_id                  TEXT NOT NULL REFERENCES platforms (id),
    id                           TEXT NOT NULL,
    merchant_id                  TEXT NOT NULL,
    account                      TEXT NOT NULL,
    stripe_payout_id             TEXT NOT NULL,
    amount                       BIGINT NOT NULL,
    currency                     TEXT NOT NULL,
    status                       TEXT NOT NULL,
    automatic                    BOOLEAN NOT NULL,
    method                       TEXT NOT NULL,
    arrival_date                 BIGINT NOT NULL,
    balance_transaction          TEXT NOT NULL,
    failure_balance_transaction  TEXT NOT NULL,
    failure_code                 TEXT NOT NULL,
    failure_message              TEXT NOT NULL,
    stripe_created               BIGINT NOT NULL,
    created_at                   BIGINT NOT NULL,
    updated_at                   BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id)
);
CREATE UNIQUE INDEX payouts_stripe_id ON payouts (platform_id, stripe_payout_id);
CREATE INDEX payouts_merchant ON payouts (platform_id, merchant_id, id);

-- +goose Down
DROP TABLE payouts;
