package idempotency

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// TestHoldRenewsTheLease: a request that runs longer than its lease keeps
// its key while it runs (no retry takes it over), and loses it only once it
// stops renewing, as a dead process does.
func TestHoldRenewsTheLease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var mu syncTime
		mu.set(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
		// platform cannot be imported here (it uses this package).
		if _, err := db.ExecContext(ctx, `INSERT INTO platforms (id, name, created_at, updated_at) VALUES ('plt_hold', 'P', 0, 0)`); err != nil {
			t.Fatal(err)
		}
		s := NewStore(db, mu.now)
		s.renewEvery = 5 * time.Millisecond
		req := Request{PlatformID: "plt_hold", Key: "slow", Method: "POST", Path: "/v1/x", Fingerprint: "f"}
		c, _, err := s.Begin(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		stop := c.Hold(ctx)
		// The request runs for two leases: the clock moves, the lease follows.
		for range 4 {
			mu.advance(Lease / 2)
			deadline := time.Now().Add(10 * time.Second)
			for !leasedPast(t, s, req, mu.now()) {
				if time.Now().After(deadline) {
					t.Fatal("lease not renewed")
				}
				time.Sleep(time.Millisecond)
			}
			if _, _, err := s.Begin(ctx, req); errs.As(err).Reason != "idempotency_key_in_use" {
				t.Fatalf("a retry while the request runs = %v; want in use", err)
			}
		}
		stop()
		mu.advance(Lease + time.Second)
		if c2, _, err := s.Begin(ctx, req); c2 == nil || err != nil {
			t.Fatalf("after the holder stopped: %v, %v; want a takeover", c2, err)
		}
	})
}

// leasedPast reports whether the key's lease runs past now.
func leasedPast(t *testing.T, s *Store, req Request, now time.Time) bool {
	t.Helper()
	var until store.Time
	if err := s.db.QueryRowContext(context.Background(), `SELECT locked_until FROM idempotency_keys WHERE platform_id = $1 AND idempotency_key = $2`,
		req.PlatformID, req.Key).Scan(&until); err != nil {
		t.Fatal(err)
	}
	return until.Time.Sub(now) > Lease/2
}

// syncTime is a clock the test moves while the holder reads it.
type syncTime struct {
	mu sync.Mutex
	t  time.Time
}

func (c *syncTime) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func (c *syncTime) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func (c *syncTime) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
