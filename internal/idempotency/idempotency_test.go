package idempotency_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/errs"
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

		if r, err := s.Begin(ctx, req); r != nil || err != nil {
			t.Fatalf("first Begin = %v, %v", r, err)
		}
		if _, err := s.Begin(ctx, req); errs.As(err).Reason != "idempotency_key_in_use" {
			t.Fatalf("concurrent Begin = %v, want in use", err)
		}
		other := req
		other.Fingerprint = "f2"
		if _, err := s.Begin(ctx, other); errs.As(err).Reason != "idempotency_key_reused" {
			t.Fatalf("different params = %v, want reused", err)
		}
		if err := s.Complete(ctx, req, idempotency.Response{Status: 200, Body: []byte(`{"ok":true}`)}); err != nil {
			t.Fatal(err)
		}
		r, err := s.Begin(ctx, req)
		if err != nil || r == nil || r.Status != 200 || string(r.Body) != `{"ok":true}` {
			t.Fatalf("replay = %+v, %v", r, err)
		}

		// A key is scoped to its platform.
		q, _ := platform.NewService(db, clk.now).Create(ctx, "Q")
		elsewhere := req
		elsewhere.PlatformID = q.ID
		if r, err := s.Begin(ctx, elsewhere); r != nil || err != nil {
			t.Fatalf("same key on another platform = %v, %v; want a fresh start", r, err)
		}

		// Past retention the key is new again, and Prune removes it.
		clk.t = clk.t.Add(idempotency.Retention + time.Second)
		if n, err := s.Prune(ctx); err != nil || n != 2 { // both platforms' records
			t.Fatalf("Prune = %d, %v; want 2", n, err)
		}
		if r, err := s.Begin(ctx, req); r != nil || err != nil {
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
		if _, err := s.Begin(ctx, req); err != nil {
			t.Fatal(err)
		}
		// The process handling it died; after the lock timeout a retry runs.
		clk.t = clk.t.Add(idempotency.LockTimeout + time.Second)
		if r, err := s.Begin(ctx, req); r != nil || err != nil {
			t.Fatalf("takeover = %v, %v", r, err)
		}
		if err := s.Release(ctx, req); err != nil {
			t.Fatal(err)
		}
		other := req
		other.Fingerprint = "g" // released: the key is free for any request
		if r, err := s.Begin(ctx, other); r != nil || err != nil {
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
			if _, err := tc.store.Begin(ctx, req); err != nil {
				t.Fatal(err)
			}
			if err := tc.store.Complete(ctx, req, idempotency.Response{Status: 200, Body: []byte(body)}); err != nil {
				t.Fatal(err)
			}
			r, err := sealed.Begin(ctx, req)
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
		if _, err := sealed.Begin(ctx, req); err == nil {
			t.Error("a sealed response opened under another key")
		}
	})
}
