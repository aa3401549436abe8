-- Who bears Stripe's processing fee is fixed on a payment when it is
-- accepted (from its fee policy), with Stripe's fee once it is known.
-- For a direct charge the platform bears the fee of, Stripe takes its fee
-- from the merchant, and the platform gives it back by refunding that much
-- of its application fee (stripe_fee_covered, at most the application
-- fee; stripe_fee_refund_id). A destination charge's Stripe fee is always
-- the platform's: Stripe takes it from the platform, and taking it back
-- from the merchant's transfer would leave too little to reverse on a
-- full refund.

-- +goose Up
ALTER TABLE payments ADD COLUMN stripe_fee_payer TEXT NOT NULL DEFAULT 'merchant';
ALTER TABLE payments ADD COLUMN stripe_fee BIGINT;
ALTER TABLE payments ADD COLUMN stripe_fee_covered BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN stripe_fee_refund_id TEXT;
ALTER TABLE payments ADD COLUMN stripe_fee_key_try INTEGER NOT NULL DEFAULT 0;
UPDATE payments SET stripe_fee_payer = 'platform' WHERE charge_type = 'destination';

-- +goose Down
ALTER TABLE payments DROP COLUMN stripe_fee_key_try;
ALTER TABLE payments DROP COLUMN stripe_fee_refund_id;
ALTER TABLE payments DROP COLUMN stripe_fee_covered;
ALTER TABLE payments DROP COLUMN stripe_fee;
ALTER TABLE payments DROP COLUMN stripe_fee_payer;
