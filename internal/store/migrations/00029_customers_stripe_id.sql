-- A SetupIntent confirmed outside Tender (setup_intent.succeeded) names
-- only its Stripe Customer; finding the Tender customer by it should not
-- read every customer of the platform.

-- +goose Up
CREATE INDEX customers_stripe_id ON customers (platform_id, stripe_customer_id);

-- +goose Down
DROP INDEX customers_stripe_id;
