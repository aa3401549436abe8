-- Dunning for standing orders.
--
-- standing_policies is a platform's policy (absent: the defaults): how
-- many days after a cycle's first failure each retry of a soft decline is
-- made (retry_days, comma-separated), how many tries a cycle has at most,
-- how many cycles failed in a row pause the order, and the lead days of
-- its new orders.
--
-- A cycle may be charged more than once: each try is a payment, a
-- standing_attempts row unique by (order, seq, attempt), and the cycle's
-- payment_id is its latest. A cycle waiting for a retry is 'retrying' with
-- next_retry_at; tries_left is how many more it may have.
--
-- precheck_days is how long before a cycle's charge it is checked for what
-- will make it fail; an order's prechecked_seq is the last cycle checked,
-- so each is checked (and the platform warned) once. The index on payments
-- by card answers whether a card's latest payment asked to authenticate.

-- +goose Up
CREATE TABLE standing_policies (
    platform_id   TEXT NOT NULL REFERENCES platforms (id),
    retry_days    TEXT NOT NULL,
    max_tries     INTEGER NOT NULL,
    pause_after   INTEGER NOT NULL,
    lead_days     INTEGER NOT NULL,
    precheck_days INTEGER NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (platform_id)
);

ALTER TABLE standing_orders ADD COLUMN prechecked_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX payments_card ON payments (platform_id, payment_method_id, created_at);
ALTER TABLE standing_cycles ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE standing_cycles ADD COLUMN tries_left INTEGER NOT NULL DEFAULT 0;
ALTER TABLE standing_cycles ADD COLUMN first_failed_at BIGINT;
ALTER TABLE standing_cycles ADD COLUMN next_retry_at BIGINT;
ALTER TABLE standing_cycles ADD COLUMN decline TEXT NOT NULL DEFAULT '';
CREATE INDEX standing_cycles_retry ON standing_cycles (next_retry_at) WHERE status = 'retrying';
CREATE INDEX standing_cycles_waiting ON standing_cycles (due_at) WHERE status = 'requires_action';

CREATE TABLE standing_attempts (
    platform_id        TEXT NOT NULL,
    standing_order_id  TEXT NOT NULL,
    seq                INTEGER NOT NULL,
    attempt            INTEGER NOT NULL,
    payment_id         TEXT,
    status             TEXT NOT NULL,
    failure_code       TEXT NOT NULL,
    decline_code       TEXT NOT NULL,
    failure_message    TEXT NOT NULL,
    decline            TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (platform_id, standing_order_id, seq, attempt),
    FOREIGN KEY (platform_id, standing_order_id, seq) REFERENCES standing_cycles (platform_id, standing_order_id, seq)
);
CREATE UNIQUE INDEX standing_attempts_payment ON standing_attempts (platform_id, payment_id);
INSERT INTO standing_attempts (platform_id, standing_order_id, seq, attempt, payment_id, status, failure_code, decline_code,
    failure_message, decline, created_at, updated_at)
    SELECT platform_id, standing_order_id, seq, 1, payment_id, status, failure_code, decline_code, failure_message, '',
    created_at, updated_at FROM standing_cycles;

-- +goose Down
DROP TABLE standing_attempts;
DROP INDEX standing_cycles_waiting;
DROP INDEX standing_cycles_retry;
ALTER TABLE standing_cycles DROP COLUMN decline;
ALTER TABLE standing_cycles DROP COLUMN next_retry_at;
ALTER TABLE standing_cycles DROP COLUMN first_failed_at;
ALTER TABLE standing_cycles DROP COLUMN tries_left;
ALTER TABLE standing_cycles DROP COLUMN attempts;
DROP INDEX payments_card;
ALTER TABLE standing_orders DROP COLUMN prechecked_seq;
DROP TABLE standing_policies;
