package payment_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v85"
	"golang.org/x/time/rate"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// BenchmarkPayments sends off-session direct charges through Tender's API
// into the in-process emulator and waits until every one is settled, on
// SQLite and on PostgreSQL (with TEST_DATABASE_URL), first with no rate
// limit anywhere, then with the emulator refusing more than 100 requests a
// second (Stripe's live-mode limit) and Tender limited to the same.
// docs/BENCHMARKS.md records the results; in short:
//
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench Payments -benchtime 1x -timeout 60m ./internal/payment/
//
// Each run does a fixed amount of work whatever b.N is: give it -benchtime
// 1x. TENDER_BENCH_PAYMENTS (default 10,000) sets the number of payments,
// with a hundredth as many merchants and a tenth as many customers, as the
// issue's 10,000 / 100 / 1,000; TENDER_BENCH_WORKERS (default 20) the jobs
// run at once, as TENDER_WORKERS does; TENDER_BENCH_POLL_INTERVAL, as
// TENDER_JOB_POLL_INTERVAL (default 500ms), how often idle workers look
// for jobs. Twenty workers, not Tender's default ten: a payment job holds a
// worker for its own work and then, on average, half of River's 100 ms
// fetch cooldown before the next job reaches it, so ten workers carry about
// as many payments a second as the limit allows requests, with nothing to
// spare (docs/BENCHMARKS.md).
//
// Setup, not timed: a platform fee policy; the merchants connected through
// Express links; each customer with a card saved through a SetupIntent and
// consents for two merchants, c mod M and (c + M/2) mod M. Payment i
// charges customer i mod C at the first of those merchants in even rounds
// of C payments and the second in odd ones, so every (customer, merchant)
// pair it uses has a consent, each of the 2C pairs is charged N/2C times
// (five at the default size), and every merchant takes the same number of
// payments. The card's clone onto a merchant's account is made by the
// first payment of each pair, inside the timed part, as it would be in
// production.
//
// Timed: TENDER_BENCH_CLIENTS (default 8) clients post the payments (with
// Idempotency-Keys) as fast as Tender accepts them, while its workers process them; the run ends when
// none is pending or processing. Reported:
//
//   - accepted/s: payments accepted by the API, per second of posting;
//   - settled/s: payments in a final state, per second from the first
//     POST to the last payment's final update;
//   - p50-ms, p99-ms: from a payment's acceptance (created_at) to its final
//     state (updated_at). The payments arrive far faster than Stripe's limit
//     lets them be charged, so in the limited run this is mostly time in the
//     queue;
//   - stripe-req/s: requests the emulator received per second over the same
//     window, and stripe-req/payment;
//   - limit-used-%: stripe-req/s as a share of the emulator's limit (limited
//     run), and steady-limit-used-% the same between the 10th and the 90th
//     percent of payments settled, without the start and the tail;
//   - 429s: responses Tender got from the emulator with status 429, counted
//     from its log of every attempt (stripeapi logs each at warn);
//   - job-p50-ms, job-p99-ms: how long a payment.process job ran, from
//     River's attempted_at to finalized_at, and jobs-retried, those that
//     ran more than once;
//   - peak-RSS-MiB: the process's peak resident set (VmHWM, reset before
//     setup), which holds Tender, the emulator and the clients together.
func BenchmarkPayments(b *testing.B) {
	size := benchSizeFromEnv(b)
	jobs := app.Config{Workers: benchEnvInt(b, "TENDER_BENCH_WORKERS", 20)}
	clients := benchEnvInt(b, "TENDER_BENCH_CLIENTS", 8)
	if v := os.Getenv("TENDER_BENCH_POLL_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Millisecond {
			b.Fatalf("TENDER_BENCH_POLL_INTERVAL=%q: want a duration of at least 10ms", v)
		}
		jobs.PollInterval = d
	}
	for _, dbName := range []string{"sqlite", "postgres"} {
		for _, limited := range []bool{false, true} {
			name := dbName + "/unlimited"
			if limited {
				name = fmt.Sprintf("%s/limit-%d", dbName, benchLimit)
			}
			b.Run(name, func(b *testing.B) {
				benchResetPeakRSS()
				db := benchDB(b, dbName)
				runPaymentsBench(b, db, size, jobs, clients, limited)
			})
		}
	}
}

// benchLimit is the emulator's limit in the limited run: Stripe's in live
// mode, requests per second.
const benchLimit = emulator.RateLimitLiveMode

// benchConsents is how many merchants each customer consents to.
const benchConsents = 2

type benchSize struct{ payments, merchants, customers int }

func benchSizeFromEnv(b *testing.B) benchSize {
	n := benchEnvInt(b, "TENDER_BENCH_PAYMENTS", 10_000)
	return benchSize{payments: n, merchants: max(benchConsents, n/100), customers: max(1, n/10)}
}

func benchEnvInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// benchDB opens a fresh database as `tender serve` opens it (PostgreSQL
// with its default pool, not the test suite's smaller one) and migrates it.
func benchDB(b *testing.B, dialect string) *store.DB {
	b.Helper()
	var dsn string
	if dialect == "sqlite" {
		dsn = "sqlite:" + filepath.Join(b.TempDir(), "tender.db")
	} else {
		dsn = storetest.PostgresSchemaURL(b, storetest.PostgresURL(b))
	}
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := app.Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	return db
}

// benchSample is the state of a run at one moment.
type benchSample struct {
	at        time.Time
	requests  int64 // received by the emulator
	completed int   // payments in a final state
}

// runPaymentsBench runs the benchmark on db with jobs' Workers and
// PollInterval, posting payments from that many clients.
func runPaymentsBench(b *testing.B, db *store.DB, size benchSize, jobs app.Config, clients int, limited bool) {
	ctx := context.Background()
	logs := &benchLog{}
	cfg := app.Config{Workers: jobs.Workers, PollInterval: jobs.PollInterval, Logger: slog.New(logs)}
	if limited {
		// The emulator limits globally only, so Tender does too: with
		// Stripe's per-endpoint default (25/s) PaymentIntent creations
		// alone could not use more than a quarter of the limit.
		cfg.StripeRateLimit, cfg.StripeEndpointRateLimit = benchLimit, rate.Inf
	}
	env := apitest.NewWithEmulator(b, db, cfg, emulator.Options{Seed: 1})
	api := newBenchAPI(env, max(clients, 8))

	b.Logf("setup: %d merchants, %d customers with a card and %d consents each", size.merchants, size.customers, benchConsents)
	setupStart := time.Now()
	if err := api.post("/v1/fee_policy", json.RawMessage(`{"rules":{"usd":{"basis_points":250,"fixed":20}}}`), "", nil); err != nil {
		b.Fatal(err)
	}
	merchants := make([]string, size.merchants)
	if err := benchParallel(size.merchants, 8, func(i int) (err error) {
		merchants[i], err = api.merchant(env, fmt.Sprintf("Merchant %d", i))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	sc := env.StripeClient()
	customers := make([]string, size.customers)
	if err := benchParallel(size.customers, 8, func(c int) (err error) {
		if customers[c], err = api.customerWithCard(sc, c); err != nil {
			return err
		}
		for j := range benchConsents {
			if err := api.consent(customers[c], merchants[benchMerchant(c, j, size.merchants)]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if err := env.App.Start(ctx); err != nil {
		b.Fatal(err)
	}
	if limited {
		env.Emulator.SetFaults(emulator.Faults{RateLimit: benchLimit})
	}
	b.Logf("setup took %v", time.Since(setupStart).Round(time.Millisecond))

	// Timed: post every payment while the workers process them.
	b.ResetTimer()
	t0 := time.Now()
	req0 := env.EmulatorRequests.Load()
	limited0 := logs.rateLimited.Load()
	var accepted atomic.Int64
	var acceptedAt time.Time
	postErr := make(chan error, 1)
	go func() {
		err := benchParallel(size.payments, clients, func(i int) error {
			c := i % size.customers
			m := benchMerchant(c, (i/size.customers)%benchConsents, size.merchants)
			var p struct{ ID, Status string }
			err := api.post("/v1/payments", map[string]any{"merchant": merchants[m], "customer": customers[c], "amount": 1000 + i%997,
				"currency": "usd", "off_session": true, "reference": fmt.Sprint("order-", i)}, fmt.Sprint("bench-payment-", i), &p)
			if err == nil {
				accepted.Add(1)
			}
			return err
		})
		acceptedAt = time.Now()
		postErr <- err
	}()

	var samples []benchSample
	lastProgress := t0
	posting := true
	deadline := time.Now().Add(30*time.Minute + time.Duration(size.payments)*100*time.Millisecond)
	for {
		if posting {
			select {
			case err := <-postErr:
				if err != nil {
					b.Fatal(err)
				}
				posting = false
			default:
			}
		}
		// Read before counting, so that completed is never overstated.
		n := accepted.Load()
		var open int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM payments WHERE status IN ('pending', 'processing')`).Scan(&open); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, benchSample{at: time.Now(), requests: env.EmulatorRequests.Load(), completed: int(n) - open})
		if s := samples[len(samples)-1]; time.Since(lastProgress) >= 30*time.Second {
			lastProgress = time.Now()
			b.Logf("%6.1fs: %d accepted, %d settled, %d Stripe requests", s.at.Sub(t0).Seconds(), n, s.completed, s.requests-req0)
		}
		if !posting && open == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d payments still open after %v; log: %s", open, time.Since(t0), logs.summary())
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.StopTimer()
	last := samples[len(samples)-1]

	// Outcomes and latencies, from the payments' own timestamps.
	rows, err := db.QueryContext(ctx, `SELECT status, created_at, updated_at FROM payments`)
	if err != nil {
		b.Fatal(err)
	}
	statuses := map[string]int{}
	var latencies []time.Duration
	var lastFinal time.Time
	for rows.Next() {
		var status string
		var created, updated int64
		if err := rows.Scan(&status, &created, &updated); err != nil {
			b.Fatal(err)
		}
		statuses[status]++
		latencies = append(latencies, time.Duration(updated-created)*time.Microsecond)
		lastFinal = benchLater(lastFinal, time.UnixMicro(updated))
	}
	if err := rows.Close(); err != nil {
		b.Fatal(err)
	}
	if statuses["succeeded"] != size.payments {
		b.Errorf("statuses %v, want %d succeeded; log: %s", statuses, size.payments, logs.summary())
	}
	slices.Sort(latencies)
	window := lastFinal.Sub(t0)
	requests := last.requests - req0
	reqRate := float64(requests) / window.Seconds()

	runs, retried := benchJobs(b, env)

	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(size.payments)/acceptedAt.Sub(t0).Seconds(), "accepted/s")
	b.ReportMetric(float64(size.payments)/window.Seconds(), "settled/s")
	b.ReportMetric(benchMillis(benchPercentile(latencies, 0.50)), "p50-ms")
	b.ReportMetric(benchMillis(benchPercentile(latencies, 0.99)), "p99-ms")
	b.ReportMetric(float64(requests)/float64(size.payments), "stripe-req/payment")
	b.ReportMetric(reqRate, "stripe-req/s")
	b.ReportMetric(float64(logs.rateLimited.Load()-limited0), "429s")
	b.ReportMetric(benchPeakRSS(), "peak-RSS-MiB")
	b.ReportMetric(benchMillis(benchPercentile(runs, 0.50)), "job-p50-ms")
	b.ReportMetric(benchMillis(benchPercentile(runs, 0.99)), "job-p99-ms")
	b.ReportMetric(float64(retried), "jobs-retried")
	if limited {
		b.ReportMetric(100*reqRate/benchLimit, "limit-used-%")
		if steady, ok := benchSteadyRate(samples, size.payments); ok {
			b.ReportMetric(100*steady/benchLimit, "steady-limit-used-%")
		}
	}
	b.Logf("%d payments accepted in %v, settled in %v; %d Stripe requests; job warnings: %d%s",
		size.payments, acceptedAt.Sub(t0).Round(time.Millisecond), window.Round(time.Millisecond), requests, logs.warnings.Load(), logs.summary())
}

// benchJobs returns how long each payment.process job's last run took,
// from River's own timestamps (attempted_at to finalized_at), sorted, and
// how many jobs ran more than once.
func benchJobs(b *testing.B, env *apitest.Env) (runs []time.Duration, retried int) {
	b.Helper()
	params := river.NewJobListParams().Kinds(payment.ProcessArgs{}.Kind()).First(10_000)
	for {
		res, err := env.App.Jobs.JobList(context.Background(), params)
		if err != nil {
			b.Fatal(err)
		}
		for _, j := range res.Jobs {
			if j.AttemptedAt != nil && j.FinalizedAt != nil {
				runs = append(runs, j.FinalizedAt.Sub(*j.AttemptedAt))
			}
			if j.Attempt > 1 {
				retried++
			}
		}
		if len(res.Jobs) < 10_000 {
			break
		}
		params = params.After(res.LastCursor)
	}
	slices.Sort(runs)
	return runs, retried
}

// benchMerchant is the j-th merchant customer c consents to, of m.
func benchMerchant(c, j, m int) int { return (c + j*m/benchConsents) % m }

// benchSteadyRate is the request rate between the samples where a tenth and
// nine tenths of the payments were settled.
func benchSteadyRate(samples []benchSample, payments int) (float64, bool) {
	var from, to *benchSample
	for i := range samples {
		s := &samples[i]
		if from == nil && s.completed >= payments/10 {
			from = s
		}
		if s.completed <= payments*9/10 {
			to = s
		}
	}
	if from == nil || to == nil || !to.at.After(from.at) {
		return 0, false
	}
	return float64(to.requests-from.requests) / to.at.Sub(from.at).Seconds(), true
}

func benchPercentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func benchMillis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func benchLater(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// benchParallel calls f(0) … f(n-1) from p goroutines and returns the
// first error; after one, the rest are skipped.
func benchParallel(n, p int, f func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(p, n) {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return first
}

// benchAPI calls Tender's API from many goroutines. Unlike apitest.Env it
// returns errors rather than failing the benchmark, and does not check
// responses against the OpenAPI document, which would cost as much CPU as
// Tender itself on a small machine.
type benchAPI struct {
	base, key string
	hc        *http.Client
}

func newBenchAPI(env *apitest.Env, conns int) *benchAPI {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conns
	return &benchAPI{base: env.Server.URL, key: env.Key, hc: &http.Client{Transport: tr, Timeout: time.Minute}}
}

func (a *benchAPI) post(path string, body any, idempotencyKey string, out any) error {
	js, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest("POST", a.base+path, bytes.NewReader(js))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Content-Type", "application/json")
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, got)
	}
	if out != nil {
		return json.Unmarshal(got, out)
	}
	return nil
}

// merchant makes a merchant and connects it through an Express link,
// which the emulator enables at once.
func (a *benchAPI) merchant(env *apitest.Env, name string) (string, error) {
	var m struct{ ID string }
	if err := a.post("/v1/merchants", map[string]string{"name": name}, "", &m); err != nil {
		return "", err
	}
	var l struct{ URL string }
	if err := a.post("/v1/merchants/"+m.ID+"/connect_links", map[string]string{"type": "express",
		"return_url": "https://platform.example/done", "refresh_url": "https://platform.example/again"}, "", &l); err != nil {
		return "", err
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(l.URL, url.Values{})
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("express onboarding of %s: %s", m.ID, resp.Status)
	}
	got, err := env.App.Connect.Merchant(context.Background(), env.PlatformID, m.ID)
	if err != nil {
		return "", err
	}
	if got.Connection.Status != connect.StatusEnabled {
		return "", fmt.Errorf("merchant %s: %s after onboarding", m.ID, got.Connection.Status)
	}
	return m.ID, nil
}

// customerWithCard makes a customer and saves a card for them as a front
// end would: a SetupIntent from Tender, confirmed at the emulator with a
// test card (standing in for Stripe.js), then recorded.
func (a *benchAPI) customerWithCard(sc *stripe.Client, n int) (string, error) {
	var c, si struct{ ID string }
	if err := a.post("/v1/customers", map[string]string{"email": fmt.Sprintf("customer%d@example.com", n)}, "", &c); err != nil {
		return "", err
	}
	if err := a.post("/v1/customers/"+c.ID+"/setup_intents", map[string]any{}, "", &si); err != nil {
		return "", err
	}
	got, err := sc.V1SetupIntents.Confirm(context.Background(), si.ID, &stripe.SetupIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa")})
	if err != nil {
		return "", err
	}
	if got.Status != stripe.SetupIntentStatusSucceeded {
		return "", fmt.Errorf("setup intent %s: %s", si.ID, got.Status)
	}
	return c.ID, a.post("/v1/customers/"+c.ID+"/payment_methods", map[string]string{"setup_intent": si.ID}, "", nil)
}

// consent records the customer's off-session consent for the merchant on
// their default card.
func (a *benchAPI) consent(customerID, merchantID string) error {
	return a.post("/v1/customers/"+customerID+"/consents", map[string]any{"merchant": merchantID,
		"evidence": map[string]string{"text": "I allow " + merchantID + " to charge my card.", "text_version": "1"}}, "", nil)
}

// benchLog is Tender's logger in the benchmark: it keeps nothing below
// warn, counts the 429s stripeapi logs (one line per attempt) and keeps the
// first few other warnings and errors (failed jobs) for the report.
type benchLog struct {
	rateLimited atomic.Int64
	warnings    atomic.Int64
	mu          sync.Mutex
	first       []string
}

func (h *benchLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *benchLog) Handle(_ context.Context, r slog.Record) error {
	limited := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "status" && a.Value.Kind() == slog.KindInt64 && a.Value.Int64() == http.StatusTooManyRequests {
			limited = true
		}
		return !limited
	})
	if limited {
		h.rateLimited.Add(1)
		return nil
	}
	h.warnings.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.first) < 5 {
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		h.first = append(h.first, b.String())
	}
	return nil
}

func (h *benchLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *benchLog) WithGroup(string) slog.Handler      { return h }

func (h *benchLog) summary() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.first) == 0 {
		return ""
	}
	return "\n\t" + strings.Join(h.first, "\n\t")
}

// benchResetPeakRSS returns what the collector can to the system and resets
// the process's peak resident set (VmHWM), so that each run reports its
// own. Without /proc the peak stays the process's since it started.
func benchResetPeakRSS() {
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// benchPeakRSS is the process's peak resident set in MiB: VmHWM from
// /proc/self/status, or getrusage's maxrss where there is no /proc.
func benchPeakRSS() float64 {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
				kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
				if err == nil {
					return kb / 1024
				}
			}
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // KiB on Linux
}
