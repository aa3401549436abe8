-- What the books need of a payment's charge, saved when it is captured:
-- Stripe's fee (payments.stripe_fee, which existed for the fee policy) and
-- when the charge's funds become available on the account it was made on
-- (its balance transaction's available_on), which a separate charge's
-- transfers inherit.

-- +goose Up
ALTER TABLE payments ADD COLUMN funds_available_at BIGINT;

-- +goose Down
ALTER TABLE payments DROP COLUMN funds_available_at;
