package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := loadConfig("serve", args, getenv, stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("serve takes no arguments, got %q", rest)
	}
	if err := checkStripeSettings(cfg); err != nil {
		return err
	}
	logger := cfg.logger(stderr)

	// One deadline covers the whole shutdown, however it is reached:
	// requests drain, then jobs finish, then the in-process emulator, which
	// those jobs may still be calling, stops.
	shutdownTimeout := cfg.duration(setShutdown)
	stopCtx := sync.OnceValues(func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), shutdownTimeout)
	})
	defer func() {
		_, cancel := stopCtx()
		cancel()
	}()

	// Listen first: a port in use should fail before anything is written.
	ln, err := listen(cfg, setAddr)
	if err != nil {
		return err
	}
	defer ln.Close()

	publicURL := cfg.str(setPublicURL)
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	publicURL = strings.TrimSuffix(publicURL, "/")

	// The in-process emulator's address is needed before the app opens;
	// the emulator itself starts after, so that a bad database fails first.
	stripe := stripeFromConfig(cfg)
	var emuLn net.Listener
	if stripe == nil {
		if emuLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return fmt.Errorf("in-process Stripe emulator: cannot listen on loopback: %v", err)
		}
		defer emuLn.Close()
		stripe = emulatorSettings("http://" + emuLn.Addr().String())
	}

	// Stopped last, after requests and jobs that may still be calling it.
	var emu *inProcessEmulator
	defer func() {
		if emu != nil {
			ctx, _ := stopCtx()
			if err := emu.stop(ctx); err != nil {
				logger.Error("stopping the in-process Stripe emulator", "err", err)
			}
		}
	}()

	a, keyNote, err := openApp(ctx, cfg, logger, stripe, publicURL)
	if err != nil {
		return err
	}
	defer func() {
		ctx, _ := stopCtx()
		if err := a.Stop(ctx); err != nil {
			logger.Error("stopping", "err", err)
		}
	}()

	stripeDesc := fmt.Sprintf("%s (%s)", "api.stripe.com", stripeKeyKind(stripe.SecretKey))
	if stripe.APIBase != "" {
		stripeDesc = fmt.Sprintf("%s (%s)", redactURL(stripe.APIBase), stripeKeyKind(stripe.SecretKey))
	}
	if emuLn != nil {
		if emu, err = startEmulator(emuLn, logger, publicURL, cfg.str(setDB)); err != nil {
			return err
		}
		stripeDesc = "in-process emulator at " + emu.base
		if emu.snapshot != "" {
			stripeDesc += "\n  emulator data " + emu.snapshot
		}
	}

	plat, _, secret, err := a.Platforms.EnsureDefault(ctx, cfg.str(setPlatform))
	if err != nil {
		return fmt.Errorf("default platform: %w", err)
	}
	// River stops on its own when its start context ends; shutdown must
	// instead let running jobs finish, so it gets a context that is never
	// cancelled and is stopped explicitly above.
	if err := a.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}

	srv := newHTTPServer(a.Handler, logger)
	srv.WriteTimeout = 60 * time.Second
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	// The in-process emulator delivers its events to Tender out of the
	// box: its endpoints are set up once Tender is serving.
	if emu != nil {
		if _, err := a.StripeEvents.Setup(ctx, plat.ID); err != nil {
			logger.Error("setting up Stripe webhook endpoints at the in-process emulator", "err", err)
		} else {
			stripeDesc += "\n  its events    delivered to " + publicURL + "/webhooks/stripe/…"
		}
	}

	base := "http://" + ln.Addr().String()
	printBanner(stdout, banner{
		base: base, dialect: string(a.DB.Dialect), location: a.DB.Location,
		platformName: plat.Name, platformID: plat.ID, secret: secret, stripe: stripeDesc,
	})
	if keyNote != "" {
		fmt.Fprintf(stdout, "\n%s\n", keyNote)
	}

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", shutdownTimeout)
	drainCtx, _ := stopCtx()
	if err := srv.Shutdown(drainCtx); err != nil {
		return fmt.Errorf("drain HTTP: %w", err)
	}
	return nil
}

// openApp opens the database, then finds the master key (a key file is
// made beside a SQLite database only once that database opened), migrates
// and builds Tender. keyNote tells the operator about a new key file.
func openApp(ctx context.Context, cfg config, logger *slog.Logger, stripe *platform.Stripe, publicURL string) (a *app.App, keyNote string, err error) {
	db, err := store.Open(ctx, cfg.str(setDB), store.Options{MaxConns: cfg.int(setDBConns)})
	if err != nil {
		return nil, "", err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	dialect, location, _ := store.ParseURL(cfg.str(setDB))
	keys, keyNote, err := masterKeys(cfg, dialect, location)
	if err != nil {
		return nil, "", err
	}
	if err := app.Migrate(ctx, db); err != nil {
		return nil, "", err
	}
	a, err = app.New(db, app.Config{
		Workers: cfg.int(setWorkers), PollInterval: cfg.duration(setPoll), Logger: logger, Version: buildVersion(),
		Stripe: stripe, MasterKeys: keys, PublicURL: publicURL,
		StripeRateLimit: cfg.rateLimit(setStripeRate), StripeEndpointRateLimit: cfg.rateLimit(setStripeEndpointRate),
		EventRetention: cfg.duration(setEventRetention), WebhookWorkers: cfg.int(setWebhookWorkers),
		StripeEventRetention: cfg.duration(setStripeEventRetention),
		WebhookDisableAfter:  cfg.duration(setWebhookDisableAfter),
		// With the in-process emulator Tender runs on one machine for
		// development: its endpoints are there too.
		WebhookAllowPrivate: cfg.str(setWebhookAllowPrivate) == "true" || (cfg.str(setWebhookAllowPrivate) == "default" && stripe == nil),
	})
	return a, keyNote, err
}

// stripeFromConfig returns the default platform's Stripe settings from
// TENDER_STRIPE_*, or nil when no key is set (the emulator then runs
// in-process).
func stripeFromConfig(cfg config) *platform.Stripe {
	key := cfg.str(setStripeKey)
	if key == "" {
		return nil
	}
	st := &platform.Stripe{
		SecretKey: key, PublishableKey: cfg.str(setStripePK), ClientID: cfg.str(setStripeClientID),
		APIBase: cfg.str(setStripeBase), ConnectBase: cfg.str(setStripeConnectBase), Source: platform.StripeFromEnvironment,
	}
	if st.ConnectBase == "" {
		st.ConnectBase = st.APIBase // an emulator serves both
	}
	if hooks := cfg.str(setStripeWebhookSecrets); hooks != "" {
		for h := range strings.SplitSeq(hooks, ",") {
			st.WebhookSecrets = append(st.WebhookSecrets, strings.TrimSpace(h))
		}
	}
	return st
}

// checkStripeSettings refuses combinations of Stripe settings that are each
// valid alone.
func checkStripeSettings(cfg config) error {
	key, base := cfg.str(setStripeKey), cfg.str(setStripeBase)
	if base != "" && key == "" {
		return usagef("%s is set but %s is not: give the key that server accepts (a 'tender emulator' accepts %s), or unset both to run the emulator in-process",
			cfg.from(setStripeBase), setStripeKey.env, emulator.DefaultSecretKey)
	}
	if key == "" {
		for _, other := range []setting{setStripePK, setStripeClientID, setStripeWebhookSecrets, setStripeConnectBase} {
			if cfg.str(other) != "" {
				return usagef("%s is set but %s is not: give the key of the same Stripe account, or unset both to run the emulator in-process",
					cfg.from(other), setStripeKey.env)
			}
		}
	}
	if pk := cfg.str(setStripePK); pk != "" && isLiveKey(key) != strings.HasPrefix(pk, "pk_live_") {
		return usagef("%s and %s are of different modes (test and live): give keys of the same mode", cfg.from(setStripeKey), cfg.from(setStripePK))
	}
	if isLiveKey(key) && strings.HasPrefix(base, "http:") {
		return usagef("%s is a live key and %s=%s is not https: live keys are only sent over https",
			cfg.from(setStripeKey), cfg.from(setStripeBase), setStripeBase.show(base))
	}
	return nil
}

// inProcessEmulator is the Stripe emulator serve runs when no Stripe key is
// configured, on a loopback port of its own so that Tender reaches it
// through stripe-go and HTTP exactly as it would reach Stripe.
type inProcessEmulator struct {
	base     string
	snapshot string // the file its state is kept in, if any
	emu      *emulator.Server
	srv      *http.Server
	done     chan struct{}
}

// emulatorSettings are the default platform's Stripe settings for an
// in-process emulator at base.
func emulatorSettings(base string) *platform.Stripe {
	return &platform.Stripe{
		SecretKey: emulator.DefaultSecretKey, PublishableKey: emulator.DefaultPublishableKey, ClientID: emulator.DefaultClientID,
		APIBase: base, ConnectBase: base, Source: platform.StripeFromEmulator,
	}
}

// startEmulator starts the emulator on a loopback port, with Tender's
// OAuth callback registered as the default platform's redirect URI. With a
// SQLite database its state is kept in a file beside it, so that the
// connected accounts and cards Tender's database refers to still exist
// after a restart.
func startEmulator(ln net.Listener, logger *slog.Logger, publicURL, databaseURL string) (*inProcessEmulator, error) {
	// Without a snapshot its state ends with the process while Tender's
	// database keeps the ids it gave out: a fixed seed would hand out the
	// same ids again after a restart, so every start gets a fresh one.
	opts := emulator.Options{Seed: rand.Uint64(), Platforms: []emulator.Platform{{
		AccountID: emulator.DefaultPlatformAccount, SecretKey: emulator.DefaultSecretKey,
		PublishableKey: emulator.DefaultPublishableKey, Name: "Emulator Platform",
		ClientID: emulator.DefaultClientID, RedirectURIs: []string{publicURL + app.ConnectCallbackPath},
	}}}
	if dialect, path, err := store.ParseURL(databaseURL); err == nil && dialect == store.SQLite && path != ":memory:" {
		opts.SnapshotFile = path + ".stripe-emulator.json"
	}
	emu, err := emulator.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("in-process Stripe emulator: %w", err)
	}
	e := &inProcessEmulator{
		base:     "http://" + ln.Addr().String(),
		snapshot: opts.SnapshotFile,
		emu:      emu,
		done:     make(chan struct{}),
	}
	e.srv = newHTTPServer(e.emu, logger)
	go func() {
		defer close(e.done)
		if err := e.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			logger.Error("the in-process Stripe emulator stopped serving", "err", err)
		}
	}()
	return e, nil
}

func (e *inProcessEmulator) stop(ctx context.Context) error {
	err := stopEmulator(ctx, e.srv, e.emu, nil)
	<-e.done
	return err
}

// banner is what serve tells the operator at start.
type banner struct {
	base, dialect, location  string
	platformName, platformID string
	// secret is the first API key, when it was just created.
	secret string
	// stripe says which Stripe is in use; it never holds a key.
	stripe string
}

func printBanner(w io.Writer, bn banner) {
	var b strings.Builder
	fmt.Fprintf(&b, "Tender %s\n", buildVersion())
	fmt.Fprintf(&b, "  listening on  %s\n", bn.base)
	fmt.Fprintf(&b, "  API           %s/v1/  (OpenAPI document: %s/v1/openapi.json)\n", bn.base, bn.base)
	fmt.Fprintf(&b, "  health        %s/healthz  %s/readyz\n", bn.base, bn.base)
	fmt.Fprintf(&b, "  database      %s %s\n", bn.dialect, bn.location)
	fmt.Fprintf(&b, "  platform      %s (%s)\n", bn.platformName, bn.platformID)
	fmt.Fprintf(&b, "  Stripe        %s\n", bn.stripe)
	if bn.secret != "" {
		fmt.Fprintf(&b, "\nA first API key was created. It is shown this once; Tender keeps only its\nSHA-256 hash (table api_keys in %s):\n\n  %s\n\n", bn.location, bn.secret)
		fmt.Fprintf(&b, "Try: curl -H 'Authorization: Bearer %s' %s/v1/platform\n", bn.secret, bn.base)
	}
	io.WriteString(w, b.String())
}

// listen listens on the address setting s, with an error that says which
// setting to change when the address is taken.
func listen(cfg config, s setting) (net.Listener, error) {
	addr := cfg.str(s)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("cannot listen on %s: the address is already in use (set --%s or %s)", addr, s.flag, s.env)
		}
		return nil, fmt.Errorf("cannot listen on %s: %v", addr, err)
	}
	return ln, nil
}

// newHTTPServer is the HTTP server every tender listener uses. It sets no
// write timeout: the emulator's injected latency and slow clients are
// bounded by the request's context and ReadHeaderTimeout instead.
func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
