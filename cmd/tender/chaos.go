package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender/internal/chaos"
)

// The kill harness's settings, TENDER_CHAOS_* so that they cannot be
// mistaken for the settings of the serve it runs (which it sets itself).
var (
	setChaosBinary = setting{flag: "binary", env: "TENDER_CHAOS_BINARY", def: "",
		help: "the tender executable to run as serve and emulator; empty is this one", check: func(string) error { return nil }}
	setChaosDB = setting{flag: "database", env: "TENDER_CHAOS_DATABASE", def: "sqlite",
		help:  "sqlite (a new file per run) or a postgres://… server URL, on which each run creates its own database and drops it after",
		check: checkChaosDatabase, redact: redactURL}
	setChaosKeepDB = setting{flag: "keep-database", env: "TENDER_CHAOS_KEEP_DATABASE", def: "false",
		help: "keep a PostgreSQL run's database for inspection (true or false)", check: checkOneOf("true", "false")}
	setChaosDir = setting{flag: "dir", env: "TENDER_CHAOS_DIR", def: "",
		help:  "directory for the run's files (SQLite database, process logs, record.json); empty is a temporary one, removed after a clean run",
		check: func(string) error { return nil }}
	setChaosSeed = setting{flag: "seed", env: "TENDER_CHAOS_SEED", def: "1",
		help: "seed of the orders, kill moments and the emulator: the same seed plans the same run", check: checkSeed}
	setChaosPayments = setting{flag: "payments", env: "TENDER_CHAOS_PAYMENTS", def: "300",
		help: "off-session payments to send (2–100000)", check: checkInt(2, 100_000)}
	setChaosKills = setting{flag: "kills", env: "TENDER_CHAOS_KILLS", def: "5",
		help: "times tender serve is SIGKILLed and restarted during the load (0–1000, fewer than payments)", check: checkInt(0, 1000)}
	setChaosConc = setting{flag: "concurrency", env: "TENDER_CHAOS_CONCURRENCY", def: "16",
		help: "clients sending orders at once (1–256)", check: checkInt(1, 256)}
	setChaosMerchants = setting{flag: "merchants", env: "TENDER_CHAOS_MERCHANTS", def: "3",
		help: "connected merchants (3–50)", check: checkInt(3, 50)}
	setChaosCustomers = setting{flag: "customers", env: "TENDER_CHAOS_CUSTOMERS", def: "5",
		help: "customers with a saved card and consent to every merchant (1–1000)", check: checkInt(1, 1000)}
	setChaosLatency = setting{flag: "latency", env: "TENDER_CHAOS_LATENCY", def: "20ms",
		help: "the emulator's delay before every request (0–1m)", check: checkDuration(0, time.Minute)}
	setChaosJitter = setting{flag: "latency-jitter", env: "TENDER_CHAOS_LATENCY_JITTER", def: "30ms",
		help: "up to this much more emulator delay, drawn uniformly (0–1m)", check: checkDuration(0, time.Minute)}
	setChaosRequestTimeout = setting{flag: "request-timeout", env: "TENDER_CHAOS_REQUEST_TIMEOUT", def: "8m",
		help:  "how long one logical request is retried before it counts as unanswered (10s–30m); each kill that catches it costs Tender's 2-minute idempotency lock",
		check: checkDuration(10*time.Second, 30*time.Minute)}
	setChaosOrderWait = setting{flag: "order-wait", env: "TENDER_CHAOS_ORDER_WAIT", def: "1m",
		help:  "how long a client waits for a payment to be final before it skips that order's capture and refunds (1s–30m)",
		check: checkDuration(time.Second, 30*time.Minute)}
	setChaosSettle = setting{flag: "settle", env: "TENDER_CHAOS_SETTLE", def: "2m",
		help:  "how long after the last restart every payment, refund and transfer must be final (1s–1h)",
		check: checkDuration(time.Second, time.Hour)}
)

// chaosSettings are the settings tender chaos reads, in help's order.
var chaosSettings = []setting{setChaosBinary, setChaosDB, setChaosKeepDB, setChaosDir, setChaosSeed, setChaosPayments, setChaosKills,
	setChaosConc, setChaosMerchants, setChaosCustomers, setChaosLatency, setChaosJitter, setChaosRequestTimeout, setChaosOrderWait,
	setChaosSettle}

const chaosUsage = "usage: tender chaos [settings]"

const chaosHelp = chaosUsage + `

Runs a kill harness against this Tender: a real 'tender serve' against a
real 'tender emulator' (with latency), on a new SQLite file or a new
PostgreSQL database. Through the public API it connects merchants, saves
customers' cards with consent, then sends a seeded load of off-session
payments of all three charge types, some captured manually (in part or in
full) and refunded (in part or in full), from concurrent clients that
retry every request with its own Idempotency-Key on network errors, 5xx,
429 and 409 idempotency_key_in_use until a definitive answer. Meanwhile
it SIGKILLs and restarts serve at seeded moments. Then it waits for
everything to be final and reconciles the clients' record with Tender's
API and the emulator's PaymentIntents, refunds, transfers and application
fees: exactly one payment per key, one charge per payment, one Stripe
refund per refund, amounts and fees to the unit.

It prints a summary of matches, mismatches, missing and duplicates per
kind, with the offenders, and exits 1 unless everything matched. Progress
goes to stderr; the processes' logs and the full record are in the run's
directory, kept when something did not match.`

func runChaos(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := loadConfig("chaos", args, getenv, stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("chaos takes no arguments, got %q", rest)
	}
	cc, err := chaosConfig(cfg, stderr)
	if err != nil {
		return err
	}
	if cc.Kills >= cc.Payments {
		return usagef("invalid %s=%d: kills are spread over the payments sent, so want fewer kills than payments (%d)",
			cfg.from(setChaosKills), cc.Kills, cc.Payments)
	}
	res, err := chaos.Run(ctx, cc)
	if err != nil {
		return err
	}
	res.Summary(stdout)
	if !res.OK() {
		return fmt.Errorf("chaos: %d offenders did not match (listed above)", len(res.Report.Offenders))
	}
	return nil
}

// chaosConfig turns the settings into the harness's Config.
func chaosConfig(cfg config, progress io.Writer) (chaos.Config, error) {
	bin := cfg.str(setChaosBinary)
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return chaos.Config{}, fmt.Errorf("cannot find this executable to run as serve (set --binary): %w", err)
		}
		bin = exe
	}
	seed, _ := strconv.ParseUint(cfg.str(setChaosSeed), 10, 64) // validated by loadConfig
	return chaos.Config{
		Binary: bin, Database: cfg.str(setChaosDB), KeepDatabase: cfg.str(setChaosKeepDB) == "true", Dir: cfg.str(setChaosDir),
		Seed: seed, Payments: cfg.int(setChaosPayments), Kills: cfg.int(setChaosKills), Concurrency: cfg.int(setChaosConc),
		Merchants: cfg.int(setChaosMerchants), Customers: cfg.int(setChaosCustomers),
		Latency: cfg.duration(setChaosLatency), LatencyJitter: cfg.duration(setChaosJitter),
		RequestTimeout: cfg.duration(setChaosRequestTimeout), OrderWait: cfg.duration(setChaosOrderWait), Settle: cfg.duration(setChaosSettle),
		Progress: progress,
	}, nil
}

func checkChaosDatabase(v string) error {
	if v == "sqlite" || strings.HasPrefix(v, "postgres://") || strings.HasPrefix(v, "postgresql://") {
		return nil
	}
	return fmt.Errorf("want sqlite or a postgres://user@host:port/db URL")
}
