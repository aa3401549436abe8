// Package app assembles Tender from its parts — database, jobs, services and
// the HTTP handler — from a Config. cmd/tender reads configuration and calls
// it; tests call it to get the real thing on a test database. Workers and
// periodic jobs are registered here and nowhere else.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"golang.org/x/time/rate"

	"github.com/tenderpay/tender/internal/checkout"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/dispute"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/httpapi"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/jobs"
	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/payout"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/standing"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
	"github.com/tenderpay/tender/internal/stripeevents"
	"github.com/tenderpay/tender/internal/wallet"
	"github.com/tenderpay/tender/internal/web"
	"github.com/tenderpay/tender/internal/webhooks"
)

// Config is what App needs to run. cmd/tender fills it from flags and
// TENDER_* variables.
type Config struct {
	DatabaseURL  string
	DBMaxConns   int
	Workers      int
	PollInterval time.Duration
	Logger       *slog.Logger
	Version      string
	// Now is the clock; time.Now if nil.
	Now func() time.Time

	// Stripe is the default platform's Stripe settings, from Tender's
	// configuration: TENDER_STRIPE_* or, with none, the in-process
	// emulator's keys (cmd/tender decides). nil means the default platform
	// is configured through the API like any other.
	Stripe *platform.Stripe
	// MasterKeys seal secrets at rest and sign links and OAuth states. nil
	// means no secret can be stored (cmd/tender always provides them).
	MasterKeys *secret.Keyring
	// PublicURL is where browsers reach Tender (scheme, host, port, no
	// trailing slash): links and OAuth redirect URIs are built on it.
	PublicURL string
	// StripeHTTPClient sends Tender's requests to Stripe; nil means
	// stripe-go's default. Tests use it to reach an emulator in process.
	StripeHTTPClient *http.Client
	// StripeRateLimit and StripeEndpointRateLimit bound the requests per
	// second each platform sends to Stripe, in all and to each endpoint
	// (TENDER_STRIPE_RATE_LIMIT, TENDER_STRIPE_ENDPOINT_RATE_LIMIT). Zero
	// means stripeapi's defaults, Stripe's documented limits for the key's
	// mode, except on the in-process emulator, which has no limits to stay
	// under: none there. rate.Inf means none.
	StripeRateLimit         rate.Limit
	StripeEndpointRateLimit rate.Limit

	// EventRetention is how long events and webhook attempts are kept
	// (TENDER_EVENT_RETENTION); zero means event.DefaultRetention.
	EventRetention time.Duration
	// WebhookWorkers, WebhookDisableAfter and WebhookAllowPrivate tune
	// webhook delivery (webhooks.Config); zero values take its defaults.
	WebhookWorkers      int
	WebhookDisableAfter time.Duration
	WebhookAllowPrivate bool
	// WebhookPollInterval is how often new events are fanned out to
	// endpoints; zero means webhooks.DefaultPollInterval.
	WebhookPollInterval time.Duration
	// WebhookSchedule replaces the retry schedule (tests shorten it).
	WebhookSchedule []time.Duration
	// StripeEventRetention is how long the inbox keeps Stripe's events
	// (TENDER_STRIPE_EVENT_RETENTION); zero means
	// stripeevents.DefaultRetention.
	StripeEventRetention time.Duration
}

// ConnectCallbackPath is where Stripe sends the merchant back after Connect
// OAuth: PublicURL + ConnectCallbackPath is the redirect URI to register
// with the platform's Connect settings.
const ConnectCallbackPath = "/connect/oauth/callback"

// App is a running Tender.
type App struct {
	DB          *store.DB
	Jobs        *jobs.Client
	Platforms   *platform.Service
	Idempotency *idempotency.Store
	// StripeClients holds one Stripe client per platform, sharing its rate
	// limit across every feature that calls Stripe.
	StripeClients *stripeapi.Pool
	Connect       *connect.Service
	Wallet        *wallet.Service
	Payments      *payment.Service
	Checkout      *checkout.Service
	Events        *event.Store
	Webhooks      *webhooks.Service
	StripeEvents  *stripeevents.Service
	Disputes      *dispute.Service
	Payouts       *payout.Service
	Standing      *standing.Service
	Ledger        *ledger.Store
	Handler       http.Handler
	logger        *slog.Logger
	retention     time.Duration
	// stripeRetention is how long the inbox keeps Stripe's events.
	stripeRetention time.Duration
	// stopWebhooks ends the webhook dispatcher and the numbering sweep;
	// dispatching is closed when both have.
	stopWebhooks context.CancelFunc
	dispatching  chan struct{}
}

// Open connects to the database, migrates it, and builds the services and
// the HTTP handler. It does not start background jobs; Start does.
func Open(ctx context.Context, cfg Config) (*App, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: cfg.DBMaxConns})
	if err != nil {
		return nil, err
	}
	if err := Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	a, err := New(db, cfg)
	if err != nil {
		db.Close()
	}
	return a, err
}

// New builds Tender on an open, migrated database. Stop closes db.
func New(db *store.DB, cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.EventRetention <= 0 {
		cfg.EventRetention = event.DefaultRetention
	}
	if cfg.StripeEventRetention <= 0 {
		cfg.StripeEventRetention = stripeevents.DefaultRetention
	}
	var err error
	a := &App{
		DB:              db,
		Events:          event.NewStore(db),
		Ledger:          ledger.NewStore(db, cfg.Now),
		retention:       cfg.EventRetention,
		stripeRetention: cfg.StripeEventRetention,
		Platforms:       platform.NewService(db, cfg.Now, platform.WithKeys(cfg.MasterKeys), platform.WithDefaultStripe(cfg.Stripe)),
		Idempotency:     idempotency.NewStore(db, cfg.Now).SealWith(cfg.MasterKeys),
		logger:          cfg.Logger,
	}
	a.StripeClients = &stripeapi.Pool{ConfigFunc: a.stripeConfig(cfg)}
	a.Connect = connect.NewService(connect.Config{
		DB: db, Platforms: a.Platforms, Stripe: a.StripeClients, Keys: cfg.MasterKeys, NowFunc: cfg.Now,
		Logger: cfg.Logger, PublicURL: cfg.PublicURL, HTTPClient: cfg.StripeHTTPClient,
		// A merchant that loses its account loses its clones of customers' cards.
		ConnectionLostFunc: wallet.ForgetMerchantClones,
	})
	a.Wallet = wallet.NewService(wallet.Config{
		DB: db, Platforms: a.Platforms, Connect: a.Connect, Stripe: a.StripeClients, NowFunc: cfg.Now, Logger: cfg.Logger,
		PublicURL: cfg.PublicURL,
	})
	a.Payments = payment.NewService(payment.Config{
		DB: db, Connect: a.Connect, Wallet: a.Wallet, Stripe: a.StripeClients, NowFunc: cfg.Now, Logger: cfg.Logger,
		JobsFunc:  func() *jobs.Client { return a.Jobs },
		Platforms: a.Platforms, Ledger: a.Ledger,
	})
	a.Checkout = checkout.NewService(checkout.Config{
		DB: db, Payments: a.Payments, Connect: a.Connect, Wallet: a.Wallet, Stripe: a.StripeClients, NowFunc: cfg.Now,
		Logger: cfg.Logger, JobsFunc: func() *jobs.Client { return a.Jobs },
		Platforms: a.Platforms, Keys: cfg.MasterKeys, PublicURL: cfg.PublicURL,
	})
	// Checkout is made over payments; payments reach back to its pages (a
	// payment's authentication link, a checkout payment's job) through
	// this interface rather than an import.
	a.Payments.SetHosted(a.Checkout)
	a.Webhooks = webhooks.NewService(webhooks.Config{
		DB: db, Keys: cfg.MasterKeys, JobsFunc: func() *jobs.Client { return a.Jobs }, NowFunc: cfg.Now, Logger: cfg.Logger,
		AllowPrivate: cfg.WebhookAllowPrivate, DisableAfter: cfg.WebhookDisableAfter, PollInterval: cfg.WebhookPollInterval,
		Schedule: cfg.WebhookSchedule,
	})
	a.Disputes = dispute.NewService(dispute.Config{DB: db, Payments: a.Payments, Stripe: a.StripeClients, Ledger: a.Ledger,
		JobsFunc: func() *jobs.Client { return a.Jobs }, NowFunc: cfg.Now, Logger: cfg.Logger})
	a.Standing = standing.NewService(standing.Config{DB: db, Payments: a.Payments, Wallet: a.Wallet, NowFunc: cfg.Now, Logger: cfg.Logger})
	a.Payouts = payout.NewService(payout.Config{DB: db, Connect: a.Connect, Payments: a.Payments, Stripe: a.StripeClients,
		Ledger: a.Ledger, NowFunc: cfg.Now, Logger: cfg.Logger})
	a.StripeEvents = stripeevents.NewService(stripeevents.Config{
		DB: db, Platforms: a.Platforms, Stripe: a.StripeClients, Keys: cfg.MasterKeys, Connect: a.Connect, Payments: a.Payments,
		Disputes: a.Disputes, Payouts: a.Payouts, Wallet: a.Wallet,
		JobsFunc: func() *jobs.Client { return a.Jobs }, NowFunc: cfg.Now, Logger: cfg.Logger, PublicURL: cfg.PublicURL,
	})
	a.Jobs, err = jobs.New(db, jobs.Config{Workers: cfg.Workers, WebhookWorkers: cfg.WebhookWorkers, PollInterval: cfg.PollInterval,
		Logger: cfg.Logger}, a.workers(cfg), a.periodicJobs())
	if err != nil {
		return nil, err
	}
	a.Handler = httpapi.NewServer(httpapi.Deps{
		Logger:         cfg.Logger,
		Platforms:      a.Platforms,
		Idempotency:    a.Idempotency,
		Ready:          a.Ready,
		Version:        cfg.Version,
		StripeClients:  a.StripeClients,
		Connect:        a.Connect,
		Wallet:         a.Wallet,
		Payments:       a.Payments,
		Checkout:       a.Checkout,
		Events:         a.Events,
		Webhooks:       a.Webhooks,
		StripeEvents:   a.StripeEvents,
		Disputes:       a.Disputes,
		Payouts:        a.Payouts,
		Standing:       a.Standing,
		EventRetention: a.retention,
		Ledger:         a.Ledger,
		Now:            cfg.Now,
		Pages: func(mux *http.ServeMux) {
			web.Routes(mux, web.Deps{Logger: cfg.Logger, Connect: a.Connect, Wallet: a.Wallet, Platforms: a.Platforms,
				Checkout: a.Checkout, PublicURL: cfg.PublicURL})
		},
	})
	return a, nil
}

// stripeConfig returns how the Pool makes a platform's Stripe client: with
// its own settings and the configured rate limits. The in-process emulator
// has none of Stripe's limits to stay under, so it gets no client-side
// limit unless one was configured (to try Tender against an emulator that
// limits like Stripe).
func (a *App) stripeConfig(cfg Config) func(ctx context.Context, platformID string) (stripeapi.Config, error) {
	return func(ctx context.Context, platformID string) (stripeapi.Config, error) {
		st, err := a.Platforms.Stripe(ctx, platformID)
		if err != nil {
			return stripeapi.Config{}, err
		}
		c := stripeapi.Config{SecretKey: st.SecretKey, APIBase: st.APIBase, HTTPClient: cfg.StripeHTTPClient, Logger: cfg.Logger,
			RateLimit: cfg.StripeRateLimit, EndpointRateLimit: cfg.StripeEndpointRateLimit}
		if st.Source == platform.StripeFromEmulator {
			if c.RateLimit == 0 {
				c.RateLimit = rate.Inf
			}
			if c.EndpointRateLimit == 0 {
				c.EndpointRateLimit = rate.Inf
			}
		}
		return c, nil
	}
}

// Migrate brings db to the schema this build needs: Tender's tables and
// River's.
func Migrate(ctx context.Context, db *store.DB) error {
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	_, err := jobs.Migrate(ctx, db)
	return err
}

// workers registers every job worker Tender runs, each with how long one
// run of it may take before River cancels it. None needs more than seconds
// when Stripe and the database are well, and each saves its progress as it
// goes, so a run cut short loses nothing: all take jobs.DefaultTimeout,
// stated here so that a new kind decides its own, and jobs.New refuses one
// long enough for a live run to be rescued.
func (a *App) workers(cfg Config) *jobs.Workers {
	w := jobs.NewWorkers()
	// One DELETE of expired records, and erasing archived customers' ids.
	jobs.Add(w, &idempotency.PruneWorker{Store: a.Idempotency}, jobs.DefaultTimeout)
	// Batched DELETEs of what is past the events' retention.
	jobs.Add(w, &event.PruneWorker{Store: a.Events, Retention: a.retention, NowFunc: cfg.Now}, jobs.DefaultTimeout)
	jobs.Add(w, &webhooks.PruneWorker{Webhooks: a.Webhooks, Retention: a.retention}, jobs.DefaultTimeout)
	// Sends of at most the webhook timeout (15 s) each, started for 10 s.
	jobs.Add(w, &webhooks.DrainWorker{Webhooks: a.Webhooks}, jobs.DefaultTimeout)
	jobs.Add(w, &wallet.EraseWorker{Wallet: a.Wallet}, jobs.DefaultTimeout)
	// A handful of Stripe calls each, under deterministic keys.
	jobs.Add(w, &payment.ProcessWorker{Payments: a.Payments}, jobs.DefaultTimeout)
	jobs.Add(w, &payment.TransferWorker{Payments: a.Payments}, jobs.DefaultTimeout)
	jobs.Add(w, &payment.RefundWorker{Payments: a.Payments}, jobs.DefaultTimeout)
	jobs.Add(w, &payment.StripeFeeWorker{Payments: a.Payments}, jobs.DefaultTimeout)
	jobs.Add(w, &payment.CaptureWorker{Payments: a.Payments}, jobs.DefaultTimeout)
	jobs.Add(w, &payment.CancelWorker{Payments: a.Payments}, jobs.DefaultTimeout)
	jobs.Add(w, &checkout.ExpireWorker{Checkout: a.Checkout}, jobs.DefaultTimeout)
	// A read of the object from Stripe and its transition; an event about
	// a payment may run its job's steps.
	jobs.Add(w, &stripeevents.ApplyWorker{Events: a.StripeEvents}, jobs.DefaultTimeout)
	// A page of Stripe's events per 100, per account of each platform.
	jobs.Add(w, &stripeevents.BackfillWorker{Events: a.StripeEvents}, jobs.DefaultTimeout)
	// A transaction per dispute whose evidence is due soon.
	jobs.Add(w, &dispute.DeadlinesWorker{Disputes: a.Disputes}, jobs.DefaultTimeout)
	// A dispute's recovery: a few Stripe calls per merchant of its charge.
	jobs.Add(w, &dispute.RecoverWorker{Disputes: a.Disputes}, jobs.DefaultTimeout)
	// A payment per due cycle, each in its own transaction.
	jobs.Add(w, &standing.SchedulerWorker{Standing: a.Standing}, jobs.DefaultTimeout)
	// Batched DELETEs, and a Stripe call per endpoint whose roll ended.
	jobs.Add(w, &stripeevents.MaintainWorker{Events: a.StripeEvents, Retention: a.stripeRetention}, jobs.DefaultTimeout)
	// Up to a few thousand small transactions; a row requeued is touched
	// at once, so a run cut short is finished by the next.
	jobs.Add(w, &payment.JanitorWorker{Payments: a.Payments}, jobs.DefaultTimeout)
	return w
}

// periodicJobs lists the maintenance Tender schedules for itself.
func (a *App) periodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return idempotency.PruneArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return wallet.EraseArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return payment.JanitorArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return event.PruneArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return webhooks.PruneArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		// Nothing Stripe sent is missed for longer than this.
		river.NewPeriodicJob(river.PeriodicInterval(stripeevents.BackfillEvery),
			func() (river.JobArgs, *river.InsertOpts) { return stripeevents.BackfillArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		// Every 15 minutes, so a warning is never more than that late.
		river.NewPeriodicJob(river.PeriodicInterval(15*time.Minute),
			func() (river.JobArgs, *river.InsertOpts) { return dispute.DeadlinesArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		// Cycles are charged days before they are due; a minute late is on
		// time.
		river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
			func() (river.JobArgs, *river.InsertOpts) { return standing.SchedulerArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		// Hourly is soon enough: a rolled secret stops verifying at its
		// expiry; this only deletes its endpoint at Stripe.
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return stripeevents.MaintainArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
	}
}

// Start starts background jobs, the webhook dispatcher and the sweep that
// numbers events a dead node left unnumbered, which run until ctx ends or
// Stop.
func (a *App) Start(ctx context.Context) error {
	if err := a.Jobs.Start(ctx); err != nil {
		return err
	}
	var runCtx context.Context
	runCtx, a.stopWebhooks = context.WithCancel(ctx)
	a.dispatching = make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { a.Webhooks.Run(runCtx) })
	wg.Go(func() { event.RunNumbering(runCtx, a.DB, a.logger) })
	go func() {
		wg.Wait()
		close(a.dispatching)
	}()
	return nil
}

// Stop waits for running jobs to finish (until ctx ends) and closes the
// database.
func (a *App) Stop(ctx context.Context) error {
	if a.stopWebhooks != nil {
		a.stopWebhooks()
		<-a.dispatching
	}
	var errJobs error
	if a.Jobs != nil {
		errJobs = a.Jobs.Stop(ctx)
		if errors.Is(errJobs, context.DeadlineExceeded) {
			errJobs = a.Jobs.StopAndCancel(context.Background())
		}
	}
	return errors.Join(errJobs, a.DB.Close())
}

// Ready reports whether Tender can serve: the database answers and every
// migration is applied.
func (a *App) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := a.DB.PingContext(ctx); err != nil {
		return errors.New("database unreachable")
	}
	ok, err := a.DB.MigrationsCurrent(ctx)
	if err != nil {
		return fmt.Errorf("cannot read migration state")
	}
	okJobs, err := jobs.MigrationsCurrent(ctx, a.DB)
	if err != nil {
		return fmt.Errorf("cannot read job migration state")
	}
	if !ok || !okJobs {
		return errors.New("migrations pending: run `tender migrate up`")
	}
	return nil
}
