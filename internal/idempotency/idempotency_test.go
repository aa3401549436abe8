package idempotency_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
		p, err := platform.NewService(db, clk.now).Create(ctx, "P")
		if err != nil {
			t.Fatal(err)
		}
		s := idempotency.NewStore(db, clk.now)
		req := idempotency.Request{PlatformID: p.ID, Key: "k1", Method: "POST", Path: "/v1/platform", Fingerprint: "f1"}

		c, r, err := s.Begin(ctx, req)
		if c == nil || r != nil || err != nil {
			t.Fatalf("first Begin = %v, %v, %v", c, r, err)
		}
		if _, _, err := s.Begin(ctx, req); errs.As(err).Reason != "idempotency_key_in_use" {
			t.Fatalf("concurrent Begin = %v, want in use", err)
		}
		other := req
		other.Fingerprint = "f2"
		if _, _, err := s.Begin(ctx, other); errs.As(err).Reason != "idempotency_key_reused" {
			t.Fatalf("different params = %v, want reused", err)
		}
		if _, err := c.Complete(ctx, idempotency.Response{Status: 200, Body: []byte(`{"ok":true}`)}); err != nil {
			t.Fatal(err)
		}
		_, r, err = s.Begin(ctx, req)
		if err != nil || r == nil || r.Status != 200 || string(r.Body) != `{"ok":true}` {
			t.Fatalf("replay = %+v, %v", r, err)
		}

		// A key is scoped to its platform.
		q, _ := platform.NewService(db, clk.now).Create(ctx, "Q")
		elsewhere := req
		elsewhere.PlatformID = q.ID
		if _, r, err := s.Begin(ctx, elsewhere); r != nil || err != nil {
			t.Fatalf("same key on another platform = %v, %v; want a fresh start", r, err)
		}

		// Past retention the key is new again, and Prune removes it.
		clk.t = clk.t.Add(idempotency.Retention + time.Second)
		if n, err := s.Prune(ctx); err != nil || n != 2 { // both platforms' records
			t.Fatalf("Prune = %d, %v; want 2", n, err)
		}
		if _, r, err := s.Begin(ctx, req); r != nil || err != nil {
			t.Fatalf("Begin after expiry = %v, %v", r, err)
		}
	})
}

func TestTakeoverAfterCrashAndRelease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
		p, _ := platform.NewService(db, clk.now).Create(ctx, "P")
		s := idempotency.NewStore(db, clk.now)
		req := idempotency.Request{PlatformID: p.ID, Key: "k", Method: "POST", Path: "/x", Fingerprint: "f"}
		first, _, err := s.Begin(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		// The process handling it died; once its lease runs out a retry runs.
		clk.t = clk.t.Add(idempotency.Lease + time.Second)
		second, r, err := s.Begin(ctx, req)
		if second == nil || r != nil || err != nil {
			t.Fatalf("takeover = %v, %v, %v", second, r, err)
		}
		// The first holder, if it was only slow, can no longer answer for
		// the key, nor release it.
		if _, err := first.Complete(ctx, idempotency.Response{Status: 200, Body: []byte(`{}`)}); errs.As(err).Reason != "idempotency_key_in_use" {
			t.Fatalf("the first holder's Complete after takeover = %v, want in use", err)
		}
		if err := first.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Begin(ctx, req); errs.As(err).Reason != "idempotency_key_in_use" {
			t.Fatalf("the first holder released the second's key: %v", err)
		}
		if err := second.Release(ctx); err != nil {
			t.Fatal(err)
		}
		other := req
		other.Fingerprint = "g" // released: the key is free for any request
		if _, r, err := s.Begin(ctx, other); r != nil || err != nil {
			t.Fatalf("after release = %v, %v", r, err)
		}
		if err := idempotency.ValidateKey(string(make([]byte, 256))); errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("256-char key accepted")
		}
	})
}

// TestResponsesSealedAtRest: with a master key, a stored response is
// unreadable in the database and replays as it was; one stored in clear
// before sealing was turned on still replays.
func TestResponsesSealedAtRest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
		p, err := platform.NewService(db, clk.now).Create(ctx, "P")
		if err != nil {
			t.Fatal(err)
		}
		keys, err := secret.ParseKeyring(secret.NewKey(), nil)
		if err != nil {
			t.Fatal(err)
		}
		plain := idempotency.NewStore(db, clk.now)
		sealed := idempotency.NewStore(db, clk.now).SealWith(keys)
		body := `{"url":"https://pay.example/connect/links/SECRET-TOKEN"}`
		for _, tc := range []struct {
			key   string
			store *idempotency.Store
		}{{"old", plain}, {"new", sealed}} {
			req := idempotency.Request{PlatformID: p.ID, Key: tc.key, Method: "POST", Path: "/v1/x", Fingerprint: "f"}
			c, _, err := tc.store.Begin(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Complete(ctx, idempotency.Response{Status: 200, Body: []byte(body)}); err != nil {
				t.Fatal(err)
			}
			_, r, err := sealed.Begin(ctx, req)
			if err != nil || r == nil || string(r.Body) != body {
				t.Fatalf("%s: replay = %+v, %v", tc.key, r, err)
			}
		}
		var stored string
		if err := db.QueryRowContext(ctx, `SELECT response_body FROM idempotency_keys WHERE idempotency_key = 'new'`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, "SECRET-TOKEN") || !strings.HasPrefix(stored, "v1.") {
			t.Errorf("stored in clear: %s", stored)
		}
		// Moved to another key's row, it does not open.
		if _, err := db.ExecContext(ctx, `UPDATE idempotency_keys SET response_body = $1 WHERE idempotency_key = 'old'`, stored); err != nil {
			t.Fatal(err)
		}
		req := idempotency.Request{PlatformID: p.ID, Key: "old", Method: "POST", Path: "/v1/x", Fingerprint: "f"}
		if _, _, err := sealed.Begin(ctx, req); err == nil {
			t.Error("a sealed response opened under another key")
		}
	})
}

// TestCommitWithTheWork: an answer stored by Commit is part of the work's
// transaction: rolled back with it (the key stays the claim's, and the
// request may run again), committed with it (the key replays it), and
// refused once another request took the key over, so that work rolls back.
func TestCommitWithTheWork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
		p, err := platform.NewService(db, clk.now).Create(ctx, "P")
		if err != nil {
			t.Fatal(err)
		}
		s := idempotency.NewStore(db, clk.now)
		req := idempotency.Request{PlatformID: p.ID, Key: "k", Method: "POST", Path: "/v1/x", Fingerprint: "f"}
		c, _, err := s.Begin(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		claimed := idempotency.NewContext(ctx, c)
		rollback := errors.New("the work failed after its answer was written")
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			if err := idempotency.Commit(claimed, tx, map[string]string{"id": "x_1"}); err != nil {
				return err
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatal(err)
		}
		if _, _, err := s.Begin(ctx, req); errs.As(err).Reason != "idempotency_key_in_use" {
			t.Fatalf("after a rolled-back Commit the key is %v; want still held", err)
		}
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return idempotency.Commit(claimed, tx, map[string]string{"id": "x_1"}) }); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Complete(ctx, idempotency.Response{Status: 200, Body: []byte("{\"id\":\"x_1\"}\n")}); err != nil || string(got.Body) != "{\"id\":\"x_1\"}\n" {
			t.Fatalf("Complete after Commit = %s, %v", got.Body, err)
		}
		_, r, err := s.Begin(ctx, req)
		if err != nil || r == nil || r.Status != 200 || string(r.Body) != "{\"id\":\"x_1\"}\n" {
			t.Fatalf("replay = %+v, %v", r, err)
		}
		// A handler answering otherwise than it committed: the committed
		// answer is the key's, and Complete says so.
		req2 := req
		req2.Key = "k2"
		c2, _, _ := s.Begin(ctx, req2)
		claimed2 := idempotency.NewContext(ctx, c2)
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return idempotency.Commit(claimed2, tx, map[string]int{"n": 1}) }); err != nil {
			t.Fatal(err)
		}
		if got, err := c2.Complete(ctx, idempotency.Response{Status: 500, Body: []byte(`{}`)}); err != nil || got.Status != 200 {
			t.Fatalf("Complete with another answer = %d %s, %v; want the committed 200", got.Status, got.Body, err)
		}

		// Taken over: the slow first holder's work cannot commit.
		req3 := req
		req3.Key = "k3"
		slow, _, _ := s.Begin(ctx, req3)
		clk.t = clk.t.Add(idempotency.Lease + time.Second)
		if _, _, err := s.Begin(ctx, req3); err != nil {
			t.Fatal(err)
		}
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			return idempotency.Commit(idempotency.NewContext(ctx, slow), tx, map[string]int{"n": 1})
		})
		if errs.As(err).Reason != "idempotency_key_in_use" {
			t.Fatalf("Commit by a taken-over claim = %v; want in use", err)
		}
		// Without a claim, Commit does nothing.
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return idempotency.Commit(ctx, tx, 1) }); err != nil {
			t.Fatal(err)
		}
	})
}

// TestClaimDerivesIDs: a request's ids derive from its key and its first
// use, so a run after a takeover draws the same ones, and another key
// draws others.
func TestClaimDerivesIDs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
		p, _ := platform.NewService(db, clk.now).Create(ctx, "P")
		s := idempotency.NewStore(db, clk.now)
		draw := func(c *idempotency.Claim) []string {
			cctx := idempotency.NewContext(ctx, c)
			return []string{id.For(cctx, "pay"), id.For(cctx, "pay"), id.For(cctx, "tr")}
		}
		req := idempotency.Request{PlatformID: p.ID, Key: "k", Method: "POST", Path: "/v1/x", Fingerprint: "f"}
		first, _, _ := s.Begin(ctx, req)
		a := draw(first)
		clk.t = clk.t.Add(idempotency.Lease + time.Second)
		second, _, err := s.Begin(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if b := draw(second); strings.Join(a, ",") != strings.Join(b, ",") {
			t.Fatalf("rerun drew %v, first run %v", b, a)
		}
		if a[0] == a[1] || !id.HasPrefix(a[0], "pay") || !id.HasPrefix(a[2], "tr") {
			t.Fatalf("ids %v", a)
		}
		// A try that could not be done for now unlocks the key: the retry
		// takes it at once, as the same request, drawing the same ids, later.
		if err := second.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(time.Minute)
		third, _, err := s.Begin(ctx, req)
		if err != nil {
			t.Fatalf("Begin after Unlock = %v", err)
		}
		if b := draw(third); strings.Join(a, ",") != strings.Join(b, ",") {
			t.Fatalf("retry after Unlock drew %v, first run %v", b, a)
		}
		changed := req
		changed.Fingerprint = "g"
		if err := third.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Begin(ctx, changed); errs.As(err).Reason != "idempotency_key_reused" {
			t.Fatalf("other parameters after Unlock = %v; want reused", err)
		}
		other := req
		other.Key = "k-other"
		c, _, _ := s.Begin(ctx, other)
		if b := draw(c); b[0] == a[0] {
			t.Fatalf("another key drew the same id %s", b[0])
		}
	})
}
