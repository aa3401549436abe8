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
// count against.
type limiter struct {
	now     func() time.Time
	global  *rate.Limiter
	epLimit rate.Limit
	epBurst int

	mu  sync.Mutex
	eps map[string]*rate.Limiter
}

// maxEndpoints bounds the per-endpoint buckets; endpoints beyond it share one
// bucket per method. Tender calls a few dozen endpoints, so the bound is
// only a guard against paths whose ids endpointOf fails to elide.
const maxEndpoints = 512

func newLimiter(now func() time.Time, global rate.Limit, burst int, endpoint rate.Limit, epBurst int) *limiter {
	return &limiter{
		now:     now,
		global:  rate.NewLimiter(global, max(burst, 1)),
		epLimit: endpoint,
		epBurst: max(epBurst, 1),
		eps:     map[string]*rate.Limiter{},
	}
}

func (l *limiter) endpoint(name string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.eps[name]; ok {
		return e
	}
	if len(l.eps) >= maxEndpoints {
		name, _, _ = strings.Cut(name, " ")
		if e, ok := l.eps[name]; ok {
			return e
		}
	}
	e := rate.NewLimiter(l.epLimit, l.epBurst)
	l.eps[name] = e
	return e
}

// reserve takes a token from the global bucket and one from the endpoint's
// and returns how long to wait before sending, with a func that gives both
// back when the request is abandoned instead.
func (l *limiter) reserve(endpoint string) (time.Duration, func()) {
	now := l.now()
	g := l.global.ReserveN(now, 1)
	e := l.endpoint(endpoint).ReserveN(now, 1)
	d := max(g.DelayFrom(now), e.DelayFrom(now))
	return d, func() {
		t := l.now()
		g.CancelAt(t)
		e.CancelAt(t)
	}
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
		if err != nil || !t.retryable(req, resp, attempt) {
			return resp, err
		}
		// Stripe's limiter refused the request before it had any effect:
		// drain the answer so the connection is reused, back off, resend.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if err := t.sleep(ctx, backoff(attempt)); err != nil {
			return nil, err
		}
	}
}

// wait blocks until the limiter lets the request go or ctx is done. A
// request whose context ends first gives its tokens back.
func (t *transport) wait(ctx context.Context, endpoint string) error {
	d, cancel := t.limiter.reserve(endpoint)
	if d <= 0 {
		return nil
	}
	if err := t.sleep(ctx, d); err != nil {
		cancel()
		return err
	}
	return nil
}

// retryable reports whether resp is a refusal by Stripe's rate limiter that
// can be sent again. A 429 without Stripe-Rate-Limited-Reason is a lock
// timeout on one object, which stripe-go retries itself.
func (t *transport) retryable(req *http.Request, resp *http.Response, attempt int) bool {
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Stripe-Rate-Limited-Reason") == "" {
		return false
	}
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
