package event_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

func TestRecordListGet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		plats := platform.NewService(db, time.Now)
		a, _ := plats.Create(ctx, "A")
		b, _ := plats.Create(ctx, "B")
		now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		var ids []string
		for i, typ := range []event.Type{"merchant.connected", "merchant.status_changed", "merchant.connected"} {
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				e, err := event.Record(ctx, tx, now, a.ID, typ, "mer_"+string(rune('1'+i%2)), map[string]any{"n": i})
				if e != nil {
					ids = append(ids, e.ID)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		events := event.NewStore(db)

		all, more, err := events.List(ctx, a.ID, event.Filter{}, store.Page{Limit: 2})
		if err != nil || len(all) != 2 || !more || all[0].ID != ids[2] || all[1].ID != ids[1] {
			t.Fatalf("first page = %v, %v, %v; want the two newest of %v", all, more, err, ids)
		}
		rest, more, _ := events.List(ctx, a.ID, event.Filter{}, store.Page{Limit: 2, StartingAfter: all[1].ID})
		if len(rest) != 1 || more || rest[0].ID != ids[0] {
			t.Fatalf("second page = %v, %v", rest, more)
		}
		typed, _, _ := events.List(ctx, a.ID, event.Filter{Type: "merchant.connected"}, store.Page{Limit: 10})
		if len(typed) != 2 {
			t.Fatalf("by type: %d events", len(typed))
		}
		byObject, _, _ := events.List(ctx, a.ID, event.Filter{ObjectID: "mer_2"}, store.Page{Limit: 10})
		if len(byObject) != 1 || byObject[0].Type != "merchant.status_changed" {
			t.Fatalf("by object: %v", byObject)
		}

		got, err := events.Get(ctx, a.ID, ids[0])
		var data map[string]int
		if err != nil || json.Unmarshal(got.Data, &data) != nil || data["n"] != 0 || !got.Created.Equal(now) {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		// Another platform sees none of them.
		if _, err := events.Get(ctx, b.ID, ids[0]); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("B got A's event: %v", err)
		}
		if l, _, _ := events.List(ctx, b.ID, event.Filter{}, store.Page{Limit: 10}); len(l) != 0 {
			t.Fatalf("B lists %d events", len(l))
		}
	})
}

func TestRolledBackChangeLeavesNoEvent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p, _ := platform.NewService(db, time.Now).Create(ctx, "A")
		boom := errors.New("the change failed")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := event.Record(ctx, tx, time.Now(), p.ID, "merchant.connected", "mer_1", nil); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if l, _, _ := event.NewStore(db).List(ctx, p.ID, event.Filter{}, store.Page{Limit: 10}); len(l) != 0 {
			t.Fatalf("rolled-back change left %d events", len(l))
		}
	})
}
