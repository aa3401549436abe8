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
	// api_error before they have any effect.
	ErrorRate float64 `json:"error_rate"`
	// RateLimit, when positive, is a token bucket of that many requests per
	// second (burst of the same size); excess requests get a 429 with
	// Stripe-Rate-Limited-Reason: global-rate.
	RateLimit int `json:"rate_limit"`
	// LostResponseRate is the fraction (0–1) of POST requests carrying an
	// Idempotency-Key whose effect is committed and stored but whose
	// connection is then dropped without a response.
	LostResponseRate float64 `json:"lost_response_rate"`
}

type faultInjector struct {
	mu     sync.Mutex
	cfg    Faults
	rng    *rand.Rand
	tokens float64
	last   time.Time
}

func newFaultInjector(seed uint64, f Faults) *faultInjector {
	fi := &faultInjector{rng: rand.New(rand.NewPCG(seed^0xfa017, seed))}
	fi.set(f)
	return fi
}

func (fi *faultInjector) set(f Faults) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.cfg = f
	fi.tokens = float64(f.RateLimit)
	fi.last = time.Now()
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

// decide draws the random choices for one request under the lock.
func (fi *faultInjector) decide() (delay time.Duration, limited, fail bool) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	c := fi.cfg
	delay = c.Latency
	if c.LatencyJitter > 0 {
		delay += time.Duration(fi.rng.Int64N(int64(c.LatencyJitter)))
	}
	if c.RateLimit > 0 {
		// Rate limits are about real throughput, so the bucket uses wall time.
		now := time.Now()
		fi.tokens += now.Sub(fi.last).Seconds() * float64(c.RateLimit)
		fi.last = now
		if fi.tokens > float64(c.RateLimit) {
			fi.tokens = float64(c.RateLimit)
		}
		if fi.tokens < 1 {
			limited = true
		} else {
			fi.tokens--
		}
	}
	if c.ErrorRate > 0 && fi.rng.Float64() < c.ErrorRate {
		fail = true
	}
	return delay, limited, fail
}

// beforeRequest applies latency, rate limiting and injected errors. It
// reports whether it already answered the request.
func (fi *faultInjector) beforeRequest(w http.ResponseWriter, r *http.Request, reqID string) bool {
	delay, limited, fail := fi.decide()
	if delay > 0 && !sleepCtx(r.Context(), delay) {
		return true
	}
	var e *Error
	switch {
	case limited:
		e = &Error{Status: http.StatusTooManyRequests, Type: ErrorTypeInvalidRequest, Code: "rate_limit",
			Message: "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
			header:  http.Header{"Stripe-Rate-Limited-Reason": {"global-rate"}}}
	case fail:
		e = apiError("An unknown error occurred (injected by the emulator).")
	default:
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	for k, v := range e.header {
		w.Header()[k] = v
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(appendJSON(nil, obj{{"error", e.render(nil)}}))
	return true
}

// loseResponse decides whether this committed request loses its response.
func (fi *faultInjector) loseResponse(r *http.Request) bool {
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
	case f.LostResponseRate < 0 || f.LostResponseRate > 1:
		return fmt.Errorf("lost_response_rate must be between 0 and 1")
	case f.RateLimit < 0:
		return fmt.Errorf("rate_limit must be 0 (off) or a positive number of requests per second")
	}
	return nil
}
