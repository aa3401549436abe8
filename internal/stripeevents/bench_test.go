package stripeevents_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/stripeevents"
)

// BenchmarkIngest posts signed Stripe events to a platform's endpoint over
// loopback HTTP, from TENDER_BENCH_SENDERS (default 16) keep-alive
// connections at once, and measures what Stripe waits for: the signature
// verified, the event de-duplicated and committed with its job, and the
// 2xx. It reports events taken a second over the run, and the median and
// 99th percentile of each request. TENDER_BENCH_EVENTS (default 5,000)
// sets the number of events; each run does that fixed amount of work
// whatever b.N is, so give it -benchtime 1x. On SQLite and, with
// TEST_DATABASE_URL, PostgreSQL; docs/BENCHMARKS.md records the results:
//
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench Ingest -benchtime 1x ./internal/stripeevents/
func BenchmarkIngest(b *testing.B) {
	n, senders := 5000, 16
	if v, err := strconv.Atoi(os.Getenv("TENDER_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	if v, err := strconv.Atoi(os.Getenv("TENDER_BENCH_SENDERS")); err == nil && v > 0 {
		senders = v
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
				benchIngest(b, open(b), n, senders)
			}
		})
	}
}

func benchIngest(b *testing.B, db *store.DB, n, senders int) {
	const secret = "whsec_benchmarkbenchmarkbenchmark"
	env := apitest.New(b, db, app.Config{Stripe: &platform.Stripe{SecretKey: emulator.DefaultSecretKey,
		WebhookSecrets: []string{secret}, Source: platform.StripeFromEnvironment}})
	url := env.Server.URL + stripeevents.Path(env.PlatformID, stripeevents.ScopeAccount)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, senders)
	b.ResetTimer()
	t0 := time.Now()
	for range senders {
		wg.Go(func() {
			for i := range next {
				body := eventBody(fmt.Sprintf("evt_bench%08d", i), "payment_intent.succeeded", "", false,
					map[string]any{"id": fmt.Sprintf("pi_bench%08d", i), "object": "payment_intent"})
				req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				start := time.Now()
				req.Header.Set("Stripe-Signature", emulator.Sign(body, secret, start))
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body) // so the connection is kept
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("event %d: %d", i, resp.StatusCode)
					}
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				lat[i] = time.Since(start)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	slices.Sort(lat)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99_ms")
}
