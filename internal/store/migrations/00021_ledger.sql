-- The ledger: Tender's double-entry books of each platform (package
-- ledger; docs/ARCHITECTURE.md ("The books")).
--
-- An account is made on its first use, one per (owner, owner_id, kind,
-- currency); owner_id is a merchant's id for a merchant's account and ''
-- for the others. An entry is one movement of money, keyed by its cause
-- (what made it, as the posting package names it), so posting a cause
-- again finds the entry already there. Its postings move amounts in
-- minor units onto accounts, positive a debit, and add up to zero in
-- each currency; a posting to a balance account says when its funds
-- become available (available_on), as Stripe does.
--
-- Entries and postings are never updated or deleted: a correction is a
-- new entry of kind 'reversal' naming the one it reverses (reverses,
-- unique, so an entry is reversed at most once). Empty references are
-- NULL. Times are Unix microseconds: created_at is when the money moved
-- (the entry's At), posted_at when Tender wrote it.

-- +goose Up
CREATE TABLE ledger_accounts (
    platform_id  TEXT NOT NULL REFERENCES platforms (id),
    id           TEXT NOT NULL,
    owner        TEXT NOT NULL,
    owner_id     TEXT NOT NULL,
    kind         TEXT NOT NULL,
    currency     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id)
);
CREATE UNIQUE INDEX ledger_accounts_key ON ledger_accounts (platform_id, owner, owner_id, kind, currency);

CREATE TABLE ledger_entries (
    platform_id  TEXT NOT NULL REFERENCES platforms (id),
    id           TEXT NOT NULL,
    cause        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    merchant_id  TEXT,
    payment_id   TEXT,
    refund_id    TEXT,
    transfer_id  TEXT,
    reverses     TEXT,
    created_at   BIGINT NOT NULL,
    posted_at    BIGINT NOT NULL,
    PRIMARY KEY (platform_id, id)
);
CREATE UNIQUE INDEX ledger_entries_cause ON ledger_entries (platform_id, cause);
CREATE UNIQUE INDEX ledger_entries_reverses ON ledger_entries (platform_id, reverses);
CREATE INDEX ledger_entries_created ON ledger_entries (platform_id, created_at, id);
CREATE INDEX ledger_entries_merchant ON ledger_entries (platform_id, merchant_id, created_at, id);
CREATE INDEX ledger_entries_payment ON ledger_entries (platform_id, payment_id, created_at, id);

CREATE TABLE ledger_postings (
    platform_id   TEXT NOT NULL,
    entry_id      TEXT NOT NULL,
    line          INTEGER NOT NULL,
    account_id    TEXT NOT NULL,
    amount        BIGINT NOT NULL,
    role          TEXT NOT NULL,
    available_on  BIGINT,
    PRIMARY KEY (platform_id, entry_id, line),
    FOREIGN KEY (platform_id, entry_id) REFERENCES ledger_entries (platform_id, id),
    FOREIGN KEY (platform_id, account_id) REFERENCES ledger_accounts (platform_id, id)
);
CREATE INDEX ledger_postings_account ON ledger_postings (platform_id, account_id);

-- +goose Down
DROP TABLE ledger_postings;
DROP TABLE ledger_entries;
DROP TABLE ledger_accounts;
