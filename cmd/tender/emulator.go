package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender/emulator"
)

// The emulator's settings. Its variables are TENDER_EMULATOR_* so that one
// environment can configure serve and a standalone emulator side by side.
var (
	setEmuAddr = setting{flag: "addr", env: "TENDER_EMULATOR_ADDR", def: "127.0.0.1:12111",
		help: "address the emulator listens on (host:port; port 0 picks a free one)", check: checkAddr}
	setEmuSeed = setting{flag: "seed", env: "TENDER_EMULATOR_SEED", def: "1",
		help: "seed of generated ids and fault decisions: the same seed and requests replay the same run (1–18446744073709551615)", check: checkSeed}
	setEmuSnapshot = setting{flag: "snapshot", env: "TENDER_EMULATOR_SNAPSHOT", def: "",
		help: "file the state is read from at start and written to at shutdown; empty keeps it in memory only", check: checkSnapshot}
	setEmuLatency = setting{flag: "latency", env: "TENDER_EMULATOR_LATENCY", def: "0s",
		help: "delay before every API request (0–1m)", check: checkDuration(0, time.Minute)}
	setEmuJitter = setting{flag: "latency-jitter", env: "TENDER_EMULATOR_LATENCY_JITTER", def: "0s",
		help: "up to this much more delay, drawn uniformly (0–1m)", check: checkDuration(0, time.Minute)}
	setEmuErrorRate = setting{flag: "error-rate", env: "TENDER_EMULATOR_ERROR_RATE", def: "0",
		help: "fraction (0–1) of API requests answered with a 500 api_error instead of taking effect", check: checkFraction}
	setEmuRateLimit = setting{flag: "rate-limit", env: "TENDER_EMULATOR_RATE_LIMIT", def: "off",
		help: "requests per second before 429 rate_limit: off, test (Stripe's test mode, 25), live (100) or a number", check: checkRateLimit}
	setEmuLostRate = setting{flag: "lost-response-rate", env: "TENDER_EMULATOR_LOST_RESPONSE_RATE", def: "0",
		help: "fraction (0–1) of POSTs that take effect but whose connection drops before the response", check: checkFraction}
)

const emulatorUsage = "usage: tender emulator [settings]"

// runEmulator serves the Stripe emulator alone, as stripe-mock would be
// run, until ctx ends; then it writes the snapshot, if one is configured.
func runEmulator(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := loadConfig("emulator", args, getenv, stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("emulator takes no arguments, got %q", rest)
	}
	if gc, ok := emulatorGCPercent(getenv); ok {
		defer debug.SetGCPercent(debug.SetGCPercent(gc))
	}
	logger := cfg.logger(stderr)
	ln, err := listen(cfg, setEmuAddr)
	if err != nil {
		return err
	}
	defer ln.Close()

	// A snapshot that cannot be read stops the start, and the file is kept:
	// serving from empty state would overwrite it at shutdown.
	emu, err := emulator.Open(emulatorOptions(cfg))
	if err != nil {
		return err
	}
	srv := newHTTPServer(emu, logger)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	base := "http://" + ln.Addr().String()
	printEmulatorBanner(stdout, base, cfg)

	var errServe error
	select {
	case err := <-serveErr:
		errServe = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		logger.Info("shutting down")
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.duration(setShutdown))
	defer cancel()
	return stopEmulator(stopCtx, srv, emu, errServe)
}

// emulatorGOGC is the garbage collector's target for tender emulator
// unless the environment sets GOGC or GOMEMLIMIT: the heap may grow to 1.5
// times what is live before a collection, not twice. The emulator keeps
// everything it is sent, so its live heap only grows (100,000 confirmed
// payments are about 160 MB, docs/BENCHMARKS.md), and at Go's default of
// 100 a load test's process would hold twice that. The cost, more
// frequent collections, is measured there too.
const emulatorGOGC = 50

// emulatorGCPercent returns the GOGC tender emulator sets, and false when
// the environment chose with GOGC or GOMEMLIMIT, which the Go runtime has
// applied already.
func emulatorGCPercent(getenv func(string) string) (int, bool) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	return emulatorGOGC, true
}

// stopEmulator drains the emulator's HTTP server until ctx ends, then
// closes the emulator so that its snapshot is written even if draining
// failed. errServe is joined to what it returns.
func stopEmulator(ctx context.Context, srv *http.Server, emu *emulator.Server, errServe error) error {
	var errDrain, errClose error
	if err := srv.Shutdown(ctx); err != nil {
		errDrain = fmt.Errorf("drain emulator requests: %w", err)
	}
	if err := emu.Close(); err != nil {
		errClose = fmt.Errorf("write emulator snapshot: %w", err)
	}
	return errors.Join(errServe, errDrain, errClose)
}

// emulatorOptions turns the emulator's settings into Options.
func emulatorOptions(cfg config) emulator.Options {
	seed, _ := strconv.ParseUint(cfg.str(setEmuSeed), 10, 64) // validated by loadConfig
	errorRate, _ := strconv.ParseFloat(cfg.str(setEmuErrorRate), 64)
	lostRate, _ := strconv.ParseFloat(cfg.str(setEmuLostRate), 64)
	rate, _ := parseRateLimit(cfg.str(setEmuRateLimit))
	return emulator.Options{
		Seed:         seed,
		SnapshotFile: cfg.str(setEmuSnapshot),
		Faults: emulator.Faults{
			Latency:          cfg.duration(setEmuLatency),
			LatencyJitter:    cfg.duration(setEmuJitter),
			ErrorRate:        errorRate,
			RateLimit:        rate,
			LostResponseRate: lostRate,
		},
	}
}

func printEmulatorBanner(w io.Writer, base string, cfg config) {
	var b strings.Builder
	fmt.Fprintf(&b, "Tender's Stripe emulator %s (Stripe API version %s)\n", buildVersion(), emulator.APIVersion)
	fmt.Fprintf(&b, "  listening on     %s\n", base)
	fmt.Fprintf(&b, "  secret key       %s\n", emulator.DefaultSecretKey)
	fmt.Fprintf(&b, "  publishable key  %s\n", emulator.DefaultPublishableKey)
	fmt.Fprintf(&b, "  platform account %s\n", emulator.DefaultPlatformAccount)
	if f := cfg.str(setEmuSnapshot); f != "" {
		fmt.Fprintf(&b, "  snapshot         %s (read at start, written at shutdown)\n", f)
	} else {
		fmt.Fprintf(&b, "  snapshot         none: state is lost at shutdown (set --snapshot)\n")
	}
	fmt.Fprintf(&b, "  faults           %s\n", describeFaults(emulatorOptions(cfg).Faults))
	fmt.Fprintf(&b, "  control API      %s/_emulator/ (data, clock, faults)\n", base)
	fmt.Fprintf(&b, "\nPoint stripe-go at it with stripe.BackendConfig{URL: stripe.String(%q)},\n", base)
	fmt.Fprintf(&b, "or Tender with %s=%s %s=%s.\n", setStripeKey.env, emulator.DefaultSecretKey, setStripeBase.env, base)
	io.WriteString(w, b.String())
}

func describeFaults(f emulator.Faults) string {
	var parts []string
	switch {
	case f.LatencyJitter > 0:
		parts = append(parts, fmt.Sprintf("latency %v + up to %v", f.Latency, f.LatencyJitter))
	case f.Latency > 0:
		parts = append(parts, fmt.Sprintf("latency %v", f.Latency))
	}
	if f.ErrorRate > 0 {
		parts = append(parts, fmt.Sprintf("error rate %g", f.ErrorRate))
	}
	if f.RateLimit > 0 {
		parts = append(parts, fmt.Sprintf("rate limit %d/s", f.RateLimit))
	}
	if f.LostResponseRate > 0 {
		parts = append(parts, fmt.Sprintf("lost responses %g", f.LostResponseRate))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func checkSeed(v string) error {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		return fmt.Errorf("want an integer from 1 to %d", uint64(math.MaxUint64))
	}
	return nil
}

func checkFraction(v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 0 && f <= 1) { // also refuses NaN
		return fmt.Errorf("want a fraction from 0 to 1, e.g. 0.05")
	}
	return nil
}

func checkRateLimit(v string) error {
	_, err := parseRateLimit(v)
	return err
}

// parseRateLimit reads a rate limit setting as requests per second; 0 is
// off.
func parseRateLimit(v string) (int, error) {
	switch v {
	case "off":
		return 0, nil
	case "test":
		return emulator.RateLimitTestMode, nil
	case "live":
		return emulator.RateLimitLiveMode, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, fmt.Errorf("want off, test (%d/s), live (%d/s) or requests per second from 1 to 1000000",
			emulator.RateLimitTestMode, emulator.RateLimitLiveMode)
	}
	return n, nil
}

// checkSnapshot accepts no file, or a file in an existing directory: a
// mistyped directory would otherwise only be found at shutdown, when the
// state would be lost.
func checkSnapshot(v string) error {
	if v == "" {
		return nil
	}
	if st, err := os.Stat(filepath.Dir(v)); err != nil || !st.IsDir() {
		return fmt.Errorf("directory %s does not exist; want a file path in an existing directory, or empty for none", filepath.Dir(v))
	}
	if st, err := os.Stat(v); err == nil && !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file; want a file path in an existing directory, or empty for none", v)
	}
	return nil
}
