-- Standing orders: a customer's agreement that a merchant charges a saved
-- card off-session on a schedule, each period a cycle.
--
-- The schedule (repeat_interval, every, weekdays, day_of_month, time_of_day,
-- time_zone, start_date, end_date, cycle_count) is fixed when the order is made.
-- amount and payment_method_id may change; a change applies from the next
-- cycle not yet made. next_seq, next_due_at and next_charge_at (due less
-- the lead time) are the next cycle to make, NULL when the schedule has
-- ended; the scheduler moves them on in the transaction that makes the
-- cycle, only from the values it read and only while the order is
-- active, so a cycle is made once and never after a pause or cancel that
-- committed first.
--
-- A standing_cycles row is one cycle, unique by (order, seq), written with
-- its payment in one transaction; its status follows the payment's.

-- +goose Up
CREATE TABLE standing_orders (
    platform_id        TEXT NOT NULL REFERENCES platforms (id),
    id                 TEXT NOT NULL,
    customer_id        TEXT NOT NULL,
    merchant_id        TEXT NOT NULL,
    payment_method_id  TEXT NOT NULL,
    charge_type        TEXT NOT NULL,
    splits             TEXT NOT NULL,
    amount             BIGINT NOT NULL,
    currency           TEXT NOT NULL,
    repeat_interval    TEXT NOT NULL,
    every              INTEGER NOT NULL,
    weekdays           TEXT NOT NULL,
    day_of_month       INTEGER NOT NULL,
    time_of_day        TEXT NOT NULL,
    time_zone          TEXT NOT NULL,
    start_date         TEXT NOT NULL,
    end_date           TEXT NOT NULL,
    cycle_count        INTEGER NOT NULL,
    lead_days          INTEGER NOT NULL,
    description        TEXT NOT NULL,
    reference          TEXT NOT NULL,
    metadata           TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('active', 'paused', 'canceled', 'completed')),
    status_reason      TEXT NOT NULL,
    next_seq           INTEGER NOT NULL,
    next_date          TEXT,
    next_due_at        BIGINT,
    next_charge_at     BIGINT,
    failed_in_row      INTEGER NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id)
);
CREATE INDEX standing_orders_due ON standing_orders (next_charge_at) WHERE status = 'active';
CREATE INDEX standing_orders_customer ON standing_orders (platform_id, customer_id);

CREATE TABLE standing_cycles (
    platform_id        TEXT NOT NULL,
    standing_order_id  TEXT NOT NULL,
    seq                INTEGER NOT NULL,
    cycle_date         TEXT NOT NULL,
    due_at             BIGINT NOT NULL,
    charge_at          BIGINT NOT NULL,
    amount             BIGINT NOT NULL,
    payment_id         TEXT,
    status             TEXT NOT NULL,
    failure_code       TEXT NOT NULL,
    decline_code       TEXT NOT NULL,
    failure_message    TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (platform_id, standing_order_id, seq),
    FOREIGN KEY (platform_id, standing_order_id) REFERENCES standing_orders (platform_id, id)
);
CREATE UNIQUE INDEX standing_cycles_payment ON standing_cycles (platform_id, payment_id);

-- +goose Down
DROP TABLE standing_cycles;
DROP TABLE standing_orders;
