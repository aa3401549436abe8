package stripeapi

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter holds a platform's token buckets: one for all its requests and
// one per endpoint. Stripe counts requests per account; requests made on a
// connected account (Stripe-Account) share the platform's buckets, which is
// the cautious reading of documentation that does not say which account they
// count against. A 429 from Stripe's limiter pauses the bucket its reason
// names (pause), so that the requests behind the refused one wait too.
type limiter struct {
	now     func() time.Time
	epLimit rate.Limit
	epBurst int

	mu     sync.Mutex
	global *bucket
	eps    map[string]*bucket
}

// maxEndpoints bounds the per-endpoint buckets; endpoints beyond it share one
// bucket per method. Tender calls a few dozen endpoints, so the bound is
// only a guard against paths whose ids endpointOf fails to elide.
const maxEndpoints = 512

func newLimiter(now func() time.Time, global rate.Limit, burst int, endpoint rate.Limit, epBurst int) *limiter {
	return &limiter{
		now:     now,
		global:  newBucket(global, burst),
		epLimit: endpoint,
		epBurst: epBurst,
		eps:     map[string]*bucket{},
	}
}

// endpoint returns the endpoint's bucket; l.mu must be held.
func (l *limiter) endpoint(name string) *bucket {
	if e, ok := l.eps[name]; ok {
		return e
	}
	if len(l.eps) >= maxEndpoints {
		name, _, _ = strings.Cut(name, " ")
		if e, ok := l.eps[name]; ok {
			return e
		}
	}
	e := newBucket(l.epLimit, l.epBurst)
	l.eps[name] = e
	return e
}

// reserve takes a slot in the global bucket and one in the endpoint's and
// returns how long to wait before sending, with a func that gives both
// back when the request is abandoned instead.
func (l *limiter) reserve(endpoint string) (time.Duration, func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	g, e := l.global, l.endpoint(endpoint)
	gAt, gTAT := g.reserve(now)
	eAt, eTAT := e.reserve(now)
	return later(gAt, eAt).Sub(now), func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		t := l.now()
		g.cancel(t, gAt, gTAT)
		e.cancel(t, eAt, eTAT)
	}
}

// pause stops the buckets scope names (the global one, or the endpoint's)
// until the given time; a request scope pauses nothing.
func (l *limiter) pause(s scope, endpoint string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case scopeGlobal:
		l.global.pause(until)
	case scopeEndpoint:
		l.endpoint(endpoint).pause(until)
	}
}

// paused reports whether a request to endpoint would now wait for a pause:
// one set after it took its slot, which it must then take again.
func (l *limiter) paused(endpoint string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	return l.global.until.After(now) || l.endpoint(endpoint).until.After(now)
}

// bucket is a token bucket kept as the generic cell rate algorithm keeps
// one: tat is when the next request would be due if the bucket allowed no
// burst, and a request may go once tat less tolerance (the burst) has come.
// Unlike golang.org/x/time/rate it can be paused, with no burst after the
// pause: what Stripe's 429 asks for.
type bucket struct {
	interval  time.Duration // between requests at the rate; 0 means no limit
	tolerance time.Duration // burst-1 intervals
	tat       time.Time
	until     time.Time // no request goes before
}

func newBucket(r rate.Limit, burst int) *bucket {
	b := &bucket{}
	if r != rate.Inf && r > 0 {
		b.interval = time.Duration(float64(time.Second) / float64(r))
		b.tolerance = time.Duration(max(burst, 1)-1) * b.interval
	}
	return b
}

// reserve takes the next slot at or after now and returns when it is, and
// the bucket's state after taking it, for cancel.
func (b *bucket) reserve(now time.Time) (at, tat time.Time) {
	at = now
	if b.interval > 0 {
		t := later(b.tat, now)
		at = later(at, t.Add(-b.tolerance))
		b.tat = t.Add(b.interval)
	}
	return later(at, b.until), b.tat
}

// cancel gives back a slot reserved for at, which left the bucket at tat,
// when it is still to come and no later slot was taken since.
func (b *bucket) cancel(now, at, tat time.Time) {
	if b.interval > 0 && at.After(now) && b.tat.Equal(tat) {
		b.tat = b.tat.Add(-b.interval)
	}
}

// pause lets no request go before until, and then only at the rate: the
// bucket starts again empty.
func (b *bucket) pause(until time.Time) {
	b.until = later(b.until, until)
	if b.interval > 0 {
		b.tat = later(b.tat, until.Add(b.tolerance))
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// scope is who waits after Stripe's limiter refused a request.
type scope int

const (
	scopeRequest  scope = iota // the refused request only
	scopeEndpoint              // every request to its endpoint
	scopeGlobal                // every request of the platform
)

// scopeOf reads Stripe-Rate-Limited-Reason. Stripe documents five reasons;
// an unknown one holds back only the refused request, as resource-specific
// does, since nothing says more is needed.
func scopeOf(reason string) scope {
	switch reason {
	case "global-rate", "global-concurrency":
		return scopeGlobal
	case "endpoint-rate", "endpoint-concurrency":
		return scopeEndpoint
	}
	return scopeRequest
}

// endpointOf names the endpoint a request calls as Stripe counts them: the
// method and the path with object ids replaced, so that GET
// /v1/payment_intents/pi_1 and pi_2 share one bucket. A segment is an id when
// it holds a digit or an upper-case letter, which Stripe's resource names
// never do (the leading version segment is kept).
func endpointOf(method, path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		if i > 0 && isID(s) {
			segs[i] = "{id}"
		}
	}
	return method + " /" + strings.Join(segs, "/")
}

func isID(s string) bool {
	for _, r := range s {
		if ('0' <= r && r <= '9') || ('A' <= r && r <= 'Z') {
			return true
		}
	}
	return false
}

// transport is the http.RoundTripper under stripe-go: it rate-limits,
// retries 429s from Stripe's rate limiter and logs every attempt.
type transport struct {
	base    http.RoundTripper
	limiter *limiter
	retries int
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	logger  *slog.Logger
	redact  func(string) string
}

// Bounds of the backoff between attempts refused by Stripe's rate limiter;
// the same as stripe-go's network retries.
const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	ep := endpointOf(req.Method, req.URL.Path)
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			r = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		if err := t.wait(ctx, ep); err != nil {
			if r.Body != nil {
				_ = r.Body.Close()
			}
			return nil, err
		}
		start := time.Now()
		resp, err := t.base.RoundTrip(r)
		t.log(ctx, r, resp, err, attempt, time.Since(start))
		if err != nil || resp.StatusCode != http.StatusTooManyRequests {
			return resp, err
		}
		reason := resp.Header.Get("Stripe-Rate-Limited-Reason")
		if reason == "" {
			// A lock timeout on one object, which stripe-go retries itself.
			return resp, nil
		}
		// Stripe's limiter refused the request before it had any effect.
		// The requests the reason names wait with it, whether or not this
		// one is sent again.
		d, s := backoff(attempt), scopeOf(reason)
		t.limiter.pause(s, ep, t.now().Add(d))
		if !t.resendable(req, attempt) {
			return resp, nil
		}
		// Drain the answer so the connection is reused, back off, resend.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if s != scopeRequest {
			continue // wait sees the pause
		}
		if err := t.sleep(ctx, d); err != nil {
			return nil, err
		}
	}
}

// wait blocks until the limiter lets the request go or ctx is done. A
// request whose context ends first gives its slots back. A request that
// slept on a slot taken before a 429 paused its buckets takes a new one
// after the pause.
func (t *transport) wait(ctx context.Context, endpoint string) error {
	for {
		d, cancel := t.limiter.reserve(endpoint)
		if d <= 0 {
			return nil
		}
		if err := t.sleep(ctx, d); err != nil {
			cancel()
			return err
		}
		if !t.limiter.paused(endpoint) {
			return nil
		}
	}
}

// resendable reports whether a request Stripe's limiter refused may be sent
// again: retries are left and its body can be read again.
func (t *transport) resendable(req *http.Request, attempt int) bool {
	if attempt >= t.retries {
		return false
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// backoff is the wait before the attempt after attempt: exponential from
// minBackoff, capped at maxBackoff, with jitter over its upper half so that
// workers refused together do not return together.
func backoff(attempt int) time.Duration {
	d := maxBackoff
	if attempt < 8 {
		d = min(minBackoff<<attempt, maxBackoff)
	}
	return d/2 + rand.N(d/2+1)
}

// log writes one line per attempt. It names the request by method and path
// only: query strings can hold search terms and customer emails, and headers
// hold the secret key.
func (t *transport) log(ctx context.Context, req *http.Request, resp *http.Response, err error, attempt int, d time.Duration) {
	level := slog.LevelDebug
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("path", req.URL.Path),
		slog.Duration("duration", d),
	}
	if a := req.Header.Get("Stripe-Account"); a != "" {
		attrs = append(attrs, slog.String("account", a))
	}
	if k := req.Header.Get("Idempotency-Key"); k != "" {
		attrs = append(attrs, slog.String("idempotency_key", k))
	}
	if attempt > 0 {
		attrs = append(attrs, slog.Int("attempt", attempt+1))
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", t.redact(err.Error())))
	} else {
		attrs = append(attrs, slog.Int("status", resp.StatusCode), slog.String("request_id", resp.Header.Get("Request-Id")))
		if resp.Header.Get("Idempotent-Replayed") == "true" {
			attrs = append(attrs, slog.Bool("replayed", true))
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			level = slog.LevelWarn
			reason := resp.Header.Get("Stripe-Rate-Limited-Reason")
			if reason == "" {
				reason = "lock_timeout"
			}
			attrs = append(attrs, slog.String("rate_limited", reason))
		}
	}
	t.logger.LogAttrs(ctx, level, "stripe request", attrs...)
}
