-- The payment janitor looks for payments left unsettled; most payments
-- settle within seconds, so the index holds only the few that have not.

-- +goose Up
CREATE INDEX payments_unsettled ON payments (updated_at) WHERE status IN ('pending', 'processing');

-- +goose Down
DROP INDEX payments_unsettled;
