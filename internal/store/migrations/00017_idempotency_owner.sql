-- A request holding an Idempotency-Key holds it under a lease it renews
-- while it runs; owner names the holder, so only the request that holds the
-- lease can complete or release the key. After a crash the lease runs out
-- within seconds and a retry takes the key over with a new owner: if the
-- first holder was only slow, not dead, its answer can no longer be stored
-- and its work, which commits with that answer, rolls back.

-- +goose Up
ALTER TABLE idempotency_keys ADD COLUMN owner TEXT;

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN owner;
