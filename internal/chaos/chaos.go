// Package chaos is a kill harness that tests Tender's exactly-once promise
// against crashes: it runs a real `tender serve` against a real `tender
// emulator`, drives a seeded load of off-session payments, captures and
// refunds through the public API with clients that retry as a careful
// platform does, SIGKILLs and restarts serve at seeded moments, then
// reconciles the clients' record with Tender's API and the emulator's own
// data. Any payment or refund made twice, missing, off by a unit, or not
// final in time is reported.
//
// It builds nothing: it runs a tender binary it is given, so that what is
// tested is what ships, processes and all, and a crash is a real one (no
// deferred function, no flushed buffer, locks left behind).
package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Config is one run's settings.
type Config struct {
	// Binary is the tender executable run as serve and emulator.
	Binary string
	// Database is "sqlite" (a new file in Dir) or a postgres:// URL of a
	// server on which the run creates, and afterwards drops, its own
	// database.
	Database     string
	KeepDatabase bool
	// Dir holds the run's files (SQLite database, process logs, the
	// client's record); empty makes a temporary one, removed after a run
	// that matched.
	Dir         string
	Seed        uint64
	Payments    int
	Kills       int
	Concurrency int
	Merchants   int
	Customers   int
	// Latency and LatencyJitter are the emulator's per-request delay.
	Latency       time.Duration
	LatencyJitter time.Duration
	// RequestTimeout bounds one logical request over all its retries; it
	// must outlast the lease on the key of a request that died
	// (idempotency.Lease) several times over, as one request can be caught
	// by more than one kill.
	RequestTimeout time.Duration
	// OrderWait is how long a client waits for a payment to be final
	// before it gives up on that order's capture and refunds. It must
	// outlast the rescue of a job a killed Tender left running
	// (jobs.ResumeWithin, about 1m36s), or an order whose charge was in
	// flight at a kill is never captured.
	OrderWait time.Duration
	// Settle is how long after the last restart every payment, refund and
	// transfer has to be final.
	Settle time.Duration
	// Progress, if set, receives a line per phase.
	Progress io.Writer
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	setDefault(&c.Database, "sqlite")
	setDefault(&c.Payments, 300)
	setDefault(&c.Concurrency, 16)
	setDefault(&c.Merchants, 3)
	setDefault(&c.Customers, 5)
	setDefault(&c.Seed, 1)
	setDefault(&c.RequestTimeout, 4*time.Minute)
	setDefault(&c.OrderWait, 3*time.Minute)
	setDefault(&c.Settle, 2*time.Minute)
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

func (c *Config) check() error {
	switch {
	case c.Binary == "":
		return errors.New("chaos: no tender binary")
	case c.Payments < 1, c.Kills < 0, c.Concurrency < 1, c.Merchants < 3, c.Customers < 1:
		return fmt.Errorf("chaos: want payments ≥ 1, kills ≥ 0, concurrency ≥ 1, merchants ≥ 3 (a split needs three), customers ≥ 1")
	case c.Kills >= c.Payments:
		return fmt.Errorf("chaos: %d kills need more than %d payments: kills are spread over the payments sent", c.Kills, c.Payments)
	}
	return nil
}

// Stats are a run's figures.
type Stats struct {
	Kills, Restarts int
	// RestartMax is the longest a restart took, from SIGKILL to /readyz.
	RestartMax time.Duration
	// Requests are the logical POSTs (each with its own key); Attempts
	// every HTTP request sent to Tender, polls and retries included;
	// Retries the attempts that were a retry.
	Requests, Attempts, Retries int64
	// RetriedRequests are the logical POSTs that needed more than one
	// attempt.
	RetriedRequests int
	Elapsed         time.Duration
	Load            time.Duration // from the first payment to the last order's end
	Settled         time.Duration // from the last restart until everything was final, or the wait ended
	Open            int           // payments with something not final at the end
	Webhooks        WebhookStats
	Inbox           InboxStats
}

// Result is a run's outcome.
type Result struct {
	Config Config
	Report *Report
	Stats  Stats
	Dir    string
}

// OK reports whether everything matched, and every event reached the
// run's webhook endpoint, each object's in order.
func (r *Result) OK() bool {
	return r.Report.OK() && r.Stats.Webhooks.Missing == 0 && len(r.Stats.Webhooks.OutOfOrder) == 0 &&
		r.Stats.Inbox.Missing == 0 && len(r.Stats.Inbox.Unfinished) == 0
}

// Run runs the harness once. Its error is the harness's own failure
// (a process that would not start, a setup step refused); what it found
// is in the Result.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	cfg.Defaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	start := time.Now()
	temp := cfg.Dir == ""
	if temp {
		if cfg.Dir, err = os.MkdirTemp("", "tender-chaos-"); err != nil {
			return nil, err
		}
	}
	defer func() {
		if temp && err == nil && res.OK() {
			os.RemoveAll(cfg.Dir)
		}
	}()
	r := &runner{cfg: cfg}
	if err := r.run(ctx); err != nil {
		return nil, fmt.Errorf("chaos: %w (files in %s)", err, cfg.Dir)
	}
	r.stats.Elapsed = time.Since(start)
	return &Result{Config: cfg, Report: r.report, Stats: r.stats, Dir: cfg.Dir}, nil
}

// runner holds one run's state.
type runner struct {
	cfg   Config
	cl    *cluster
	c     *client
	hooks *hookReceiver
	// hookCursor is the feed's sequence when the endpoint was made: every
	// later event must reach it.
	hookCursor int64
	orders     []Order
	stats      Stats
	report     *Report
	lastRun    time.Time // the last restart, or the load's start without kills
}

func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, "chaos: "+format+"\n", args...)
}

func (r *runner) run(ctx context.Context) error {
	cl, err := startCluster(ctx, r.cfg)
	if err != nil {
		return err
	}
	r.cl = cl
	defer cl.close()
	r.progress("tender serve at %s, emulator at %s, files in %s", cl.base(), cl.emuBase, r.cfg.Dir)
	r.c = newClient(cl.base(), cl.apiKey, r.cfg.RequestTimeout)
	sc := stripeClient(cl.emuBase)
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 0x7365747570)) // "setup"
	if r.hooks, err = startReceiver(); err != nil {
		return err
	}
	defer r.hooks.close()
	if err := subscribe(ctx, r.c, rng, r.hooks); err != nil {
		return fmt.Errorf("webhook endpoint: %w", err)
	}
	if r.hookCursor, err = feedCursor(ctx, r.c, rng); err != nil {
		return fmt.Errorf("read the event feed: %w", err)
	}
	hooksSince, err := setUpStripeHooks(ctx, r.c, rng)
	if err != nil {
		return fmt.Errorf("set up the Stripe webhook endpoints: %w", err)
	}
	w, err := setUp(ctx, r.c, sc, rng, r.cfg.Merchants, r.cfg.Customers)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	r.orders = plan(r.cfg.Seed, r.cfg.Payments, w)
	r.progress("%d merchants and %d customers set up; sending %d payments with %d kills", len(w.merchants), len(w.customers), len(r.orders), r.cfg.Kills)
	if err := r.drive(ctx); err != nil {
		return err
	}
	ps, err := r.settle(ctx, rng)
	if err != nil {
		return err
	}
	if r.stats.Webhooks, err = r.awaitDeliveries(ctx, rng, r.lastRun.Add(r.cfg.Settle)); err != nil {
		return err
	}
	wh := r.stats.Webhooks
	r.progress("%d of %d events delivered (%d repeats, %d out of order), %v after the last restart",
		wh.Delivered, wh.Events, wh.Repeats, len(wh.OutOfOrder), wh.Settled.Round(time.Second))
	accounts := make([]string, len(w.merchants))
	for i, m := range w.merchants {
		accounts[i] = m.account
	}
	if r.stats.Inbox, err = r.awaitInbox(ctx, rng, sc, accounts, hooksSince, r.lastRun.Add(r.cfg.Settle)); err != nil {
		return err
	}
	in := r.stats.Inbox
	r.progress("%d of %d Stripe events in the inbox (%d by webhook, %d only by the backfill), %d unfinished",
		in.InInbox, in.AtStripe, in.ByWebhook, in.OnlyByBackfill, len(in.Unfinished))
	st, err := stripeData(ctx, sc, accounts)
	if err != nil {
		return fmt.Errorf("read the emulator: %w", err)
	}
	r.report = Reconcile(r.orders, ps, st)
	r.tally()
	// The record is for a look afterwards; the summary does not need it.
	if err := r.save(ps, st); err != nil {
		r.progress("the record was not saved: %v", err)
	}
	return nil
}

// drive runs the load and the kills together; the kills are paced by the
// payments sent, so that all of them land while the load runs however
// fast the machine is.
func (r *runner) drive(ctx context.Context) error {
	l := &load{c: r.c, orderWait: r.cfg.OrderWait}
	loadCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.kill(loadCtx, l, done); err != nil {
			cancel(err)
		}
	})
	wg.Go(func() { r.tell(l, done) })
	start := time.Now()
	r.lastRun = start
	l.run(loadCtx, r.cfg.Seed, r.orders, r.cfg.Concurrency)
	r.stats.Load = time.Since(start)
	close(done)
	wg.Wait()
	r.progress("load done in %v: %d kills, %d restarts", r.stats.Load.Round(time.Second), r.stats.Kills, r.stats.Restarts)
	return context.Cause(loadCtx)
}

// progressEvery is how often a running load reports how far it is.
const progressEvery = 15 * time.Second

// tell reports the load's progress until done: a long run waiting out
// idempotency locks or stuck payments should say so.
func (r *runner) tell(l *load, done <-chan struct{}) {
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			r.progress("%d of %d orders done, %d sent; %d retries so far", l.finished.Load(), len(r.orders), l.created.Load(), r.c.retries.Load())
		}
	}
}

// killPoints are the seeded numbers of payments sent after which serve is
// killed: distinct, sorted, within the load.
func killPoints(rng *rand.Rand, kills, payments int) []int64 {
	perm := rng.Perm(payments - 1)[:kills]
	pts := make([]int64, kills)
	for i, p := range perm {
		pts[i] = int64(p) + 1
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i] < pts[j] })
	return pts
}

// killDelay bounds the seeded delay between a kill point (a payment
// request just sent) and the kill: within it the crash lands at any point
// of that request's handling, which takes milliseconds, so the windows
// between Tender's writes are hit rather than the quiet between requests.
const killDelay = 50 * time.Millisecond

// kill SIGKILLs and restarts serve at each kill point, a seeded moment
// within killDelay after it is reached.
func (r *runner) kill(ctx context.Context, l *load, done <-chan struct{}) error {
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 0x6b696c6c)) // "kill"
	for _, pt := range killPoints(rng, r.cfg.Kills, r.cfg.Payments) {
		for l.created.Load() < pt {
			select {
			case <-done:
				return nil
			case <-ctx.Done():
				return nil
			case <-time.After(10 * time.Millisecond):
			}
		}
		sleep(ctx, time.Duration(rng.Int64N(int64(killDelay))))
		r.stats.Kills++
		t0 := time.Now()
		if err := r.cl.crash(ctx); err != nil {
			return fmt.Errorf("restart after kill %d: %w", r.stats.Kills, err)
		}
		r.stats.Restarts++
		r.lastRun = time.Now()
		r.stats.RestartMax = max(r.stats.RestartMax, r.lastRun.Sub(t0))
		r.progress("kill %d after %d payments sent; restarted", r.stats.Kills, l.created.Load())
	}
	return nil
}

// settle waits until Tender has finished with every payment, refund and
// transfer, or Settle has passed since the last restart, and returns the
// payments as last read.
func (r *runner) settle(ctx context.Context, rng *rand.Rand) ([]TenderPayment, error) {
	deadline := r.lastRun.Add(r.cfg.Settle)
	for {
		ps, err := tenderPayments(ctx, r.c, rng)
		if err != nil {
			return nil, fmt.Errorf("read payments: %w", err)
		}
		final, open := allFinal(ps)
		if final || time.Now().After(deadline) {
			r.stats.Settled, r.stats.Open = time.Since(r.lastRun), open
			r.progress("%d payments read, %d not final, %v after the last restart", len(ps), open, r.stats.Settled.Round(time.Second))
			return ps, nil
		}
		if !sleep(ctx, time.Second) {
			return nil, ctx.Err()
		}
	}
}

// tally counts the client's requests.
func (r *runner) tally() {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	r.stats.Requests = int64(len(r.c.exchanges))
	for _, ex := range r.c.exchanges {
		if ex.Attempts > 1 {
			r.stats.RetriedRequests++
		}
	}
	r.stats.Attempts, r.stats.Retries = r.c.attempts.Load(), r.c.retries.Load()
}

// save writes the client's record and what was read, for a look at the
// offenders afterwards.
func (r *runner) save(ps []TenderPayment, st StripeData) error {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	b, err := json.MarshalIndent(map[string]any{"orders": r.orders, "exchanges": r.c.exchanges, "tender": ps, "stripe": st,
		"offenders": r.report.Offenders}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.cfg.Dir, "record.json"), b, 0o644)
}
