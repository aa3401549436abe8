-- Payments that succeeded before amount_captured existed were captured in
-- full (only automatic captures could succeed then).

-- +goose Up
UPDATE payments SET amount_captured = amount WHERE status = 'succeeded' AND amount_captured = 0;

-- +goose Down
SELECT 1;
