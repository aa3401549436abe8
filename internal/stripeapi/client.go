package stripeapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v85"
	"golang.org/x/time/rate"
)

// Config configures a Client for one platform.
type Config struct {
	// SecretKey is the platform's secret (sk_…) or restricted (rk_…) key.
	// Its mode (test or live) picks the default rate limits.
	SecretKey string

	// APIBase is the base URL of Stripe's API, for the emulator; empty means
	// Stripe itself. When set, it also serves OAuth (Connect) and file
	// uploads, as the emulator does.
	APIBase string

	// HTTPClient sends the requests; nil means a client with stripe-go's
	// default 80 s timeout. It is copied, never changed: the Client wraps its
	// Transport (nil meaning http.DefaultTransport) with the rate limiter.
	HTTPClient *http.Client

	// MaxNetworkRetries is how many times stripe-go retries a request that
	// failed on the network or with a 429 lock_timeout. Zero means
	// stripe-go's default (2); negative means never.
	MaxNetworkRetries int

	// RateLimit is the platform's budget of requests per second across all
	// endpoints, and RateBurst its bucket size. Zero means DefaultRate for
	// the key's mode; rate.Inf turns the limiter off. A zero RateBurst means
	// a tenth of the rate (at least 1).
	RateLimit rate.Limit
	RateBurst int

	// EndpointRateLimit and EndpointBurst bound each endpoint (method and
	// path with ids elided) on its own. Zero means DefaultEndpointRate, and a
	// tenth of the rate for the burst; rate.Inf turns them off.
	EndpointRateLimit rate.Limit
	EndpointBurst     int

	// RateLimitRetries is how many times a request Stripe's rate limiter
	// refused (429 with Stripe-Rate-Limited-Reason) is sent again, after
	// exponential backoff with jitter from 0.5 s up to 5 s. The reason says
	// who waits: every request of the platform (global-rate,
	// global-concurrency), every request to the endpoint (endpoint-rate,
	// endpoint-concurrency), or only the refused one (resource-specific).
	// Zero means 3; negative means never, though the buckets still pause.
	RateLimitRetries int

	// Logger receives a debug line per HTTP attempt; nil means slog.Default.
	Logger *slog.Logger

	// NowFunc and SleepFunc are the limiter's clock, for tests; nil means
	// time.Now and a timer that stops when ctx is done.
	NowFunc   func() time.Time
	SleepFunc func(ctx context.Context, d time.Duration) error
}

// String describes the Config without its secret key, so that printing or
// logging a Config cannot leak it.
func (c Config) String() string {
	return fmt.Sprintf("stripeapi.Config{SecretKey: %s, APIBase: %q, RateLimit: %v, EndpointRateLimit: %v}",
		maskKey(c.SecretKey), c.APIBase, c.RateLimit, c.EndpointRateLimit)
}

// maskKey keeps only a key's kind and mode.
func maskKey(key string) string {
	for _, p := range []string{"sk_live_", "sk_test_", "rk_live_", "rk_test_"} {
		if strings.HasPrefix(key, p) {
			return p + "[REDACTED]"
		}
	}
	if key == "" {
		return `""`
	}
	return "[REDACTED]"
}

// LogValue implements slog.LogValuer, for the same reason as String.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Stripe's documented rate limits, in requests per second, per account
// (https://docs.stripe.com/rate-limits): 100 operations globally in live
// mode, 25 in a sandbox (test mode), and 25 per endpoint unless an endpoint
// says otherwise (Files and Search: 20). Every endpoint's requests also
// count against the global limit.
const (
	StripeLiveModeLimit = 100
	StripeTestModeLimit = 25
	StripeEndpointLimit = 25
)

// DefaultRate returns the default global budget for a mode: Stripe's
// documented limit itself. Tender's bucket lets out a steady rate with a
// small burst (DefaultBurst, a tenth of a second's worth), and any stream a
// token bucket of that rate lets out is also let through by a bucket of the
// same rate and a larger size, such as Stripe's, which holds a second's
// worth: Tender on its own never meets a 429. What else uses the same
// account (the Dashboard, other integrations, other Tender nodes) is not
// counted here; the 429s it causes pause Tender's buckets instead (see
// Config.RateLimitRetries), which costs far less than keeping a fifth of
// the limit unused at all times.
func DefaultRate(livemode bool) rate.Limit {
	if livemode {
		return StripeLiveModeLimit
	}
	return StripeTestModeLimit
}

// DefaultBurst returns the default global bucket size for a mode: a tenth
// of a second's worth of requests.
func DefaultBurst(livemode bool) int {
	return burstFor(DefaultRate(livemode))
}

// Defaults per endpoint, chosen as for the global budget: Stripe's
// documented per-endpoint limit, with a tenth of it as burst. In live mode
// it is what bounds a bulk run of PaymentIntent creations, well before the
// global limit.
const (
	DefaultEndpointRate  rate.Limit = StripeEndpointLimit
	DefaultEndpointBurst            = StripeEndpointLimit / 10
)

// burstFor is the bucket size for a rate when none is given: a tenth of a
// second's worth, at least one.
func burstFor(r rate.Limit) int {
	if r == rate.Inf {
		return 1 // no bucket
	}
	return int(max(1, min(r/10, 1_000_000)))
}

const defaultRateLimitRetries = 3

// Client is one platform's connection to Stripe. It is safe for concurrent
// use.
type Client struct {
	sc       *stripe.Client
	backends *stripe.Backends
	livemode bool
}

// New returns a Client for the platform whose key cfg holds. It returns an
// error naming the field when cfg is unusable; the error never contains the
// key.
func New(cfg Config) (*Client, error) {
	livemode, err := keyMode(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	if cfg.APIBase != "" {
		u, err := url.Parse(cfg.APIBase)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("stripeapi: APIBase must be an http or https URL")
		}
	}
	if cfg.RateLimit < 0 || cfg.EndpointRateLimit < 0 || cfg.RateBurst < 0 || cfg.EndpointBurst < 0 {
		return nil, errors.New("stripeapi: rate limits and bursts must not be negative")
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRate(livemode)
	}
	if cfg.RateBurst == 0 {
		cfg.RateBurst = burstFor(cfg.RateLimit)
	}
	if cfg.EndpointRateLimit == 0 {
		cfg.EndpointRateLimit = DefaultEndpointRate
	}
	if cfg.EndpointBurst == 0 {
		cfg.EndpointBurst = burstFor(cfg.EndpointRateLimit)
	}
	switch {
	case cfg.RateLimitRetries == 0:
		cfg.RateLimitRetries = defaultRateLimitRetries
	case cfg.RateLimitRetries < 0:
		cfg.RateLimitRetries = 0
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.SleepFunc == nil {
		cfg.SleepFunc = sleep
	}

	hc := &http.Client{Timeout: 80 * time.Second}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &transport{
		base:    base,
		limiter: newLimiter(cfg.NowFunc, cfg.RateLimit, cfg.RateBurst, cfg.EndpointRateLimit, cfg.EndpointBurst),
		retries: cfg.RateLimitRetries,
		now:     cfg.NowFunc,
		sleep:   cfg.SleepFunc,
		logger:  cfg.Logger,
		redact:  newRedacter(cfg.SecretKey),
	}

	retries := int64(cfg.MaxNetworkRetries)
	switch {
	case retries == 0:
		retries = stripe.DefaultMaxNetworkRetries
	case retries < 0:
		retries = 0
	}
	bc := &stripe.BackendConfig{
		HTTPClient:        hc,
		MaxNetworkRetries: stripe.Int64(retries),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		EnableTelemetry:   stripe.Bool(false),
	}
	if cfg.APIBase != "" {
		bc.URL = stripe.String(strings.TrimRight(cfg.APIBase, "/"))
	}
	backends := stripe.NewBackendsWithConfig(bc)
	return &Client{
		sc:       stripe.NewClient(cfg.SecretKey, stripe.WithBackends(backends)),
		backends: backends,
		livemode: livemode,
	}, nil
}

// keyMode reports whether key is a live-mode key, or an error when it is not
// a Stripe secret or restricted key.
func keyMode(key string) (livemode bool, err error) {
	switch {
	case key == "":
		return false, errors.New("stripeapi: SecretKey is required")
	case strings.HasPrefix(key, "sk_live_"), strings.HasPrefix(key, "rk_live_"):
		return true, nil
	case strings.HasPrefix(key, "sk_test_"), strings.HasPrefix(key, "rk_test_"):
		return false, nil
	}
	return false, errors.New("stripeapi: SecretKey must be a Stripe secret (sk_test_…, sk_live_…) or restricted (rk_…) key")
}

// Stripe returns the stripe-go client, for feature packages to call Stripe's
// endpoints. Use OnAccount for calls on a connected account and
// IdempotencyKey for every POST that must happen once.
func (c *Client) Stripe() *stripe.Client { return c.sc }

// Livemode reports whether the platform's key is a live-mode key.
func (c *Client) Livemode() bool { return c.livemode }

// accountSetter is every stripe-go params struct (they embed stripe.Params).
type accountSetter interface{ SetStripeAccount(string) }

// OnAccount makes params address the connected account (Stripe-Account
// header) and returns them, so a call reads
//
//	sc.V1PaymentIntents.Create(ctx, stripeapi.OnAccount(&stripe.PaymentIntentCreateParams{…}, acct))
//
// An empty account leaves params on the platform's own account, so callers
// can pass a merchant's account id or "" without branching. params must not
// be nil.
func OnAccount[P accountSetter](params P, account string) P {
	if account != "" {
		params.SetStripeAccount(account)
	}
	return params
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
