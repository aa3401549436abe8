-- Refunds made at Stripe without Tender (in a merchant's or the
-- platform's Dashboard) become Tender refunds when Stripe's events tell
-- of them: source says who made a refund; transfer_reversed is what a
-- destination charge's refund made at Stripe took back from the merchant
-- (NULL for Tender's own, which reverse exactly the refund). A Stripe
-- refund is a Tender refund once: stripe_refund_id is unique per platform
-- (NULLs, refunds not yet at Stripe, are distinct). Payments are found by
-- their PaymentIntent.

-- +goose Up
ALTER TABLE refunds ADD COLUMN source TEXT NOT NULL DEFAULT 'tender';
ALTER TABLE refunds ADD COLUMN transfer_reversed BIGINT;
CREATE UNIQUE INDEX refunds_stripe_id ON refunds (platform_id, stripe_refund_id);
CREATE INDEX payments_intent ON payments (platform_id, stripe_payment_intent_id);

-- +goose Down
DROP INDEX payments_intent;
DROP INDEX refunds_stripe_id;
ALTER TABLE refunds DROP COLUMN transfer_reversed;
ALTER TABLE refunds DROP COLUMN source;
