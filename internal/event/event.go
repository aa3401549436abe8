// Package event records what happened in Tender as events: one row per
// change, written by the feature package in the same transaction as the
// change itself, and read back as the platform's event feed. The events
// table is an outbox: outbound webhooks deliver from it, so a change never
// commits without its event, and an event never describes a change that
// rolled back.
//
// Each event carries two numbers. Sequence orders all of a platform's
// events; numbers go only to committed events, never to one below a
// number already visible, so a consumer that reads the feed after the last
// sequence it saw misses nothing (see Record and numbering.go). ObjectSequence counts the
// events of one object, so a consumer that receives them out of order (a
// webhook retried after a later one succeeded) can discard a stale update.
package event

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/store"
)

// Type names what happened, as "object.verb" ("merchant.connected"). Feature
// packages declare their own types next to the objects they describe; every
// type is listed in the catalogue (catalogue.go), and Record refuses one
// that is not.
type Type string

// Event is one recorded change of one object.
type Event struct {
	ID         string
	PlatformID string
	Type       Type
	// Sequence is the event's place among all of its platform's events,
	// from 1, given after its transaction committed: no event numbered
	// later has a smaller one. 0 for an event not numbered yet.
	Sequence int64
	// ObjectID is the id of the object that changed.
	ObjectID string
	// ObjectSequence is the event's place among its object's events, from 1.
	ObjectSequence int64
	// Data is the object as it was just after the change, as the API shows
	// it, so a receiver needs no second request to act on it.
	Data    json.RawMessage
	Created time.Time
}

// Prefix is the id prefix of events.
const Prefix = "evt"

// Record writes an event in tx, which must be the transaction that makes
// the change. data is marshalled to JSON as the API shows the object.
//
// The event takes the next number of its object's sequence in tx (the
// object's counter row stays locked until tx ends, which serialises only
// changes of that one object). Its number in the platform's sequence,
// which orders all of a platform's events and never goes back, is given
// one of two ways (see numbering.go):
//
//   - On PostgreSQL, after tx commits, by a pass that numbers every
//     committed event still unnumbered: milliseconds later, or at once
//     when the feed is read. Until then the event is invisible to readers,
//     and Sequence is 0 in what Record returns. Taking the number inside
//     tx would lock the platform's counter row until commit and so
//     serialise every transaction that records an event, commit included.
//   - On SQLite, and for a transaction not run by store.DB.InTx, in tx
//     itself: SQLite's transactions are serialised anyway, so holding the
//     counter until commit costs nothing.
//
// Record an event as the last change of a transaction, after the rows it
// describes are written, so the object's counter is held briefly and
// always taken after the object's own row: then two transactions that
// record events of the same objects have already met on those rows, in
// their order, and cannot deadlock on the counters.
func Record(ctx context.Context, tx *sql.Tx, now time.Time, platformID string, typ Type, objectID string, data any) (*Event, error) {
	if _, ok := Lookup(typ); !ok {
		return nil, fmt.Errorf("event %s: not in the catalogue", typ)
	}
	if objectID == "" {
		return nil, fmt.Errorf("event %s: no object id", typ)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", typ, err)
	}
	e := &Event{
		ID: id.New(Prefix), PlatformID: platformID, Type: typ, ObjectID: objectID,
		Data: raw, Created: store.TimeOf(now).Time,
	}
	db := store.DBOf(tx)
	afterCommit := db != nil && db.Dialect == store.Postgres
	if afterCommit {
		e.ObjectSequence, err = nextObjectNumber(ctx, tx, platformID, objectID)
	} else {
		e.Sequence, e.ObjectSequence, err = nextNumbers(ctx, tx, platformID, objectID)
	}
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", typ, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO events (platform_id, id, type, seq, object_id, object_seq, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.PlatformID, e.ID, string(e.Type), e.Sequence, e.ObjectID, e.ObjectSequence, string(e.Data), store.TimeOf(now))
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", typ, err)
	}
	if afterCommit {
		numberAfterCommit(tx, db)
	}
	return e, nil
}

// nextObjectNumber advances the object's counter alone.
func nextObjectNumber(ctx context.Context, tx *sql.Tx, platformID, objectID string) (int64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, `INSERT INTO event_sequences (platform_id, object_id, last) VALUES ($1, $2, 1)
		ON CONFLICT (platform_id, object_id) DO UPDATE SET last = event_sequences.last + 1
		RETURNING last`, platformID, objectID).Scan(&n)
	return n, err
}

// nextNumbers advances the platform's counter and the object's in one
// statement, the platform's row first (its lock is the one that orders
// commits; taking it first in every transaction keeps the order of locks
// the same everywhere).
func nextNumbers(ctx context.Context, q store.Querier, platformID, objectID string) (seq, objectSeq int64, err error) {
	rows, err := q.QueryContext(ctx, `INSERT INTO event_sequences (platform_id, object_id, last) VALUES ($1, '', 1), ($1, $2, 1)
		ON CONFLICT (platform_id, object_id) DO UPDATE SET last = event_sequences.last + 1
		RETURNING object_id, last`, platformID, objectID)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var obj string
		var n int64
		if err := rows.Scan(&obj, &n); err != nil {
			return 0, 0, err
		}
		if obj == "" {
			seq = n
		} else {
			objectSeq = n
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	if seq == 0 || objectSeq == 0 {
		return 0, 0, errors.New("event numbers not returned")
	}
	return seq, objectSeq, rows.Close()
}

// Store reads recorded events.
type Store struct{ db *store.DB }

// NewStore returns a Store on db.
func NewStore(db *store.DB) *Store { return &Store{db: db} }

const cols = `platform_id, id, type, seq, object_id, object_seq, data, created_at`

// numbered is the condition on events that readers may see: numbered in
// their platform's sequence. Written out in every query, so that both
// databases use the partial index on (platform_id, seq).
const numbered = `seq > 0`

// Get returns one of the platform's events, numbered: one committed but not
// numbered yet is numbered first. Returns errs.NotFound if the platform
// has no such event (or no longer keeps it).
func (s *Store) Get(ctx context.Context, platformID, eventID string) (*Event, error) {
	e, err := Get(ctx, s.db, platformID, eventID)
	if errs.Is(err, errs.NotFound) {
		if err := awaitNumbered(ctx, s.db, platformID); err != nil {
			return nil, err
		}
		e, err = Get(ctx, s.db, platformID, eventID)
	}
	return e, err
}

// Get is Store.Get in q, for callers inside a transaction: an event not
// numbered yet is not found.
func Get(ctx context.Context, q store.Querier, platformID, eventID string) (*Event, error) {
	e, err := scan(q.QueryRowContext(ctx, `SELECT `+cols+` FROM events WHERE platform_id = $1 AND id = $2 AND `+numbered, platformID, eventID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("id", "No such event: '%s'.", eventID)
	}
	return e, err
}

func scan(row store.Scanner) (*Event, error) {
	var e Event
	var typ, data string
	var created store.Time
	if err := row.Scan(&e.PlatformID, &e.ID, &typ, &e.Sequence, &e.ObjectID, &e.ObjectSequence, &data, &created); err != nil {
		return nil, err
	}
	e.Type, e.Data, e.Created = Type(typ), json.RawMessage(data), created.Time
	return &e, nil
}
