-- Every write Tender sends to Stripe is an operation with its own row
-- (internal/stripeop): what it is for (kind, object), the try its
-- idempotency key is on, Stripe's id once known, its last error, when
-- Stripe last stored a 5xx under its key, and when it will be tried next.
-- This bookkeeping was columns on each object (payments.key_try,
-- create_failed_at, op_try, stripe_fee_key_try; transfers.key_try;
-- refunds.key_try); the rows of work in flight are carried over so that a
-- run after the upgrade resumes on the same key, and the columns go.

-- +goose Up
CREATE TABLE stripe_operations (
    platform_id        TEXT NOT NULL REFERENCES platforms (id),
    kind               TEXT NOT NULL,
    object_id          TEXT NOT NULL,
    try                INTEGER NOT NULL DEFAULT 0,
    params             TEXT NOT NULL DEFAULT '{}',
    stripe_id          TEXT,
    runs               INTEGER NOT NULL DEFAULT 0,
    stored_failure_at  BIGINT,
    last_error         TEXT NOT NULL DEFAULT '',
    next_attempt_at    BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (platform_id, kind, object_id)
);
CREATE INDEX stripe_operations_open ON stripe_operations (kind, updated_at) WHERE stripe_id IS NULL;

-- A payment's creation in flight: processing with no PaymentIntent saved.
INSERT INTO stripe_operations (platform_id, kind, object_id, try, runs, stored_failure_at, created_at, updated_at)
SELECT platform_id, 'payment_intent.create', id || ':' || CAST(attempt AS TEXT), key_try, 1, create_failed_at, updated_at, updated_at
FROM payments WHERE stripe_payment_intent_id IS NULL AND (status = 'processing' OR key_try > 0);

-- A direct charge's Stripe fee refund moved past its first key.
INSERT INTO stripe_operations (platform_id, kind, object_id, try, runs, created_at, updated_at)
SELECT platform_id, 'application_fee_refund.create', id || ':stripe_fee', stripe_fee_key_try, 1, updated_at, updated_at
FROM payments WHERE stripe_fee_refund_id IS NULL AND stripe_fee_key_try > 0;

-- Captures and cancels whose key moved on after an unknown outcome.
INSERT INTO stripe_operations (platform_id, kind, object_id, try, runs, created_at, updated_at)
SELECT platform_id, 'payment_intent.capture', id || ':' || CAST(attempt AS TEXT), op_try, 1, updated_at, updated_at
FROM payments WHERE op_try > 0 AND status = 'requires_capture';

-- Transfers being made.
INSERT INTO stripe_operations (platform_id, kind, object_id, try, runs, created_at, updated_at)
SELECT platform_id, 'transfer.create', id, key_try, 1, updated_at, updated_at
FROM transfers WHERE stripe_transfer_id IS NULL AND (status = 'processing' OR key_try > 0);

-- Refunds being made: the refund itself (its fee refund and reversals
-- share its try, as they did).
INSERT INTO stripe_operations (platform_id, kind, object_id, try, runs, created_at, updated_at)
SELECT platform_id, 'refund.create', id, key_try, 1, updated_at, updated_at
FROM refunds WHERE stripe_refund_id IS NULL AND (status = 'processing' OR key_try > 0);
INSERT INTO stripe_operations (platform_id, kind, object_id, try, runs, created_at, updated_at)
SELECT platform_id, 'application_fee_refund.create', id, key_try, 1, updated_at, updated_at
FROM refunds WHERE stripe_fee_refund_id IS NULL AND key_try > 0 AND status IN ('pending', 'processing');
INSERT INTO stripe_operations (platform_id, kind, object_id, try, runs, created_at, updated_at)
SELECT r.platform_id, 'transfer_reversal.create', r.id || ':' || rr.transfer_id, r.key_try, 1, r.updated_at, r.updated_at
FROM refunds r JOIN refund_reversals rr ON rr.platform_id = r.platform_id AND rr.refund_id = r.id
WHERE rr.stripe_reversal_id IS NULL AND r.key_try > 0 AND r.status IN ('pending', 'processing');

ALTER TABLE payments DROP COLUMN key_try;
ALTER TABLE payments DROP COLUMN create_failed_at;
ALTER TABLE payments DROP COLUMN op_try;
ALTER TABLE payments DROP COLUMN stripe_fee_key_try;
ALTER TABLE transfers DROP COLUMN key_try;
ALTER TABLE refunds DROP COLUMN key_try;

-- +goose Down
ALTER TABLE refunds ADD COLUMN key_try INTEGER NOT NULL DEFAULT 0;
ALTER TABLE transfers ADD COLUMN key_try INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN stripe_fee_key_try INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN op_try INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN create_failed_at BIGINT;
ALTER TABLE payments ADD COLUMN key_try INTEGER NOT NULL DEFAULT 0;
DROP TABLE stripe_operations;
