-- How far the backfill has read each account's events at Stripe (''
-- the platform's own): the creation time of the newest event it has seen.
-- The next sweep reads from a little before it, since Stripe may list an
-- event a moment after its creation time; what it reads twice the inbox
-- keeps once.

-- +goose Up
CREATE TABLE stripe_event_marks (
    platform_id   TEXT NOT NULL REFERENCES platforms (id),
    account       TEXT NOT NULL,
    seen_through  BIGINT NOT NULL,
    swept_at      BIGINT NOT NULL,
    PRIMARY KEY (platform_id, account)
);

-- +goose Down
DROP TABLE stripe_event_marks;
