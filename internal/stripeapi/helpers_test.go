package stripeapi_test

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/stripeapi"
)

// env is an emulator on a loopback port with a count of the API requests
// it received, by status.
type env struct {
	srv *emulator.Server
	ts  *httptest.Server

	requests atomic.Int64
	mu       sync.Mutex
	statuses map[int]int
	logs     *syncBuffer
}

func newEnv(tb testing.TB, opts emulator.Options) *env {
	tb.Helper()
	e := &env{srv: emulator.New(opts), statuses: map[int]int{}, logs: &syncBuffer{}}
	e.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1/") {
			e.srv.ServeHTTP(w, r)
			return
		}
		e.requests.Add(1)
		rec := &recorder{ResponseWriter: w}
		e.srv.ServeHTTP(rec, r)
		e.mu.Lock()
		e.statuses[rec.status]++
		e.mu.Unlock()
	}))
	tb.Cleanup(func() {
		e.ts.Close()
		_ = e.srv.Close()
	})
	return e
}

// status returns how many API requests were answered with code.
func (e *env) status(code int) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.statuses[code]
}

// client returns a Client for the emulator's default platform unless cfg
// names a key. Its connections are not kept alive, so that a dropped
// response reaches stripe-go instead of being retried by net/http on a
// reused connection. It logs at debug into e.logs.
func (e *env) client(tb testing.TB, cfg stripeapi.Config) *stripeapi.Client {
	tb.Helper()
	if cfg.SecretKey == "" {
		cfg.SecretKey = emulator.DefaultSecretKey
	}
	cfg.APIBase = e.ts.URL
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := stripeapi.New(cfg)
	if err != nil {
		tb.Fatalf("stripeapi.New: %v", err)
	}
	return c
}

// recorder notes the status of a response and keeps hijacking possible,
// which the emulator needs to drop a response.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return r.ResponseWriter.(http.Hijacker).Hijack()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return c
}

func must(tb testing.TB, err error, what string) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// wantKind classifies err and fails unless it is of kind.
func wantKind(tb testing.TB, err error, kind stripeapi.Kind) stripeapi.Outcome {
	tb.Helper()
	if err == nil {
		tb.Fatalf("no error, want %s", kind)
	}
	o := stripeapi.Classify(err)
	if o.Kind != kind {
		tb.Fatalf("classified %q (%+v), want %q", o.Kind, o, kind)
	}
	return o
}

// countCustomers lists every customer on the platform (or account).
func countCustomers(tb testing.TB, c *stripeapi.Client, account string) []string {
	tb.Helper()
	var ids []string
	for cu, err := range c.Stripe().V1Customers.List(ctx(tb), stripeapi.OnAccount(&stripe.CustomerListParams{}, account)).All(ctx(tb)) {
		must(tb, err, "list customers")
		ids = append(ids, cu.ID)
	}
	return ids
}

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sleep is a SleepFunc that moves the clock instead of waiting.
func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	c.advance(d)
	return ctx.Err()
}
