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

	stripeKey, stripeBase := cfg.str(setStripeKey), cfg.str(setStripeBase)
	var stripeDesc string
	if stripeKey == "" {
		emu, err := startEmulator(logger)
		if err != nil {
			return err
		}
		defer func() {
			ctx, _ := stopCtx()
			if err := emu.stop(ctx); err != nil {
				logger.Error("stopping the in-process Stripe emulator", "err", err)
			}
		}()
		stripeKey, stripeBase = emulator.DefaultSecretKey, emu.base
		stripeDesc = "in-process emulator at " + emu.base
	} else {
		where := "api.stripe.com"
		if stripeBase != "" {
			where = redactURL(stripeBase)
		}
		stripeDesc = fmt.Sprintf("%s (%s)", where, stripeKeyKind(stripeKey))
	}

	a, err := app.Open(ctx, app.Config{
		DatabaseURL:     cfg.str(setDB),
		DBMaxConns:      cfg.int(setDBConns),
		Workers:         cfg.int(setWorkers),
		PollInterval:    cfg.duration(setPoll),
		Logger:          logger,
		Version:         buildVersion(),
		StripeSecretKey: stripeKey,
		StripeAPIBase:   stripeBase,
	})
	if err != nil {
		return err
	}
	defer func() {
		ctx, _ := stopCtx()
		if err := a.Stop(ctx); err != nil {
			logger.Error("stopping", "err", err)
		}
	}()

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

	base := "http://" + ln.Addr().String()
	printBanner(stdout, banner{
		base: base, dialect: string(a.DB.Dialect), location: a.DB.Location,
		platformName: plat.Name, platformID: plat.ID, secret: secret, stripe: stripeDesc,
	})

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

// checkStripeSettings refuses combinations of Stripe settings that are each
// valid alone.
func checkStripeSettings(cfg config) error {
	key, base := cfg.str(setStripeKey), cfg.str(setStripeBase)
	if base != "" && key == "" {
		return usagef("%s is set but %s is not: give the key that server accepts (a 'tender emulator' accepts %s), or unset both to run the emulator in-process",
			cfg.from(setStripeBase), setStripeKey.env, emulator.DefaultSecretKey)
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
	base string
	emu  *emulator.Server
	srv  *http.Server
	done chan struct{}
}

func startEmulator(logger *slog.Logger) (*inProcessEmulator, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("in-process Stripe emulator: cannot listen on loopback: %v", err)
	}
	// Its state lives in memory and ends with the process, while Tender's
	// database keeps the ids Stripe gave out: a fixed seed would hand out the
	// same ids again after a restart, so every start gets a fresh one.
	emu, err := emulator.Open(emulator.Options{Seed: rand.Uint64()})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("in-process Stripe emulator: %w", err)
	}
	e := &inProcessEmulator{
		base: "http://" + ln.Addr().String(),
		emu:  emu,
		done: make(chan struct{}),
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
