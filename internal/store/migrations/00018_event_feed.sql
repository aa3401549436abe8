-- The event feed: each of a platform's events gets the next number of a
-- per-platform sequence (seq) and of a per-object one (object_seq), both
-- taken from event_sequences in the transaction that records the event.
-- Taking the platform's number locks its counter row until that
-- transaction ends, so numbers are handed out in commit order: a consumer
-- that has read up to N never sees an event below N appear later, as it
-- could with numbers taken outside the lock (a sequence, a time-ordered
-- id) by transactions that commit out of order. The counters outlive the
-- events they numbered, so pruning old events never reuses a number.
-- object_id '' is the platform's own counter.

-- +goose Up
ALTER TABLE events ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN object_seq BIGINT NOT NULL DEFAULT 0;
UPDATE events SET
    seq = (SELECT COUNT(*) FROM events e WHERE e.platform_id = events.platform_id AND e.id <= events.id),
    object_seq = (SELECT COUNT(*) FROM events e WHERE e.platform_id = events.platform_id
        AND e.object_id = events.object_id AND e.id <= events.id);
CREATE TABLE event_sequences (
    platform_id  TEXT NOT NULL REFERENCES platforms (id),
    object_id    TEXT NOT NULL,
    last         BIGINT NOT NULL,
    PRIMARY KEY (platform_id, object_id)
);
INSERT INTO event_sequences (platform_id, object_id, last)
    SELECT platform_id, '', MAX(seq) FROM events GROUP BY platform_id;
INSERT INTO event_sequences (platform_id, object_id, last)
    SELECT platform_id, object_id, MAX(object_seq) FROM events GROUP BY platform_id, object_id;
CREATE UNIQUE INDEX events_seq ON events (platform_id, seq);
CREATE INDEX events_created ON events (created_at);

-- +goose Down
DROP INDEX events_created;
DROP INDEX events_seq;
DROP TABLE event_sequences;
ALTER TABLE events DROP COLUMN object_seq;
ALTER TABLE events DROP COLUMN seq;
