package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/time/rate"

	"github.com/tenderpay/tender/internal/store"
)

// setting is one configuration value, settable by flag or environment
// variable, validated at start.
type setting struct {
	flag, env, def, help string
	// check validates a value; its error says what is accepted.
	check func(string) error
	// redact, if set, returns what may be printed of a value: settings that
	// carry credentials never echo them, not even in an error.
	redact func(string) string
}

var (
	setAddr = setting{flag: "addr", env: "TENDER_ADDR", def: "127.0.0.1:8080",
		help: "address to listen on (host:port; port 0 picks a free one)", check: checkAddr}
	setDB = setting{flag: "database", env: "TENDER_DATABASE_URL", def: "sqlite:tender.db",
		help: "database: sqlite:PATH (or a bare path) or postgres://user@host/db", check: checkDatabaseURL, redact: redactURL}
	setDBConns = setting{flag: "db-max-conns", env: "TENDER_DB_MAX_CONNS", def: "20",
		help: "PostgreSQL connection pool size (1–1000; SQLite always uses 1)", check: checkInt(1, 1000)}
	setWorkers = setting{flag: "workers", env: "TENDER_WORKERS", def: "10",
		help: "background jobs run at once (1–1000)", check: checkInt(1, 1000)}
	setPoll = setting{flag: "job-poll-interval", env: "TENDER_JOB_POLL_INTERVAL", def: "500ms",
		help: "how often idle workers look for jobs (10ms–1m)", check: checkDuration(10*time.Millisecond, time.Minute)}
	setShutdown = setting{flag: "shutdown-timeout", env: "TENDER_SHUTDOWN_TIMEOUT", def: "30s",
		help: "time to finish requests and jobs in progress on SIGINT/SIGTERM (1s–10m)", check: checkDuration(time.Second, 10*time.Minute)}
	setLogLevel = setting{flag: "log-level", env: "TENDER_LOG_LEVEL", def: "info",
		help: "debug, info, warn or error", check: checkOneOf("debug", "info", "warn", "error")}
	setLogFmt = setting{flag: "log-format", env: "TENDER_LOG_FORMAT", def: "text",
		help: "text or json", check: checkOneOf("text", "json")}
	setPlatform = setting{flag: "platform-name", env: "TENDER_PLATFORM_NAME", def: "Default platform",
		help: "name of the default platform, when it is first created", check: checkNonEmpty}
	setStripeKey = setting{flag: "stripe-secret-key", env: "TENDER_STRIPE_SECRET_KEY", def: "",
		help:  "the platform's Stripe key: sk_test_…, sk_live_…, rk_test_… or rk_live_… (prefer the variable: flags show in ps); empty runs the Stripe emulator in-process",
		check: checkStripeKey, redact: redactStripeKey}
	setStripeBase = setting{flag: "stripe-api-base", env: "TENDER_STRIPE_API_BASE", def: "",
		help:  "URL of a Stripe-compatible API to use instead of https://api.stripe.com, e.g. a 'tender emulator'; needs TENDER_STRIPE_SECRET_KEY",
		check: checkAPIBase, redact: redactURL}
	setStripePK = setting{flag: "stripe-publishable-key", env: "TENDER_STRIPE_PUBLISHABLE_KEY", def: "",
		help: "the platform's publishable key (pk_test_…, pk_live_…), for Stripe.js on hosted pages", check: checkPrefixed("pk_test_", "pk_live_"), redact: redactStripeKey}
	setStripeClientID = setting{flag: "stripe-client-id", env: "TENDER_STRIPE_CLIENT_ID", def: "",
		help: "the platform's Connect client id (ca_…), to connect Standard accounts through OAuth", check: checkPrefixed("ca_")}
	setStripeWebhookSecrets = setting{flag: "stripe-webhook-secrets", env: "TENDER_STRIPE_WEBHOOK_SECRETS", def: "",
		help: "signing secrets of Stripe's webhook endpoints (whsec_…), comma-separated", check: checkPrefixedList("whsec_"), redact: redactAll}
	setStripeConnectBase = setting{flag: "stripe-connect-base", env: "TENDER_STRIPE_CONNECT_BASE", def: "",
		help:  "URL of Connect OAuth instead of https://connect.stripe.com (a 'tender emulator'); defaults to TENDER_STRIPE_API_BASE when that is set",
		check: checkAPIBase, redact: redactURL}
	setStripeRate = setting{flag: "stripe-rate-limit", env: "TENDER_STRIPE_RATE_LIMIT", def: "default",
		help:  "requests per second each platform sends to Stripe: default (Stripe's limit for the key's mode, 25 test or 100 live; none for the in-process emulator), off, or a number",
		check: checkStripeRate}
	setStripeEndpointRate = setting{flag: "stripe-endpoint-rate-limit", env: "TENDER_STRIPE_ENDPOINT_RATE_LIMIT", def: "default",
		help:  "requests per second each platform sends to one Stripe endpoint: default (Stripe's, 25; none for the in-process emulator), off, or a number",
		check: checkStripeRate}
	setEventRetention = setting{flag: "event-retention", env: "TENDER_EVENT_RETENTION", def: "720h",
		help: "how long events (and webhook attempts) are kept (24h–8760h)", check: checkDuration(24*time.Hour, 8760*time.Hour)}
	setStripeEventRetention = setting{flag: "stripe-event-retention", env: "TENDER_STRIPE_EVENT_RETENTION", def: "720h",
		help: "how long the inbox keeps Stripe's events (72h–8760h); Stripe keeps them 30 days", check: checkDuration(72*time.Hour, 8760*time.Hour)}
	setWebhookWorkers = setting{flag: "webhook-workers", env: "TENDER_WEBHOOK_WORKERS", def: "10",
		help: "webhook deliveries sent at once, apart from the other jobs (1–1000)", check: checkInt(1, 1000)}
	setWebhookDisableAfter = setting{flag: "webhook-disable-after", env: "TENDER_WEBHOOK_DISABLE_AFTER", def: "120h",
		help: "how long an endpoint may fail every delivery before it is disabled (1h–720h)", check: checkDuration(time.Hour, 720*time.Hour)}
	setWebhookAllowPrivate = setting{flag: "webhook-allow-private", env: "TENDER_WEBHOOK_ALLOW_PRIVATE", def: "default",
		help:  "let webhook endpoints be on loopback and private addresses, and plain http on loopback: true, false, or default (true with the in-process emulator, false otherwise)",
		check: checkOneOf("default", "true", "false")}
	setPublicURL = setting{flag: "public-url", env: "TENDER_PUBLIC_URL", def: "",
		help:  "the URL at which browsers reach Tender's hosted pages (links, OAuth callbacks), e.g. https://pay.example.com; empty means http://ADDR",
		check: checkPublicURL, redact: redactURL}
)

// checkPrefixed accepts empty or a value with one of the prefixes.
func checkPrefixed(prefixes ...string) func(string) error {
	return func(v string) error {
		if v == "" || (hasPrefixIn(v, prefixes) && !strings.ContainsFunc(v, unicode.IsSpace)) {
			return nil
		}
		return fmt.Errorf("want a value starting with %s, or empty", strings.Join(prefixes, " or "))
	}
}

func checkPrefixedList(prefix string) func(string) error {
	return func(v string) error {
		for item := range strings.SplitSeq(v, ",") {
			if err := checkPrefixed(prefix)(strings.TrimSpace(item)); err != nil || (v != "" && strings.TrimSpace(item) == "") {
				return fmt.Errorf("want values starting with %s, comma-separated", prefix)
			}
		}
		return nil
	}
}

func hasPrefixIn(v string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(v, p) && len(v) > len(p) {
			return true
		}
	}
	return false
}

// settingsFor lists the settings a command reads, in the order help shows
// them.
func settingsFor(cmd string) []setting {
	switch cmd {
	case "serve":
		return []setting{setAddr, setDB, setDBConns, setWorkers, setPoll, setShutdown, setLogLevel, setLogFmt, setPlatform,
			setStripeKey, setStripeBase, setStripePK, setStripeClientID, setStripeWebhookSecrets, setStripeConnectBase,
			setStripeRate, setStripeEndpointRate, setMasterKey, setMasterKeyPrev, setMasterKeyFile, setPublicURL,
			setEventRetention, setStripeEventRetention, setWebhookWorkers, setWebhookDisableAfter, setWebhookAllowPrivate}
	case "stripe":
		// What serve reads, since it opens Tender as serve does.
		return settingsFor("serve")
	case "emulator":
		return []setting{setEmuAddr, setEmuSeed, setEmuSnapshot, setEmuLatency, setEmuJitter, setEmuErrorRate, setEmuRateLimit, setEmuLostRate,
			setShutdown, setLogLevel, setLogFmt}
	case "apikey":
		return []setting{setDB, setPlatform, setLogLevel, setLogFmt}
	case "chaos":
		return chaosSettings
	default:
		return []setting{setDB, setLogLevel, setLogFmt}
	}
}

// config holds a command's validated settings.
type config struct {
	values map[string]string // by flag name
	source map[string]string // "--flag", the variable's name, or "default"
}

// errHelp is returned by loadConfig when -h or --help was given and help
// has been printed: the command should stop without error.
var errHelp = errors.New("help requested")

// loadConfig parses args against the command's settings: a flag wins over
// its environment variable, which wins over the default. Every value is
// validated; the first bad one is a usage error naming the flag or the
// variable and what it accepts. -h prints the settings to stdout and
// returns errHelp.
func loadConfig(cmd string, args []string, getenv func(string) string, stdout io.Writer) (config, []string, error) {
	settings := settingsFor(cmd)
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	// The flag package would print its error and the whole help to stderr;
	// tender prints one line instead (main), and help only when asked.
	fs.SetOutput(io.Discard)
	flags := map[string]*string{}
	for _, s := range settings {
		flags[s.flag] = fs.String(s.flag, "", s.help)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(stdout, commandHelp(cmd))
			return config{}, nil, errHelp
		}
		return config{}, nil, usagef("%v (run 'tender help %s' for its settings)", err, cmd)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg := config{values: map[string]string{}, source: map[string]string{}}
	for _, s := range settings {
		v, source := s.def, "default"
		if e := getenv(s.env); e != "" {
			v, source = e, s.env
		}
		if set[s.flag] {
			v, source = *flags[s.flag], "--"+s.flag
		}
		if err := s.check(v); err != nil {
			return config{}, nil, usagef("invalid %s=%s: %v", source, s.show(v), err)
		}
		cfg.values[s.flag], cfg.source[s.flag] = v, source
	}
	return cfg, fs.Args(), nil
}

// show returns a value as it may appear in messages.
func (s setting) show(v string) string {
	if s.redact != nil {
		v = s.redact(v)
	}
	return strconv.Quote(v)
}

func settingsHelp(settings []setting) string {
	var b strings.Builder
	for _, s := range settings {
		fmt.Fprintf(&b, "  --%s, %s (default %q)\n        %s\n", s.flag, s.env, s.def, s.help)
	}
	return b.String()
}

func (c config) str(s setting) string { return c.values[s.flag] }

func (c config) int(s setting) int {
	n, _ := strconv.Atoi(c.values[s.flag]) // validated by loadConfig
	return n
}

func (c config) duration(s setting) time.Duration {
	d, _ := time.ParseDuration(c.values[s.flag]) // validated by loadConfig
	return d
}

// rateLimit returns a Stripe rate limit setting as app.Config takes it: 0
// for default, rate.Inf for off.
func (c config) rateLimit(s setting) rate.Limit {
	r, _ := parseStripeRate(c.values[s.flag]) // validated by loadConfig
	return r
}

// from names where a setting's value came from, for messages: "--flag",
// the environment variable, or "default".
func (c config) from(s setting) string { return c.source[s.flag] }

func (c config) logger(w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.str(setLogLevel)))
	opts := &slog.HandlerOptions{Level: level}
	if c.str(setLogFmt) == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func checkAddr(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("want host:port, e.g. 127.0.0.1:8080")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("want host:port with a port from 0 to 65535")
	}
	return nil
}

func checkDatabaseURL(v string) error {
	const want = "want sqlite:PATH, a file path, or postgres://…"
	dialect, target, err := store.ParseURL(v)
	if err != nil {
		// ParseURL's message may quote the URL; this one must not, as it
		// may hold a password.
		return fmt.Errorf("not a database URL; %s", want)
	}
	if dialect == store.SQLite && target == "" {
		return fmt.Errorf("empty SQLite path; %s", want)
	}
	return nil
}

// redactURL hides a URL's password.
func redactURL(v string) string {
	u, err := url.Parse(v)
	switch {
	case err == nil && u.User == nil:
		return v
	case err == nil:
		return u.Redacted()
	case strings.Contains(v, "@"):
		return "(unparseable URL, hidden as it may hold a password)"
	default:
		return v
	}
}

func checkInt(lo, hi int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want an integer from %d to %d", lo, hi)
		}
		return nil
	}
}

func checkDuration(lo, hi time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("want a duration from %v to %v, e.g. 500ms or 2s", lo, hi)
		}
		return nil
	}
}

func checkOneOf(options ...string) func(string) error {
	return func(v string) error {
		for _, o := range options {
			if v == o {
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(options, ", "))
	}
}

func checkNonEmpty(v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

// stripeKeyPrefixes are the kinds of Stripe key Tender can call Stripe with.
var stripeKeyPrefixes = []string{"sk_test_", "sk_live_", "rk_test_", "rk_live_"}

func checkStripeKey(v string) error {
	const want = "want a secret key (sk_test_…, sk_live_…) or a restricted key (rk_test_…, rk_live_…), or empty for the in-process emulator"
	switch {
	case v == "":
		return nil
	case strings.HasPrefix(v, "pk_"):
		return fmt.Errorf("that is a publishable key; %s", want)
	case strings.ContainsFunc(v, unicode.IsSpace):
		return fmt.Errorf("the key contains white space; %s", want)
	}
	for _, p := range stripeKeyPrefixes {
		if strings.HasPrefix(v, p) && len(v) > len(p) {
			return nil
		}
	}
	return errors.New(want)
}

// redactStripeKey shows only a key's kind, never any of its secret part.
func redactStripeKey(v string) string {
	for _, p := range slices.Concat(stripeKeyPrefixes, []string{"pk_test_", "pk_live_"}) {
		if strings.HasPrefix(v, p) {
			return p + "…"
		}
	}
	if v == "" {
		return ""
	}
	return "(hidden)"
}

// stripeKeyKind describes a valid key for people: "test key", "restricted
// live key".
func stripeKeyKind(key string) string {
	kind := "test key"
	if isLiveKey(key) {
		kind = "live key"
	}
	if strings.HasPrefix(key, "rk_") {
		kind = "restricted " + kind
	}
	return kind
}

func isLiveKey(key string) bool {
	return strings.HasPrefix(key, "sk_live_") || strings.HasPrefix(key, "rk_live_")
}

// maxStripeRate bounds a Stripe rate limit setting, well above any limit
// Stripe grants, so that a typo (an extra zero or two) is caught.
const maxStripeRate = 10_000

func checkStripeRate(v string) error {
	_, err := parseStripeRate(v)
	return err
}

// parseStripeRate reads a Stripe rate limit setting: "default" is 0
// (stripeapi's default for the key's mode), "off" is rate.Inf, and a
// number is requests per second.
func parseStripeRate(v string) (rate.Limit, error) {
	switch v {
	case "default":
		return 0, nil
	case "off":
		return rate.Inf, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0 && f <= maxStripeRate) { // also refuses NaN
		return 0, fmt.Errorf("want default (Stripe's limit), off, or requests per second above 0 and up to %d, e.g. 50 or 2.5", maxStripeRate)
	}
	return rate.Limit(f), nil
}

func checkAPIBase(v string) error {
	if v == "" {
		return nil
	}
	if problem := urlProblem(v); problem != "" {
		return fmt.Errorf("%s; want an http or https URL without credentials or query, e.g. http://127.0.0.1:12111, or empty for Stripe", problem)
	}
	return nil
}

// checkPublicURL checks TENDER_PUBLIC_URL: the address links and OAuth
// callbacks are built on, so its message speaks of browsers reaching
// Tender, not of Stripe.
func checkPublicURL(v string) error {
	if v == "" {
		return nil
	}
	if problem := urlProblem(v); problem != "" {
		return fmt.Errorf("%s; want the http or https URL at which browsers reach Tender, without credentials, query or fragment, e.g. https://pay.example.com, or empty for http:// at the address Tender listens on (%s)", problem, setAddr.env)
	}
	return nil
}

// urlProblem says what keeps v from being an http or https URL with a
// host and no credentials, query or fragment, or "" if nothing does. It
// never quotes v, which may hold a password.
func urlProblem(v string) string {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return "not a URL"
	case !strings.Contains(v, "://"):
		return "no http:// or https:// in front"
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("scheme %s is not http or https", u.Scheme)
	case u.Host == "":
		return "no host"
	case u.User != nil:
		return "it holds credentials"
	case u.RawQuery != "" || u.ForceQuery:
		return "it has a query"
	case u.Fragment != "":
		return "it has a fragment"
	}
	return ""
}
