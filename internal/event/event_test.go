package event_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// record records one event in its own transaction and returns it as the
// feed shows it once the transaction has returned: numbered.
func record(t *testing.T, db *store.DB, at time.Time, platformID string, typ event.Type, objectID string, data any) *event.Event {
	t.Helper()
	var e *event.Event
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		e, err = event.Record(context.Background(), tx, at, platformID, typ, objectID, data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := event.NewStore(db).Get(context.Background(), platformID, e.ID)
	if err != nil {
		t.Fatalf("event %s once its transaction returned: %v", e.ID, err)
	}
	return got
}

func ids(events []*event.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}

func TestRecordListGet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		plats := platform.NewService(db, time.Now)
		a, _ := plats.Create(ctx, "A")
		b, _ := plats.Create(ctx, "B")
		now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		var recorded []*event.Event
		for i, typ := range []event.Type{"merchant.connected", "merchant.status_changed", "merchant.connected"} {
			recorded = append(recorded, record(t, db, now, a.ID, typ, "mer_"+string(rune('1'+i%2)), map[string]any{"n": i}))
		}
		want := ids(recorded)
		for i, e := range recorded {
			if e.Sequence != int64(i+1) {
				t.Errorf("event %d has sequence %d", i, e.Sequence)
			}
		}
		if recorded[0].ObjectSequence != 1 || recorded[1].ObjectSequence != 1 || recorded[2].ObjectSequence != 2 {
			t.Errorf("object sequences %d %d %d, want 1 1 2", recorded[0].ObjectSequence, recorded[1].ObjectSequence, recorded[2].ObjectSequence)
		}
		events := event.NewStore(db)

		all, more, err := events.List(ctx, a.ID, event.Query{Page: store.Page{Limit: 2}})
		if err != nil || !more || !slices.Equal(ids(all), []string{want[2], want[1]}) {
			t.Fatalf("first page = %v, %v, %v; want the two newest of %v", ids(all), more, err, want)
		}
		rest, more, _ := events.List(ctx, a.ID, event.Query{Page: store.Page{Limit: 2, StartingAfter: all[1].ID}})
		if more || !slices.Equal(ids(rest), want[:1]) {
			t.Fatalf("second page = %v, %v", ids(rest), more)
		}
		back, more, _ := events.List(ctx, a.ID, event.Query{Page: store.Page{Limit: 1, EndingBefore: want[0]}})
		if !more || !slices.Equal(ids(back), want[1:2]) {
			t.Fatalf("ending_before = %v, %v", ids(back), more)
		}
		typed, _, _ := events.List(ctx, a.ID, event.Query{Type: "merchant.connected", Page: store.Page{Limit: 10}})
		family, _, _ := events.List(ctx, a.ID, event.Query{Type: "merchant.*", Page: store.Page{Limit: 10}})
		other, _, _ := events.List(ctx, a.ID, event.Query{Type: "payment.*", Page: store.Page{Limit: 10}})
		if len(typed) != 2 || len(family) != 3 || len(other) != 0 {
			t.Fatalf("by type: %d, by family: %d, other family: %d", len(typed), len(family), len(other))
		}
		byObject, _, _ := events.List(ctx, a.ID, event.Query{ObjectID: "mer_2", Page: store.Page{Limit: 10}})
		if len(byObject) != 1 || byObject[0].Type != "merchant.status_changed" {
			t.Fatalf("by object: %v", byObject)
		}
		if _, _, err := events.List(ctx, a.ID, event.Query{Page: store.Page{Limit: 1, StartingAfter: "evt_unknown"}}); errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("unknown cursor: %v", err)
		}

		got, err := events.Get(ctx, a.ID, want[0])
		var data map[string]int
		if err != nil || json.Unmarshal(got.Data, &data) != nil || data["n"] != 0 || !got.Created.Equal(now) || got.Sequence != 1 {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		// Another platform sees none of them, and numbers its own from 1.
		if _, err := events.Get(ctx, b.ID, want[0]); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("B got A's event: %v", err)
		}
		if l, _, _ := events.List(ctx, b.ID, event.Query{Page: store.Page{Limit: 10}}); len(l) != 0 {
			t.Fatalf("B lists %d events", len(l))
		}
		if _, _, err := events.List(ctx, b.ID, event.Query{Page: store.Page{Limit: 1, StartingAfter: want[0]}}); errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("B paged by A's event: %v", err)
		}
		if e := record(t, db, now, b.ID, "merchant.connected", "mer_1", nil); e.Sequence != 1 || e.ObjectSequence != 1 {
			t.Fatalf("B's first event numbered %d/%d", e.Sequence, e.ObjectSequence)
		}
	})
}

func TestTailAndCreatedRange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p, _ := platform.NewService(db, time.Now).Create(ctx, "A")
		start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		var want []string
		for i := range 5 {
			want = append(want, record(t, db, start.Add(time.Duration(i)*time.Minute), p.ID, "payment.created", "pay_"+strconv.Itoa(i), nil).ID)
		}
		events := event.NewStore(db)
		var after int64
		var got []string
		for range 10 {
			page, more, err := events.List(ctx, p.ID, event.Query{After: &after, Page: store.Page{Limit: 2}})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ids(page)...)
			if len(page) > 0 {
				after = page[len(page)-1].Sequence
			}
			if !more {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("tailing the feed read %v, want %v in order", got, want)
		}
		ranged, _, _ := events.List(ctx, p.ID, event.Query{CreatedFrom: start.Add(time.Minute), CreatedUntil: start.Add(3 * time.Minute), Page: store.Page{Limit: 10}})
		if !slices.Equal(ids(ranged), []string{want[2], want[1]}) {
			t.Fatalf("created in [1m, 3m) = %v, want %v", ids(ranged), []string{want[2], want[1]})
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
		if l, _, _ := event.NewStore(db).List(ctx, p.ID, event.Query{Page: store.Page{Limit: 10}}); len(l) != 0 {
			t.Fatalf("rolled-back change left %d events", len(l))
		}
		// Nor a number: the next event is the first.
		if e := record(t, db, time.Now(), p.ID, "merchant.connected", "mer_1", nil); e.Sequence != 1 {
			t.Fatalf("after a rollback the first event is number %d", e.Sequence)
		}
	})
}

func TestRecordRefusesWhatTheCatalogueLacks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p, _ := platform.NewService(db, time.Now).Create(ctx, "A")
		for _, c := range []struct {
			typ event.Type
			obj string
		}{{"payment.teleported", "pay_1"}, {"payment.created", ""}} {
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				_, err := event.Record(ctx, tx, time.Now(), p.ID, c.typ, c.obj, nil)
				return err
			})
			if err == nil {
				t.Errorf("Record(%q, %q) succeeded", c.typ, c.obj)
			}
		}
	})
}

func TestPruneKeepsNumbers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p, _ := platform.NewService(db, time.Now).Create(ctx, "A")
		old := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
		record(t, db, old, p.ID, "payment.created", "pay_1", nil)
		record(t, db, old, p.ID, "payment.succeeded", "pay_1", nil)
		kept := record(t, db, old.Add(40*24*time.Hour), p.ID, "payment.created", "pay_2", nil)
		events := event.NewStore(db)
		n, err := events.Prune(ctx, old.Add(event.DefaultRetention))
		if err != nil || n != 2 {
			t.Fatalf("Prune = %d, %v; want the 2 old events", n, err)
		}
		if oldest, err := events.Oldest(ctx, p.ID); err != nil || oldest != kept.Sequence {
			t.Fatalf("Oldest = %d, %v; want %d", oldest, err, kept.Sequence)
		}
		// pay_1's next event is its third, and the platform's fourth.
		if e := record(t, db, time.Now(), p.ID, "payment.failed", "pay_1", nil); e.Sequence != 4 || e.ObjectSequence != 3 {
			t.Fatalf("after pruning, pay_1's next event is numbered %d/%d, want 4/3", e.Sequence, e.ObjectSequence)
		}
	})
}

// TestCatalogueListsEveryType reads every event.Type constant declared in
// Tender's source and checks it against the catalogue, both ways: an event
// that fires is documented, and a documented one is declared.
func TestCatalogueListsEveryType(t *testing.T) {
	declared := map[event.Type]string{}
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok || vs.Type == nil || len(vs.Values) != len(vs.Names) {
				return true
			}
			if sel, ok := vs.Type.(*ast.SelectorExpr); !ok || sel.Sel.Name != "Type" || sel.X.(*ast.Ident).Name != "event" {
				return true
			}
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(lit.Value)
					declared[event.Type(s)] = path
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(declared) < 10 {
		t.Fatalf("found only %d declared event types: is the walk reading the source?", len(declared))
	}
	for typ, path := range declared {
		if _, ok := event.Lookup(typ); !ok {
			t.Errorf("%s declares %s, which the catalogue lacks", path, typ)
		}
	}
	for _, k := range event.Catalogue() {
		if _, ok := declared[k.Type]; !ok {
			t.Errorf("the catalogue lists %s, which no package declares", k.Type)
		}
		if k.Object == "" || k.When == "" {
			t.Errorf("%s: no object or description", k.Type)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern string
		typ     event.Type
		want    bool
	}{
		{"*", "payment.created", true},
		{"payment.*", "payment.created", true},
		{"payment.*", "payout.paid", false},
		{"pay*", "payment.created", false},
		{"payment.created", "payment.created", true},
		{"payment.created", "payment.created.x", false},
		{"checkout_link.*", "checkout_link.paid", true},
	} {
		if got := event.Match(c.pattern, c.typ); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.pattern, c.typ, got)
		}
	}
	for p, want := range map[string]bool{"*": true, "payment.*": true, "payment.created": true, "payment.teleported": false, "paymen.*": false, "": false} {
		if event.ValidPattern(p) != want {
			t.Errorf("ValidPattern(%q) = %v", p, !want)
		}
	}
}
