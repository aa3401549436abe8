-- Stripe stores a 500 under its idempotency key and replays it, so a
-- PaymentIntent creation that got one cannot be retried with the same key.
-- key_try numbers the keys used for the attempt's creation, and
-- create_failed_at is when Stripe last answered one with a stored 5xx: a
-- new key is used only once the PaymentIntent search, which lags, has had
-- time to show a PaymentIntent that 500 might have made.

-- +goose Up
ALTER TABLE payments ADD COLUMN key_try INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN create_failed_at BIGINT;

-- +goose Down
ALTER TABLE payments DROP COLUMN create_failed_at;
ALTER TABLE payments DROP COLUMN key_try;
