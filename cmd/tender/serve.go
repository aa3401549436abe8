package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

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
	logger := cfg.logger(stderr)

	// Listen first: a port in use should fail before anything is written.
	ln, err := listen(cfg, setAddr)
	if err != nil {
		return err
	}
	defer ln.Close()

	a, err := app.Open(ctx, app.Config{
		DatabaseURL:  cfg.str(setDB),
		DBMaxConns:   cfg.int(setDBConns),
		Workers:      cfg.int(setWorkers),
		PollInterval: cfg.duration(setPoll),
		Logger:       logger,
		Version:      buildVersion(),
	})
	if err != nil {
		return err
	}
	shutdownTimeout := cfg.duration(setShutdown)
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := a.Stop(stopCtx); err != nil {
			logger.Error("stopping", "err", err)
		}
	}()

	plat, _, secret, err := a.Platforms.EnsureDefault(ctx, cfg.str(setPlatform))
	if err != nil {
		return fmt.Errorf("default platform: %w", err)
	}
	// River stops on its own when its start context ends; shutdown must
	// instead let running jobs finish, so it gets a context that is never
	// cancelled and is stopped explicitly below.
	if err := a.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}

	srv := newHTTPServer(a.Handler, logger)
	srv.WriteTimeout = 60 * time.Second
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	base := "http://" + ln.Addr().String()
	printBanner(stdout, base, a, plat.Name, plat.ID, secret)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", shutdownTimeout)
	drainCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(drainCtx); err != nil {
		return fmt.Errorf("drain HTTP: %w", err)
	}
	return nil
}

func printBanner(w io.Writer, base string, a *app.App, platformName, platformID, secret string) {
	var b strings.Builder
	fmt.Fprintf(&b, "Tender %s\n", buildVersion())
	fmt.Fprintf(&b, "  listening on  %s\n", base)
	fmt.Fprintf(&b, "  API           %s/v1/  (OpenAPI document: %s/v1/openapi.json)\n", base, base)
	fmt.Fprintf(&b, "  health        %s/healthz  %s/readyz\n", base, base)
	fmt.Fprintf(&b, "  database      %s %s\n", a.DB.Dialect, a.DB.Location)
	fmt.Fprintf(&b, "  platform      %s (%s)\n", platformName, platformID)
	if secret != "" {
		fmt.Fprintf(&b, "\nA first API key was created. It is shown this once; Tender keeps only its\nSHA-256 hash (table api_keys in %s):\n\n  %s\n\n", a.DB.Location, secret)
		fmt.Fprintf(&b, "Try: curl -H 'Authorization: Bearer %s' %s/v1/platform\n", secret, base)
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
