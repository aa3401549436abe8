-- The events Stripe sends Tender, and the endpoints at Stripe they come to.
--
-- A platform has two endpoints at a time, one per scope: 'account' for the
-- platform account's own events, 'connect' for its connected accounts'
-- (each event names its account). Each endpoint at Stripe has one signing
-- secret, sealed here. Rolling the secrets makes new endpoints at Stripe and
-- gives the old rows an expiry: until then both secrets verify (and both
-- endpoints deliver, which the inbox's uniqueness absorbs); after it, the
-- old endpoint is deleted at Stripe and its row keeps no secret. Rows are
-- never deleted, so their count numbers the next endpoint's creation
-- (its idempotency key) deterministically.
--
-- The inbox keeps each event once per (platform, account, Stripe's id),
-- whether it came by webhook or by the backfill from /v1/events, raw as it
-- came, with the state of its processing: received (a job will apply it),
-- applied, failed (gave up; replayable) or ignored (nothing for Tender).

-- +goose Up
CREATE TABLE stripe_webhook_endpoints (
    platform_id     TEXT NOT NULL REFERENCES platforms (id),
    id              TEXT NOT NULL,
    scope           TEXT NOT NULL,
    stripe_id       TEXT NOT NULL,
    url             TEXT NOT NULL,
    enabled_events  TEXT NOT NULL,
    secret          TEXT NOT NULL,
    status          TEXT NOT NULL,
    expires_at      BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id)
);
CREATE UNIQUE INDEX stripe_webhook_endpoints_stripe_id ON stripe_webhook_endpoints (platform_id, stripe_id);
CREATE INDEX stripe_webhook_endpoints_scope ON stripe_webhook_endpoints (platform_id, scope, status);

CREATE TABLE stripe_events (
    platform_id         TEXT NOT NULL REFERENCES platforms (id),
    id                  TEXT NOT NULL,
    account             TEXT NOT NULL,
    stripe_id           TEXT NOT NULL,
    type                TEXT NOT NULL,
    object_id           TEXT NOT NULL,
    livemode            BOOLEAN NOT NULL,
    api_version         TEXT NOT NULL,
    stripe_created      BIGINT NOT NULL,
    source              TEXT NOT NULL,
    webhook_deliveries  INTEGER NOT NULL,
    remote_addr         TEXT NOT NULL,
    headers             TEXT NOT NULL,
    body                TEXT NOT NULL,
    state               TEXT NOT NULL,
    attempts            INTEGER NOT NULL,
    outcome             TEXT NOT NULL,
    last_error          TEXT NOT NULL,
    received_at         BIGINT NOT NULL,
    applied_at          BIGINT,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id)
);
CREATE UNIQUE INDEX stripe_events_once ON stripe_events (platform_id, account, stripe_id);
CREATE INDEX stripe_events_state ON stripe_events (platform_id, state, received_at);
CREATE INDEX stripe_events_received ON stripe_events (received_at);

-- +goose Down
DROP TABLE stripe_events;
DROP TABLE stripe_webhook_endpoints;
