package webhooks_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// BenchmarkDelivery records events the way feature packages do (one
// transaction each, from 4 goroutines, 4 events per object) with one
// endpoint subscribed to all of them, and measures from each commit to the
// local receiver's 2xx: events delivered a second over the whole run, and
// the median and 99th percentile of commit→delivery. On SQLite and, with
// TEST_DATABASE_URL, PostgreSQL. docs/BENCHMARKS.md records the results:
//
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench Delivery -benchtime 1x ./internal/webhooks/
//
// TENDER_BENCH_EVENTS (default 2,000) sets the number of events;
// TENDER_BENCH_RATE, when set, paces the writers to that many events a
// second in all, so that commit→delivery is the pipeline's latency rather
// than the queue behind a burst. Each run
// does that fixed amount of work whatever b.N is: give it -benchtime 1x.
func BenchmarkDelivery(b *testing.B) {
	n := 2000
	if s := os.Getenv("TENDER_BENCH_EVENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dbs := map[string]func(testing.TB) *store.DB{"sqlite": func(tb testing.TB) *store.DB { return storetest.SQLite(tb) }}
	if os.Getenv("TEST_DATABASE_URL") != "" {
		dbs["postgres"] = func(tb testing.TB) *store.DB { return storetest.Postgres(tb) }
	}
	for _, name := range []string{"sqlite", "postgres"} {
		open, ok := dbs[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				benchDelivery(b, open(b), n)
			}
		})
	}
}

func benchDelivery(b *testing.B, db *store.DB, n int) {
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	rc := newReceiver(b, func(_ int, g got) int {
		mu.Lock()
		defer mu.Unlock()
		arrived[g.ID] = time.Now()
		return http.StatusOK
	})
	// Tender's defaults: fan-out every 250 ms, idle job workers polling
	// every 500 ms (TENDER_JOB_POLL_INTERVAL); TENDER_BENCH_FAST=1 polls
	// every 10 and 20 ms instead, to show what the intervals cost.
	e := env(b, db, nil, func(c *app.Config) {
		if os.Getenv("TENDER_BENCH_FAST") == "" {
			c.WebhookPollInterval, c.PollInterval = 0, 0
		}
	})
	createEndpoint(b, e, rc.srv.URL, "*")
	ctx := context.Background()
	committed := make([]map[string]time.Time, 4)
	var wg sync.WaitGroup
	var gap time.Duration // between one writer's events
	if r, _ := strconv.Atoi(os.Getenv("TENDER_BENCH_RATE")); r > 0 {
		gap = time.Duration(len(committed)) * time.Second / time.Duration(r)
	}
	start := time.Now()
	for w := range committed {
		committed[w] = map[string]time.Time{}
		wg.Go(func() {
			for i := w; i < n; i += len(committed) {
				if gap > 0 {
					time.Sleep(time.Until(start.Add(time.Duration(i/len(committed)) * gap)))
				}
				obj := fmt.Sprintf("pay_%d", i/4)
				var id string
				err := db.InTx(ctx, func(tx *sql.Tx) error {
					ev, err := event.Record(ctx, tx, time.Now(), e.PlatformID, "payment.created", obj, map[string]int{"i": i})
					if ev != nil {
						id = ev.ID
					}
					return err
				})
				if err != nil {
					b.Error(err)
					return
				}
				committed[w][id] = time.Now()
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		mu.Lock()
		done := len(arrived)
		mu.Unlock()
		if done >= n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d events delivered in 5 minutes", done, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	var lat []time.Duration
	mu.Lock()
	for _, m := range committed {
		for id, at := range m {
			lat = append(lat, arrived[id].Sub(at))
		}
	}
	mu.Unlock()
	slices.Sort(lat)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
	b.ReportMetric(0, "ns/op")
}
