-- Tender's own events: what happened to a platform's objects, written in the
-- same transaction as the change (an outbox), so no change commits without
-- its event and no event exists for a change that rolled back. Outbound
-- webhooks deliver from here.

-- +goose Up
CREATE TABLE events (
    platform_id  TEXT NOT NULL REFERENCES platforms (id),
    id           TEXT NOT NULL,
    type         TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    data         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id)
);
CREATE INDEX events_object ON events (platform_id, object_id, id);
CREATE INDEX events_type ON events (platform_id, type, id);

-- +goose Down
DROP TABLE events;
