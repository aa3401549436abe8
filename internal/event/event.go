// Package event records what happened in Tender as events: one row per
// change, written by the feature package in the same transaction as the
// change itself. The events table is an outbox: outbound webhooks read it,
// so a change never commits without its event, and an event never describes
// a change that rolled back.
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
// packages declare their own types next to the objects they describe.
type Type string

// Event is one recorded change of one object.
type Event struct {
	ID         string
	PlatformID string
	Type       Type
	// ObjectID is the id of the object that changed.
	ObjectID string
	// Data is the object as it was just after the change, as the API shows
	// it, so a receiver needs no second request to act on it.
	Data    json.RawMessage
	Created time.Time
}

// Prefix is the id prefix of events.
const Prefix = "evt"

// Record writes an event in q, which should be the transaction that makes
// the change. data is marshalled to JSON as the API shows the object.
func Record(ctx context.Context, q store.Querier, now time.Time, platformID string, typ Type, objectID string, data any) (*Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", typ, err)
	}
	e := &Event{
		ID: id.New(Prefix), PlatformID: platformID, Type: typ, ObjectID: objectID,
		Data: raw, Created: store.TimeOf(now).Time,
	}
	_, err = q.ExecContext(ctx, `INSERT INTO events (platform_id, id, type, object_id, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, e.PlatformID, e.ID, string(e.Type), e.ObjectID, string(e.Data), store.TimeOf(now))
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", typ, err)
	}
	return e, nil
}

// Store reads recorded events.
type Store struct{ db *store.DB }

// NewStore returns a Store on db.
func NewStore(db *store.DB) *Store { return &Store{db: db} }

const cols = `platform_id, id, type, object_id, data, created_at`

// Get returns one of the platform's events. Returns errs.NotFound if the
// platform has no such event.
func (s *Store) Get(ctx context.Context, platformID, eventID string) (*Event, error) {
	e, err := scan(s.db.QueryRowContext(ctx, `SELECT `+cols+` FROM events WHERE platform_id = $1 AND id = $2`, platformID, eventID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("id", "No such event: '%s'.", eventID)
	}
	return e, err
}

// Filter narrows a list of events; zero fields match everything.
type Filter struct {
	Type     Type
	ObjectID string
}

// List returns a page of the platform's events, newest first, and whether
// there are more.
func (s *Store) List(ctx context.Context, platformID string, f Filter, page store.Page) ([]*Event, bool, error) {
	return store.List(ctx, s.db, page, scan, `SELECT `+cols+` FROM events WHERE platform_id = $1 AND ($2 = '' OR type = $2) AND ($3 = '' OR object_id = $3)`,
		platformID, string(f.Type), f.ObjectID)
}

func scan(row store.Scanner) (*Event, error) {
	var e Event
	var typ, data string
	var created store.Time
	if err := row.Scan(&e.PlatformID, &e.ID, &typ, &e.ObjectID, &data, &created); err != nil {
		return nil, err
	}
	e.Type, e.Data, e.Created = Type(typ), json.RawMessage(data), created.Time
	return &e, nil
}
