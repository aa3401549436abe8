-- A payment captured by hand records what was captured (the application
-- fee, recomputed on it, replaces the authorized one in application_fee).
-- op_try numbers the idempotency keys of its capture or cancel calls:
-- Stripe replays a stored 5xx to the same key, and a PaymentIntent can be
-- captured or canceled only once, so a new key after an unknown outcome
-- cannot do it twice.

-- +goose Up
ALTER TABLE payments ADD COLUMN amount_captured BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN op_try INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE payments DROP COLUMN op_try;
ALTER TABLE payments DROP COLUMN amount_captured;
