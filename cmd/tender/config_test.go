package main

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/time/rate"
)

// badValues has, for every setting, a value it refuses and words of what it
// accepts that the error must contain.
var badValues = map[string]struct{ value, accepts string }{
	"TENDER_ADDR":                   {"localhost", "host:port"},
	"TENDER_DATABASE_URL":           {"mysql://u:hunter2@db/x", "sqlite:PATH"},
	"TENDER_DB_MAX_CONNS":           {"0", "integer from 1 to 1000"},
	"TENDER_WORKERS":                {"many", "integer from 1 to 1000"},
	"TENDER_JOB_POLL_INTERVAL":      {"1ms", "duration from 10ms to 1m0s"},
	"TENDER_SHUTDOWN_TIMEOUT":       {"forever", "duration from 1s to 10m0s"},
	"TENDER_LOG_LEVEL":              {"verbose", "debug, info, warn, error"},
	"TENDER_LOG_FORMAT":             {"xml", "text, json"},
	"TENDER_PLATFORM_NAME":          {"  ", "must not be empty"},
	"TENDER_STRIPE_SECRET_KEY":      {"pk_test_hunter2", "publishable key; want a secret key (sk_test_…, sk_live_…) or a restricted key (rk_test_…, rk_live_…)"},
	"TENDER_STRIPE_API_BASE":        {"ftp://u:hunter2@files", "want an http or https URL"},
	"TENDER_STRIPE_PUBLISHABLE_KEY": {"sk_test_hunter2", "starting with pk_test_ or pk_live_"},
	"TENDER_STRIPE_CLIENT_ID":       {"acct_1", "starting with ca_"},
	"TENDER_STRIPE_WEBHOOK_SECRETS": {"whsec_1,hunter2", "starting with whsec_, comma-separated"},
	"TENDER_STRIPE_CONNECT_BASE":    {"connect.example", "want an http or https URL"},
	"TENDER_MASTER_KEY":             {"hunter2", "32 random bytes in base64"},
	"TENDER_MASTER_KEY_PREVIOUS":    {"AAAA,hunter2", "32 random bytes in base64"},
	"TENDER_MASTER_KEY_FILE":        {"/nonexistent-dir/tender.key", "existing directory"},
	"TENDER_PUBLIC_URL":             {"pay.example.com", "no http:// or https:// in front; want the http or https URL at which browsers reach Tender"},
	"TENDER_EVENT_RETENTION":        {"1h", "duration from 24h0m0s to 8760h0m0s"},
	"TENDER_STRIPE_EVENT_RETENTION": {"48h", "duration from 72h0m0s to 8760h0m0s"},
	"TENDER_WEBHOOK_WORKERS":        {"0", "integer from 1 to 1000"},
	"TENDER_WEBHOOK_DISABLE_AFTER":  {"5d", "duration from 1h0m0s to 720h0m0s"},
	"TENDER_WEBHOOK_ALLOW_PRIVATE":  {"yes", "default, true, false"},

	"TENDER_STRIPE_RATE_LIMIT":          {"fast", "want default (Stripe's limit), off, or requests per second"},
	"TENDER_STRIPE_ENDPOINT_RATE_LIMIT": {"0", "want default (Stripe's limit), off, or requests per second"},

	"TENDER_EMULATOR_ADDR":               {"127.0.0.1:99999", "port from 0 to 65535"},
	"TENDER_EMULATOR_SEED":               {"0", "integer from 1 to 18446744073709551615"},
	"TENDER_EMULATOR_SNAPSHOT":           {"/nonexistent-dir/emulator.snapshot", "existing directory"},
	"TENDER_EMULATOR_LATENCY":            {"-1s", "duration from 0s to 1m0s"},
	"TENDER_EMULATOR_LATENCY_JITTER":     {"2m", "duration from 0s to 1m0s"},
	"TENDER_EMULATOR_ERROR_RATE":         {"NaN", "fraction from 0 to 1"},
	"TENDER_EMULATOR_RATE_LIMIT":         {"fast", "off, test (25/s), live (100/s)"},
	"TENDER_EMULATOR_LOST_RESPONSE_RATE": {"1.5", "fraction from 0 to 1"},
}

// secretValues are parts of bad values that must never be printed.
var secretValues = []string{"hunter2"}

// TestConfigRejectsBadValues sets each setting of each command to a bad
// value, by environment variable and by flag, and checks that tender stops
// with a usage error (exit status 2) that names the variable or flag and
// says what it accepts.
func TestConfigRejectsBadValues(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"serve", "emulator", "migrate", "apikey"} {
		for _, s := range settingsFor(cmd) {
			bad, ok := badValues[s.env]
			if !ok {
				t.Errorf("badValues has no entry for %s: add one", s.env)
				continue
			}
			// Arguments that would be valid, so only the setting is at fault.
			tail := map[string][]string{"migrate": {"status"}, "apikey": {"list"}}[cmd]
			for _, by := range []string{"env", "flag"} {
				t.Run(cmd+"/"+by+"/"+s.flag, func(t *testing.T) {
					t.Parallel()
					// Other settings point nowhere harmful in case
					// validation wrongly passes.
					env := []string{"TENDER_ADDR", "127.0.0.1:0", "TENDER_EMULATOR_ADDR", "127.0.0.1:0", "TENDER_DATABASE_URL", "sqlite:" + t.TempDir() + "/t.db"}
					args := []string{cmd}
					name := "--" + s.flag
					if by == "env" {
						env = append(env, s.env, bad.value)
						name = s.env
					} else {
						args = append(args, "--"+s.flag+"="+bad.value)
					}
					args = append(args, tail...)
					_, _, err := runCmd(t, envOf(env...), args...)
					if !isUsage(err) {
						t.Fatalf("%s=%q: got %v, want a usage error", name, bad.value, err)
					}
					msg := err.Error()
					if !strings.Contains(msg, name+"=") || !strings.Contains(msg, bad.accepts) {
						t.Errorf("%s=%q: error %q should name %s and say %q", name, bad.value, msg, name, bad.accepts)
					}
					for _, secret := range secretValues {
						if strings.Contains(msg, secret) {
							t.Errorf("error %q shows the secret %q", msg, secret)
						}
					}
				})
			}
		}
	}
}

// TestPublicURLMessages: a bad TENDER_PUBLIC_URL is refused with a message
// that names it, says what is wrong with the value and what it is for,
// and says nothing of Stripe (its check once shared the API base's words).
func TestPublicURLMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ value, problem string }{
		{"pay.example.com", "no http:// or https:// in front"},
		{"localhost:8080", "no http:// or https:// in front"},
		{"ftp://pay.example.com", "scheme ftp is not http or https"},
		{"https://", "no host"},
		{"https://ann:hunter2@pay.example.com", "it holds credentials"},
		{"https://pay.example.com/?x=1", "it has a query"},
		{"https://pay.example.com/#top", "it has a fragment"},
		{"http://[::1", "not a URL"},
	} {
		_, _, err := loadConfig("serve", nil, envOf("TENDER_PUBLIC_URL", tc.value), &syncBuffer{})
		if !isUsage(err) {
			t.Errorf("%q: got %v, want a usage error", tc.value, err)
			continue
		}
		msg := err.Error()
		for _, want := range []string{"invalid TENDER_PUBLIC_URL=", tc.problem + ";", "browsers reach Tender", "e.g. https://pay.example.com", "TENDER_ADDR"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%q: error %q should say %q", tc.value, msg, want)
			}
		}
		for _, not := range []string{"Stripe", "12111", "hunter2"} {
			if strings.Contains(msg, not) {
				t.Errorf("%q: error %q should not say %q", tc.value, msg, not)
			}
		}
	}
	for _, ok := range []string{"", "https://pay.example.com", "http://127.0.0.1:8080/", "https://example.com/pay"} {
		if _, _, err := loadConfig("serve", nil, envOf("TENDER_PUBLIC_URL", ok), &syncBuffer{}); err != nil {
			t.Errorf("%q: %v, want it accepted", ok, err)
		}
	}
}

// TestConfigPrecedence: a flag wins over its variable, which wins over the
// default.
func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	getenv := envOf("TENDER_WORKERS", "7", "TENDER_LOG_LEVEL", "warn")
	cfg, rest, err := loadConfig("serve", []string{"--workers", "3", "extra"}, getenv, &syncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.int(setWorkers) != 3 || cfg.from(setWorkers) != "--workers" {
		t.Errorf("workers = %d from %s, want 3 from --workers", cfg.int(setWorkers), cfg.from(setWorkers))
	}
	if cfg.str(setLogLevel) != "warn" || cfg.from(setLogLevel) != "TENDER_LOG_LEVEL" {
		t.Errorf("log level = %s from %s, want warn from TENDER_LOG_LEVEL", cfg.str(setLogLevel), cfg.from(setLogLevel))
	}
	if cfg.duration(setPoll).String() != "500ms" || cfg.from(setPoll) != "default" {
		t.Errorf("poll interval = %v from %s, want the default 500ms", cfg.duration(setPoll), cfg.from(setPoll))
	}
	if len(rest) != 1 || rest[0] != "extra" {
		t.Errorf("rest = %q", rest)
	}
}

// TestStripeRateSettings: the Stripe rate limits read default as 0 (Stripe's
// limit for the key's mode, none for the in-process emulator), off as no
// limit, and a number of requests per second; anything else is refused.
func TestStripeRateSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value string
		want  rate.Limit
		ok    bool
	}{
		{"default", 0, true},
		{"off", rate.Inf, true},
		{"100", 100, true},
		{"2.5", 2.5, true},
		{"10000", 10_000, true},
		{"0", 0, false},
		{"-5", 0, false},
		{"10001", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"", 0, false},
		{"100/s", 0, false},
		{"Default", 0, false},
	} {
		got, err := parseStripeRate(tc.value)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseStripeRate(%q) = %v, %v; want %v, ok %v", tc.value, got, err, tc.want, tc.ok)
		}
	}
	getenv := envOf("TENDER_STRIPE_RATE_LIMIT", "40", "TENDER_STRIPE_ENDPOINT_RATE_LIMIT", "12.5")
	cfg, _, err := loadConfig("serve", []string{"--stripe-endpoint-rate-limit", "off"}, getenv, &syncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.rateLimit(setStripeRate); r != 40 {
		t.Errorf("TENDER_STRIPE_RATE_LIMIT=40 read as %v", r)
	}
	if r := cfg.rateLimit(setStripeEndpointRate); r != rate.Inf {
		t.Errorf("--stripe-endpoint-rate-limit=off read as %v", r)
	}
	cfg, _, err = loadConfig("serve", nil, envOf(), &syncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.rateLimit(setStripeRate) != 0 || cfg.rateLimit(setStripeEndpointRate) != 0 {
		t.Errorf("defaults read as %v and %v, want 0 (stripeapi's defaults)", cfg.rateLimit(setStripeRate), cfg.rateLimit(setStripeEndpointRate))
	}
}

// TestUsageErrors covers calls that are wrong in themselves.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"serve", "--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"serve", "extra"}, "serve takes no arguments"},
		{[]string{"emulator", "extra"}, "emulator takes no arguments"},
		{[]string{"migrate"}, "tender migrate [settings] up|status"},
		{[]string{"migrate", "down"}, "tender migrate [settings] up|status"},
		{[]string{"serve", "--stripe-api-base", "http://127.0.0.1:12111"}, "--stripe-api-base is set but TENDER_STRIPE_SECRET_KEY is not"},
		{[]string{"serve", "--stripe-secret-key", "sk_live_x", "--stripe-api-base", "http://stripe.example"}, "live keys are only sent over https"},
		{[]string{"serve", "--stripe-secret-key", "sk_test_"}, "want a secret key"},
		{[]string{"serve", "--stripe-secret-key", "sk_test_a b"}, "white space"},
		{[]string{"apikey"}, "tender apikey [settings] create"},
		{[]string{"apikey", "rotate"}, `unknown apikey command "rotate"`},
		{[]string{"apikey", "create", "--mode", "prod"}, `invalid --mode="prod": want test or live`},
		{[]string{"apikey", "create", "--nom", "x"}, "flag provided but not defined: -nom"},
		{[]string{"apikey", "revoke"}, "takes one KEY_ID"},
		{[]string{"apikey", "list", "x"}, "takes no arguments"},
		{[]string{"help", "frobnicate"}, `no help for "frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			// A database that would be created if the checks came too late.
			dbPath := t.TempDir() + "/t.db"
			_, _, err := runCmd(t, envOf("TENDER_DATABASE_URL", "sqlite:"+dbPath), tt.args...)
			if !isUsage(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("tender %q = %v, want a usage error containing %q", tt.args, err, tt.want)
			}
			if _, statErr := os.Stat(dbPath); statErr == nil {
				t.Errorf("the database was created before the arguments were checked")
			}
		})
	}
}
