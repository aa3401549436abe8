// Package emulator serves a stateful, Connect-aware imitation of Stripe's API
// in test mode, faithful enough that the official stripe-go client (v85, API
// version 2026-03-25.dahlia) cannot tell it from Stripe.
//
// A Server is an http.Handler. Create one with New, point a stripe-go backend
// at it and use the platform's secret key:
//
//	srv := emulator.New(emulator.Options{})
//	defer srv.Close()
//	ts := httptest.NewServer(srv)
//	sc := stripe.NewClient(emulator.DefaultSecretKey, stripe.WithBackends(
//		stripe.NewBackendsWithConfig(&stripe.BackendConfig{URL: stripe.String(ts.URL)})))
//
// State lives in memory, in compact structs per resource; JSON is rendered on
// demand. One mutex guards all state: requests are short, and a single lock
// keeps every multi-object change (a charge, its balance transactions, its
// transfer and its events) atomic without further thought.
//
// Control endpoints under /_emulator/ reset data, advance the clock, complete
// authentication challenges and change fault injection at run time.
package emulator

import (
	"net/http"
	"sync"
	"time"
)

// APIVersion is the Stripe API version the emulator speaks, and the
// api_version it stamps on events and webhook endpoints.
const APIVersion = "2026-03-25.dahlia"

// Default keys and account of the platform the emulator creates when Options
// names none.
const (
	DefaultPlatformAccount = "acct_1EmuPlatform000000"
	DefaultSecretKey       = "sk_test_emulator_platform"
	DefaultPublishableKey  = "pk_test_emulator_platform"
)

// Platform is a Stripe account that owns API keys: a platform in Connect's
// terms. Each secret key authenticates as its platform's account.
type Platform struct {
	// AccountID is the platform's account id (acct_…).
	AccountID string
	// SecretKey is accepted as Bearer token or Basic user name (sk_test_…).
	SecretKey string
	// PublishableKey is the platform's pk_test_… key (used by Stripe.js in part 2).
	PublishableKey string
	// Name is the business name shown on the account object.
	Name string
	// Country is the account's country; defaults to "US".
	Country string
	// DefaultCurrency is the account's default currency; defaults to "usd".
	DefaultCurrency string
}

// Fee is Stripe's processing fee for one currency: Percent in basis points
// (290 = 2.9 %) of the amount plus Fixed minor units. The percentage part is
// rounded half up to a whole minor unit.
type Fee struct {
	BasisPoints int64
	Fixed       int64
}

// Options configure a Server. The zero value is a usable emulator with one
// platform (DefaultPlatformAccount / DefaultSecretKey), the real time clock,
// no faults and the default fee schedule.
type Options struct {
	// Platforms are the accounts that own secret keys. Empty means one default
	// platform. More can be added later with Server.AddPlatform.
	Platforms []Platform

	// Seed makes generated ids and fault decisions replayable. Zero picks 1.
	Seed uint64

	// NowFunc is the base of the emulator clock; nil means time.Now. The
	// clock is NowFunc() plus everything passed to Server.Advance.
	NowFunc func() time.Time

	// Fees is the processing fee schedule per lower-case currency; currencies
	// not listed use DefaultFees' "usd" row unless FallbackFee is set.
	Fees map[string]Fee
	// FallbackFee applies to currencies absent from Fees.
	FallbackFee *Fee

	// AvailableAfter is how long charge funds stay pending before they become
	// available (Stripe's payout schedule delay). Zero means two days.
	AvailableAfter time.Duration

	// Faults configures fault injection; it can also be changed at run time
	// through Server.SetFaults or POST /_emulator/faults.
	Faults Faults

	// SnapshotFile, when set, is loaded by New if it exists and written by
	// Close, so state survives restarts.
	SnapshotFile string

	// WebhookClient sends webhook deliveries; nil means a client with a 10 s
	// timeout.
	WebhookClient *http.Client
	// WebhookWorkers bounds concurrent webhook deliveries; zero means 4.
	WebhookWorkers int

	// EventRetention caps the number of stored events (oldest dropped first);
	// zero means 1,000,000. Stripe keeps 30 days; a cap keeps memory bounded
	// in long load runs.
	EventRetention int
}

// DefaultFees is the fee schedule used when Options.Fees is nil: Stripe's
// standard card pricing for US, EEA and UK accounts (2.9 % + 30¢;
// 1.5 % + €0.25; 1.5 % + 20p).
var DefaultFees = map[string]Fee{
	"usd": {BasisPoints: 290, Fixed: 30},
	"eur": {BasisPoints: 150, Fixed: 25},
	"gbp": {BasisPoints: 150, Fixed: 20},
}

// Server is the emulator: an http.Handler serving Stripe's API under /v1 and
// the emulator's control API under /_emulator/.
type Server struct {
	opts  Options
	mux   *http.ServeMux
	clock *clock

	mu sync.Mutex // guards st, keys
	st *state
	// keys maps secret keys to platform account ids.
	keys map[string]string

	idem    *idempotencyStore
	faults  *faultInjector
	hooks   *dispatcher
	closeMu sync.Once

	// executeHook, set only by tests, runs before an operation executes.
	executeHook func(*http.Request)
}

// New returns a running emulator. Call Close to stop webhook delivery and
// write the snapshot file, if any.
func New(opts Options) *Server {
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Fees == nil {
		opts.Fees = DefaultFees
	}
	if opts.AvailableAfter == 0 {
		opts.AvailableAfter = 48 * time.Hour
	}
	if opts.EventRetention == 0 {
		opts.EventRetention = 1_000_000
	}
	if len(opts.Platforms) == 0 {
		opts.Platforms = []Platform{{
			AccountID:      DefaultPlatformAccount,
			SecretKey:      DefaultSecretKey,
			PublishableKey: DefaultPublishableKey,
			Name:           "Emulator Platform",
		}}
	}
	s := &Server{
		opts:   opts,
		clock:  newClock(opts.NowFunc),
		keys:   map[string]string{},
		idem:   newIdempotencyStore(),
		faults: newFaultInjector(opts.Seed, opts.Faults),
	}
	s.st = newState(opts.Seed, s.clock)
	if opts.SnapshotFile != "" {
		_ = s.loadSnapshot(opts.SnapshotFile) // a missing file is a fresh start
	}
	for _, p := range opts.Platforms {
		s.AddPlatform(p)
	}
	s.hooks = newDispatcher(s, opts.WebhookClient, opts.WebhookWorkers)
	s.mux = s.routes()
	return s
}

// ServeHTTP implements http.Handler. Every response, the control API's
// included, carries a Request-Id.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Request-Id", newRequestID())
	s.mux.ServeHTTP(w, r)
}

// Close stops webhook delivery and writes the snapshot file when one is
// configured. It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.closeMu.Do(func() {
		s.hooks.close()
		if s.opts.SnapshotFile != "" {
			err = s.saveSnapshot(s.opts.SnapshotFile)
		}
	})
	return err
}

// AddPlatform registers a platform account and its keys. Registering an
// existing account id again replaces its keys. Defaults are filled in for
// Country ("US") and DefaultCurrency ("usd").
func (s *Server) AddPlatform(p Platform) {
	if p.Country == "" {
		p.Country = "US"
	}
	if p.DefaultCurrency == "" {
		p.DefaultCurrency = "usd"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[p.SecretKey] = p.AccountID
	if _, ok := s.st.Objects[p.AccountID]; !ok {
		a := &Account{
			Meta:            Meta{ID: p.AccountID, Created: s.clock.now().Unix()},
			Type:            AccountTypeStandard,
			Country:         p.Country,
			DefaultCurrency: p.DefaultCurrency,
			BusinessName:    p.Name,
			ChargesEnabled:  true,
			PayoutsEnabled:  true,
			Details:         true,
			PublishableKey:  p.PublishableKey,
		}
		a.Acct = p.AccountID
		s.st.put(a)
	}
}

// Platforms returns the registered platforms' secret keys mapped to their
// account ids.
func (s *Server) Platforms() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.keys))
	for k, v := range s.keys {
		out[k] = v
	}
	return out
}

// Now returns the emulator clock's current time.
func (s *Server) Now() time.Time { return s.clock.now() }

// Advance moves the emulator clock forward by d: pending funds whose
// available_on has passed become available, idempotency keys older than 24 h
// expire and due webhook retries are sent.
func (s *Server) Advance(d time.Duration) {
	s.clock.advance(d)
	s.idem.prune(s.clock.now())
	s.hooks.wake()
}

// Reset deletes all objects, events and idempotency keys but keeps the
// registered platforms and their keys.
func (s *Server) Reset() {
	s.mu.Lock()
	platforms := []*Account{}
	for _, acct := range s.keys {
		if a, ok := s.st.Objects[acct].(*Account); ok {
			platforms = append(platforms, a)
		}
	}
	s.st = newState(s.opts.Seed, s.clock)
	for _, a := range platforms {
		s.st.put(a)
	}
	s.mu.Unlock()
	s.idem.reset()
	s.hooks.reset()
}
