-- On PostgreSQL an event is numbered in its platform's sequence after its
-- transaction commits (see event.Record): until then its seq is 0. So the
-- sequence's uniqueness covers numbered events only, and a small index
-- finds those still to number.

-- +goose Up
DROP INDEX events_seq;
CREATE UNIQUE INDEX events_seq ON events (platform_id, seq) WHERE seq > 0;
CREATE INDEX events_unnumbered ON events (platform_id) WHERE seq = 0;

-- +goose Down
DROP INDEX events_unnumbered;
DROP INDEX events_seq;
CREATE UNIQUE INDEX events_seq ON events (platform_id, seq);
