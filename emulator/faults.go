package emulator

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// RateLimit presets: Stripe's global limits in test and live mode.
const (
	RateLimitTestMode = 25  // requests per second
	RateLimitLiveMode = 100 // requests per second
)

// Faults configures fault injection. All random decisions come from the
// server's seed, so a run with the same seed and the same request order
// sees the same faults.
type Faults struct {
	// Latency is added before every API request; LatencyJitter adds up to
	// that much more, uniformly.
	Latency       time.Duration `json:"latency"`
	LatencyJitter time.Duration `json:"latency_jitter"`
	// ErrorRate is the fraction (0–1) of API requests answered with a 500
	// api_error instead of taking effect. The failure comes where Stripe's
	// own would, after the request passed validation: a request with a bad
	// key or parameter gets that error instead, stored nowhere. A POST's 500 is
	// stored under its Idempotency-Key and replayed, as Stripe does, with
	// Stripe-Should-Retry: false; retry such a request with a new key.
	ErrorRate float64 `json:"error_rate"`
	// RateLimit, when positive, is a token bucket of that many requests per
	// second of emulator time (burst of the same size); excess requests get
	// a 429 rate_limit with Stripe-Rate-Limited-Reason: global-rate. See
	// RateLimitTestMode and RateLimitLiveMode.
	RateLimit int `json:"rate_limit"`
	// EndpointRateLimit, when positive, is a bucket of that many requests
	// per second for each endpoint (route pattern), checked before the
	// global one, as Stripe limits each endpoint (25/s by default) within
	// the global limit; excess requests get Stripe-Rate-Limited-Reason:
	// endpoint-rate.
	EndpointRateLimit int `json:"endpoint_rate_limit"`
	// RateLimitedRate is the fraction (0–1) of API requests refused with a
	// 429 rate_limit before they take effect, as Stripe's limiters refuse
	// a request under load, with a Stripe-Rate-Limited-Reason drawn from
	// the five Stripe documents (global-rate, global-concurrency,
	// endpoint-rate, endpoint-concurrency, resource-specific). Unlike
	// RateLimit it does not depend on how fast requests come, so a
	// client's handling of every reason can be tested at any pace.
	RateLimitedRate float64 `json:"rate_limited_rate"`
	// LostResponseRate is the fraction (0–1) of POST requests whose effect
	// is committed (and stored under their Idempotency-Key) but whose
	// connection is then dropped without a response. Replays are never lost,
	// so a client retrying with the same key gets the original result.
	LostResponseRate float64 `json:"lost_response_rate"`
	// Webhooks makes webhook deliveries go missing, arrive twice or arrive
	// out of order.
	Webhooks WebhookFaults `json:"webhooks"`
}

type faultInjector struct {
	mu        sync.Mutex
	cfg       Faults
	rng       *rand.Rand
	global    bucket
	endpoints map[string]*bucket // by route pattern
	// hookRng draws the webhook faults. It is apart from rng so that
	// webhooks, which come and go with the events a request makes, do not
	// shift the faults of the requests that follow.
	hookRng    *rand.Rand
	hookCounts WebhookFaultCounts
}

// bucket is a token bucket that fills at rate tokens a second of emulator
// time, up to rate tokens.
type bucket struct {
	tokens float64
	last   time.Time
}

func newFaultInjector(seed uint64, f Faults) *faultInjector {
	fi := &faultInjector{rng: rand.New(rand.NewPCG(seed^0xfa017, seed)),
		hookRng: rand.New(rand.NewPCG(seed^0x3eb400c, seed))}
	fi.set(f)
	return fi
}

func (fi *faultInjector) set(f Faults) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.cfg = f
	fi.global = bucket{tokens: float64(f.RateLimit)}
	fi.endpoints = map[string]*bucket{}
}

func (fi *faultInjector) get() Faults {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.cfg
}

// SetFaults replaces the fault configuration at run time.
func (s *Server) SetFaults(f Faults) { s.faults.set(f) }

// Faults returns the current fault configuration.
func (s *Server) Faults() Faults { return s.faults.get() }

// decide draws the random choices for one request under the lock. The
// token buckets fill on the emulator clock, so a test that advances the
// clock (or does not) sees the same 429s on every run. reason is the
// Stripe-Rate-Limited-Reason of a 429, empty when the request may pass.
func (fi *faultInjector) decide(now time.Time, route string) (delay time.Duration, reason string, fail bool) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	c := fi.cfg
	delay = c.Latency
	if c.LatencyJitter > 0 {
		delay += time.Duration(fi.rng.Int64N(int64(c.LatencyJitter)))
	}
	if c.EndpointRateLimit > 0 {
		b := fi.endpoints[route]
		if b == nil {
			b = &bucket{tokens: float64(c.EndpointRateLimit)}
			fi.endpoints[route] = b
		}
		if !b.take(now, float64(c.EndpointRateLimit)) {
			return delay, "endpoint-rate", false
		}
	}
	if c.RateLimit > 0 && !fi.global.take(now, float64(c.RateLimit)) {
		return delay, "global-rate", false
	}
	if c.RateLimitedRate > 0 && fi.rng.Float64() < c.RateLimitedRate {
		return delay, rateLimitedReasons[fi.rng.IntN(len(rateLimitedReasons))], false
	}
	fail = c.ErrorRate > 0 && fi.rng.Float64() < c.ErrorRate
	return delay, "", fail
}

// rateLimitedReasons are the values of Stripe-Rate-Limited-Reason Stripe
// documents (https://docs.stripe.com/rate-limits).
var rateLimitedReasons = []string{"global-rate", "global-concurrency", "endpoint-rate", "endpoint-concurrency", "resource-specific"}

// take refills the bucket for the time since the last request and takes
// one token, reporting whether there was one.
func (b *bucket) take(now time.Time, rate float64) bool {
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens = min(rate, b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// beforeRequest applies latency and rate limiting. It reports whether it
// already answered the request (a 429, or the client went away during the
// latency), and whether the request is to fail with an injected 500.
func (fi *faultInjector) beforeRequest(w http.ResponseWriter, r *http.Request, now time.Time) (fail, answered bool) {
	delay, reason, fail := fi.decide(now, r.Pattern)
	if delay > 0 && !sleepCtx(r.Context(), delay) {
		return false, true
	}
	if reason == "" {
		return fail, false
	}
	e := &Error{Status: http.StatusTooManyRequests, Type: ErrorTypeInvalidRequest, Code: "rate_limit",
		Message: "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."}
	w.Header().Set("Stripe-Rate-Limited-Reason", reason)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(appendJSON(nil, obj{{"error", e.render(nil)}}))
	return false, true
}

// loseResponse decides whether a committed POST loses its response.
func (fi *faultInjector) loseResponse() bool {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.cfg.LostResponseRate > 0 && fi.rng.Float64() < fi.cfg.LostResponseRate
}

// hijackClose drops the connection without answering. It reports false when
// the ResponseWriter cannot be hijacked (HTTP/2), in which case the caller
// answers normally.
func hijackClose(w http.ResponseWriter) bool {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return false
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Validate reports the first setting out of range, naming it.
func (f Faults) Validate() error {
	switch {
	case f.Latency < 0:
		return fmt.Errorf("latency must not be negative")
	case f.LatencyJitter < 0:
		return fmt.Errorf("latency_jitter must not be negative")
	case f.ErrorRate < 0 || f.ErrorRate > 1:
		return fmt.Errorf("error_rate must be between 0 and 1")
	case f.RateLimitedRate < 0 || f.RateLimitedRate > 1:
		return fmt.Errorf("rate_limited_rate must be between 0 and 1")
	case f.LostResponseRate < 0 || f.LostResponseRate > 1:
		return fmt.Errorf("lost_response_rate must be between 0 and 1")
	case f.RateLimit < 0:
		return fmt.Errorf("rate_limit must be 0 (off) or a positive number of requests per second")
	case f.EndpointRateLimit < 0:
		return fmt.Errorf("endpoint_rate_limit must be 0 (off) or a positive number of requests per second")
	}
	return f.Webhooks.validate()
}
