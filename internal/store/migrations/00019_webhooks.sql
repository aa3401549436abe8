-- Webhook endpoints of platforms and the deliveries of events to them.
--
-- An endpoint signs with a sealed secret: an HMAC key (whsec_) or an
-- ed25519 private key (whsk_), whose public key (whpk_, not a secret) is
-- kept in clear to show. During a rotation the previous one signs too.
--
-- An endpoint's cursor is the last event sequence fanned out to it:
-- fanning out reads the platform's events after it, writes a delivery for
-- each event the endpoint subscribes to, and moves the cursor, in one
-- transaction. A disabled endpoint's cursor stays where it stopped, so its
-- events wait in the feed and are delivered when it is enabled again.
--
-- A delivery is pending until it succeeds or exhausts its retries (failed).
-- Per endpoint and object only the oldest pending delivery (the head, by
-- event_seq) is sent, so a newer event never overtakes an older one. A
-- sender holds the head under a lease (lease_owner, lease_until) while it
-- sends, so two senders never send it at once, and a dead sender's lease
-- runs out.

-- +goose Up
CREATE TABLE webhook_endpoints (
    platform_id                 TEXT NOT NULL REFERENCES platforms (id),
    id                          TEXT NOT NULL,
    url                         TEXT NOT NULL,
    description                 TEXT NOT NULL,
    enabled_events              TEXT NOT NULL,
    status                      TEXT NOT NULL,
    disabled_reason             TEXT,
    disabled_at                 BIGINT,
    secret                      TEXT NOT NULL,
    public_key                  TEXT,
    previous_secret             TEXT,
    previous_public_key         TEXT,
    previous_secret_expires_at  BIGINT,
    cursor_seq                  BIGINT NOT NULL,
    failing_since               BIGINT,
    last_failure                TEXT,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id)
);
CREATE INDEX webhook_endpoints_enabled ON webhook_endpoints (status, platform_id);

CREATE TABLE webhook_deliveries (
    platform_id      TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    event_seq        BIGINT NOT NULL,
    object_id        TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_until      BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (platform_id, endpoint_id, event_id),
    FOREIGN KEY (platform_id, endpoint_id) REFERENCES webhook_endpoints (platform_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_head ON webhook_deliveries (endpoint_id, object_id, state, event_seq);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, state, event_seq);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);

CREATE TABLE webhook_attempts (
    platform_id   TEXT NOT NULL,
    endpoint_id   TEXT NOT NULL,
    id            TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    status        INTEGER,
    latency_us    BIGINT NOT NULL,
    error         TEXT,
    response      TEXT,
    succeeded     BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (platform_id, endpoint_id, id),
    FOREIGN KEY (platform_id, endpoint_id) REFERENCES webhook_endpoints (platform_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_attempts_event ON webhook_attempts (platform_id, endpoint_id, event_id, id);
CREATE INDEX webhook_attempts_created ON webhook_attempts (created_at);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
