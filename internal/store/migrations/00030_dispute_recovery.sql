-- Recovering a platform's disputes from its merchants.
--
-- dispute_payer on a fee policy says who finally bears a dispute that
-- Stripe takes from the platform's balance (destination and separate
-- charges): 'platform', or 'merchant' for Tender to take it back from the
-- merchants the charge was transferred to. A dispute keeps the answer
-- for its payment in payer.
--
-- A dispute_recoveries row is one transfer's share of a recovered
-- dispute: recover_amount (the disputed amount) and recover_fee (Stripe's
-- dispute fee) taken back by one reversal of that transfer, and, when the
-- dispute is won, return_amount given back by one new transfer. Amounts
-- are fixed when the row is planned, ids saved when Stripe answers; a
-- share Stripe refused keeps its amounts at 0 and Stripe's words in
-- failure_detail.

-- +goose Up
ALTER TABLE fee_policies ADD COLUMN dispute_payer TEXT NOT NULL DEFAULT 'platform';
ALTER TABLE disputes ADD COLUMN payer TEXT NOT NULL DEFAULT '';
UPDATE disputes SET payer = bearer;

CREATE TABLE dispute_recoveries (
    platform_id         TEXT NOT NULL REFERENCES platforms (id),
    dispute_id          TEXT NOT NULL,
    stripe_transfer_id  TEXT NOT NULL,
    transfer_id         TEXT NOT NULL,
    merchant_id         TEXT NOT NULL,
    account             TEXT NOT NULL,
    currency            TEXT NOT NULL,
    recover_amount      BIGINT NOT NULL,
    recover_fee         BIGINT NOT NULL,
    stripe_reversal_id  TEXT,
    return_amount       BIGINT NOT NULL,
    stripe_return_id    TEXT,
    failure_detail      TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (platform_id, dispute_id, stripe_transfer_id),
    FOREIGN KEY (platform_id, dispute_id) REFERENCES disputes (platform_id, id)
);

-- +goose Down
DROP TABLE dispute_recoveries;
ALTER TABLE disputes DROP COLUMN payer;
ALTER TABLE fee_policies DROP COLUMN dispute_payer;
