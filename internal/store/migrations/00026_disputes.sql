-- Disputes of payments' charges, as Stripe's events tell of them. A
-- dispute lives where its charge is at Stripe (account: the connected
-- account of a direct charge, '' the platform's); its bearer is whose
-- balance the disputed amount and Stripe's dispute fee leave: the merchant
-- on a direct charge, the platform on destination and separate charges.
-- withdrawn is what is withdrawn now (less what was reinstated) and fees
-- the dispute fees taken: the sums of the dispute's balance transactions,
-- each posted to the ledger once. deadline_warned says the platform was
-- told that evidence is due soon.

-- +goose Up
CREATE TABLE disputes (
    platform_id        TEXT NOT NULL REFERENCES platforms (id),
    id                 TEXT NOT NULL,
    payment_id         TEXT NOT NULL,
    merchant_id        TEXT NOT NULL,
    account            TEXT NOT NULL,
    stripe_dispute_id  TEXT NOT NULL,
    stripe_charge_id   TEXT NOT NULL,
    amount             BIGINT NOT NULL,
    currency           TEXT NOT NULL,
    reason             TEXT NOT NULL,
    status             TEXT NOT NULL,
    bearer             TEXT NOT NULL,
    evidence_due_by    BIGINT,
    has_evidence       BOOLEAN NOT NULL,
    submission_count   INTEGER NOT NULL,
    withdrawn          BIGINT NOT NULL,
    fees               BIGINT NOT NULL,
    deadline_warned    BOOLEAN NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id),
    FOREIGN KEY (platform_id, payment_id) REFERENCES payments (platform_id, id)
);
CREATE UNIQUE INDEX disputes_stripe_id ON disputes (platform_id, stripe_dispute_id);
CREATE INDEX disputes_payment ON disputes (platform_id, payment_id);
CREATE INDEX disputes_due ON disputes (evidence_due_by);

-- +goose Down
DROP TABLE disputes;
