package stripeapi_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/tenderpay/tender/internal/stripeapi"
)

func TestLimiterSpacesRequests(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := stripeapi.NewLimiter(clk.now, 5, 1, rate.Inf, 1)
	// Six requests at the same instant: the first goes at once, the others
	// one every 200 ms.
	for i := range 6 {
		d, _ := l.Reserve("POST /v1/customers")
		if want := time.Duration(i) * 200 * time.Millisecond; d != want {
			t.Fatalf("request %d waits %v, want %v", i, d, want)
		}
	}
	// Two seconds later the bucket holds one token again (burst 1).
	clk.advance(2 * time.Second)
	if d, _ := l.Reserve("GET /v1/customers"); d != 0 {
		t.Fatalf("after refill, wait %v", d)
	}
	if d, _ := l.Reserve("GET /v1/customers"); d != 200*time.Millisecond {
		t.Fatalf("second after refill, wait %v", d)
	}
}

func TestLimiterEndpointBuckets(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := stripeapi.NewLimiter(clk.now, rate.Inf, 1, 2, 1)
	// Each endpoint has its own bucket of 2/s; different endpoints do not wait
	// on each other.
	for _, tc := range []struct {
		ep   string
		want time.Duration
	}{
		{"POST /v1/payment_intents", 0},
		{"POST /v1/payment_intents", 500 * time.Millisecond},
		{"POST /v1/customers", 0},
		{"POST /v1/payment_intents", time.Second},
		{"GET /v1/payment_intents/{id}", 0},
	} {
		if d, _ := l.Reserve(tc.ep); d != tc.want {
			t.Fatalf("%s waits %v, want %v", tc.ep, d, tc.want)
		}
	}
}

func TestLimiterCancelGivesTokensBack(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := stripeapi.NewLimiter(clk.now, 1, 1, rate.Inf, 1)
	if d, _ := l.Reserve("GET /v1/balance"); d != 0 {
		t.Fatalf("first waits %v", d)
	}
	d, cancel := l.Reserve("GET /v1/balance")
	if d != time.Second {
		t.Fatalf("second waits %v", d)
	}
	cancel() // its caller gave up: the next request takes its place
	if d, _ := l.Reserve("GET /v1/balance"); d != time.Second {
		t.Fatalf("after cancel, third waits %v, want 1s", d)
	}
}

// TestLimiterPauseScope: a 429 pauses what its Stripe-Rate-Limited-Reason
// names: every endpoint (global-*), its own endpoint only (endpoint-*), or
// nothing beyond the refused request (resource-specific, or a reason Stripe
// does not document).
func TestLimiterPauseScope(t *testing.T) {
	t.Parallel()
	const refused, other = "POST /v1/payment_intents", "POST /v1/customers"
	for _, tc := range []struct {
		reason         string
		refused, other time.Duration
	}{
		{"global-rate", time.Second, time.Second},
		{"global-concurrency", time.Second, time.Second},
		{"endpoint-rate", time.Second, 0},
		{"endpoint-concurrency", time.Second, 0},
		{"resource-specific", 0, 0},
		{"something-new", 0, 0},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()
			clk := newFakeClock()
			// No limit of its own: only the pause holds requests back.
			l := stripeapi.NewLimiter(clk.now, rate.Inf, 1, rate.Inf, 1)
			l.Refused(tc.reason, refused, clk.now().Add(time.Second))
			if d, _ := l.Reserve(refused); d != tc.refused {
				t.Errorf("%s waits %v, want %v", refused, d, tc.refused)
			}
			if d, _ := l.Reserve(other); d != tc.other {
				t.Errorf("%s waits %v, want %v", other, d, tc.other)
			}
			clk.advance(time.Second)
			if d, _ := l.Reserve(refused); d != 0 {
				t.Errorf("after the pause, %s waits %v", refused, d)
			}
		})
	}
}

// TestLimiterResumesAtRate: after a pause the bucket starts empty, so the
// requests that queued during it go one interval apart, not in a burst;
// pauses overlap rather than add up.
func TestLimiterResumesAtRate(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := stripeapi.NewLimiter(clk.now, 10, 5, 4, 2)
	// Two 429s at once: the later end wins, the pause is not doubled.
	l.Refused("global-rate", "POST /v1/customers", clk.now().Add(2*time.Second))
	l.Refused("global-rate", "POST /v1/customers", clk.now().Add(time.Second))
	for i, want := range []time.Duration{2000, 2100, 2200, 2300} {
		if d, _ := l.Reserve("GET /v1/customers/{id}"); d != want*time.Millisecond {
			t.Fatalf("request %d waits %v, want %v ms", i, d, want)
		}
	}
	// The endpoint's own bucket (4/s, burst 2) resumes the same way.
	l.Refused("endpoint-rate", "POST /v1/refunds", clk.now().Add(5*time.Second))
	for i, want := range []time.Duration{5000, 5250, 5500} {
		if d, _ := l.Reserve("POST /v1/refunds"); d != want*time.Millisecond {
			t.Fatalf("refund %d waits %v, want %v ms", i, d, want)
		}
	}
}

// TestRateLimitedReasonScope sends a request that Stripe's limiter refuses
// with each reason and, while it backs off, one request to another endpoint
// and one more to its own: only those the reason names wait. Sleeps are
// recorded on a fake clock; the refused request's backoff is held until the
// others have been tried, and they stop instead of waiting, so what each
// would have waited is known without timing anything.
func TestRateLimitedReasonScope(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		reason     string
		retries    int
		otherWaits bool // GET /v1/balance
		sameWaits  bool // POST /v1/customers
	}{
		{"global-rate", 0, true, true},
		{"global-concurrency", 0, true, true},
		{"endpoint-rate", 0, false, true},
		{"endpoint-concurrency", 0, false, true},
		{"resource-specific", 0, false, false},
		// A request that is not sent again still pauses the bucket.
		{"global-rate", -1, true, true},
	} {
		name := tc.reason
		if tc.retries < 0 {
			name += "/no-retries"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newScopeServer(t, tc.reason)
			c := s.client(t, tc.retries)

			done := make(chan error, 1)
			go func() {
				_, err := c.Stripe().V1Customers.Create(s.as("refused"), nil)
				done <- err
			}()
			var backoff time.Duration
			if tc.retries < 0 {
				wantKind(t, <-done, stripeapi.KindRateLimited)
			} else {
				backoff = <-s.parked
				if backoff < 250*time.Millisecond || backoff > 500*time.Millisecond {
					t.Errorf("first backoff %v, want 0.25–0.5 s", backoff)
				}
			}

			_, errOther := c.Stripe().V1Balance.Retrieve(s.as("other"), nil)
			_, errSame := c.Stripe().V1Customers.Create(s.as("same"), nil)
			for _, r := range []struct {
				name  string
				err   error
				waits bool
			}{{"other", errOther, tc.otherWaits}, {"same", errSame, tc.sameWaits}} {
				waited := s.waits(r.name)
				switch {
				case r.waits && (!errors.Is(r.err, errWouldWait) || len(waited) != 1 || waited[0] <= 0):
					t.Errorf("%s request: waited %v (%v), want it to wait for the pause", r.name, waited, r.err)
				case !r.waits && (r.err != nil || len(waited) != 0):
					t.Errorf("%s request: waited %v (%v), want it sent at once", r.name, waited, r.err)
				}
			}

			if tc.retries >= 0 {
				close(s.release)
				if err := <-done; err != nil {
					t.Fatalf("refused request, sent again: %v", err)
				}
				if n := s.count("POST /v1/customers"); n != 2+btoi(!tc.sameWaits) {
					t.Errorf("the server got %d customer creations", n)
				}
				// Woken while the clock had not moved, a request waiting on
				// a pause sleeps again until it ends.
				want := []time.Duration{backoff}
				if tc.sameWaits {
					want = append(want, backoff)
				}
				if got := s.waits("refused"); !slices.Equal(got, want) {
					t.Errorf("refused request slept %v, want %v", got, want)
				}
			}
		})
	}
}

var errWouldWait = errors.New("would wait")

type sleeperKey struct{}

// scopeServer answers the first POST /v1/customers with a 429 of its
// reason and everything else with 200, and sleeps for its clients on a fake
// clock by the name their context carries.
type scopeServer struct {
	ts      *httptest.Server
	clk     *fakeClock
	parked  chan time.Duration
	release chan struct{}

	mu       sync.Mutex
	refused  bool
	received map[string]int
	slept    map[string][]time.Duration
}

func newScopeServer(tb testing.TB, reason string) *scopeServer {
	s := &scopeServer{clk: newFakeClock(), parked: make(chan time.Duration, 1), release: make(chan struct{}),
		received: map[string]int{}, slept: map[string][]time.Duration{}}
	s.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.received[r.Method+" "+r.URL.Path]++
		refuse := r.URL.Path == "/v1/customers" && !s.refused
		s.refused = true
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if refuse {
			w.Header().Set("Stripe-Rate-Limited-Reason", reason)
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Request rate limit exceeded."}}`)
			return
		}
		if r.URL.Path == "/v1/customers" {
			io.WriteString(w, `{"id":"cus_1","object":"customer"}`)
			return
		}
		io.WriteString(w, `{"object":"balance"}`)
	}))
	tb.Cleanup(s.ts.Close)
	return s
}

// client has no rate limit of its own, so that only pauses hold it back.
func (s *scopeServer) client(tb testing.TB, retries int) *stripeapi.Client {
	c, err := stripeapi.New(stripeapi.Config{SecretKey: "sk_test_scope", APIBase: s.ts.URL, MaxNetworkRetries: -1,
		RateLimit: rate.Inf, EndpointRateLimit: rate.Inf, RateLimitRetries: retries, NowFunc: s.clk.now, SleepFunc: s.sleep,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func (s *scopeServer) as(name string) context.Context {
	return context.WithValue(context.Background(), sleeperKey{}, name)
}

// sleep holds the refused request's first sleep until release, without
// moving the clock, and then moves the clock for it; other requests record
// their wait and stop.
func (s *scopeServer) sleep(ctx context.Context, d time.Duration) error {
	name, _ := ctx.Value(sleeperKey{}).(string)
	s.mu.Lock()
	s.slept[name] = append(s.slept[name], d)
	first := len(s.slept[name]) == 1
	s.mu.Unlock()
	if name != "refused" {
		return errWouldWait
	}
	if first {
		s.parked <- d
		<-s.release
		return nil
	}
	s.clk.advance(d)
	return nil
}

func (s *scopeServer) waits(name string) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.slept[name]
}

func (s *scopeServer) count(req string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received[req]
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestEndpointOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/v1/payment_intents", "POST /v1/payment_intents"},
		{"GET", "/v1/payment_intents/pi_3LmjFA2eZvKYlo2C", "GET /v1/payment_intents/{id}"},
		{"POST", "/v1/payment_intents/pi_3LmjFA2eZvKYlo2C/confirm", "POST /v1/payment_intents/{id}/confirm"},
		{"GET", "/v1/payment_intents/search", "GET /v1/payment_intents/search"},
		{"GET", "/v1/accounts/acct_1EmuPlatform000000", "GET /v1/accounts/{id}"},
		{"GET", "/v1/transfers/tr_1A/reversals/trr_2B", "GET /v1/transfers/{id}/reversals/{id}"},
		{"POST", "/oauth/token", "POST /oauth/token"},
	} {
		if got := stripeapi.EndpointOf(tc.method, tc.path); got != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}
