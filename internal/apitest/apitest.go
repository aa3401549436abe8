// Package apitest drives Tender's JSON API over real HTTP in tests: it builds
// the whole app on a test database, serves it with httptest, and checks
// every response against the OpenAPI document, so the document cannot drift
// from the code. A response the document does not describe fails the test.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/httpapi"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/store"
)

// Env is a running Tender with a default platform and its first key.
type Env struct {
	tb         testing.TB
	App        *app.App
	Server     *httptest.Server
	Key        string // the default platform's first secret key
	PlatformID string
	// Emulator is the Stripe emulator the default platform uses, when the
	// Env was made by NewWithEmulator; EmulatorServer serves it.
	Emulator       *emulator.Server
	EmulatorServer *httptest.Server
	// EmulatorRequests counts the requests the emulator received, so tests
	// can show that something was done without calling Stripe.
	EmulatorRequests *atomic.Int64
	// received is what Tender's server received, with RecordRequests.
	received *recorder
	cfg      app.Config // the app's, for Node
}

// EnvOption configures an Env.
type EnvOption func(*Env)

// RecordRequests makes the Env keep every request Tender's server
// receives, for Env.Received: a test can then show what never reached
// Tender, such as a card number.
func RecordRequests() EnvOption {
	return func(e *Env) { e.received = &recorder{} }
}

// Received is one request Tender's server received.
type Received struct {
	Method string
	URL    string // path and query
	Header http.Header
	Body   []byte
}

// String is the request as it came, for searching and failure messages.
func (r Received) String() string {
	var b strings.Builder
	b.WriteString(r.Method + " " + r.URL + "\n")
	r.Header.Write(&b)
	b.WriteString("\n")
	b.Write(r.Body)
	return b.String()
}

type recorder struct {
	mu   sync.Mutex
	reqs []Received
}

// wrap records each request, with its body, before h serves it.
func (rec *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "apitest: reading the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, Received{Method: r.Method, URL: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
		rec.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// Received returns the requests Tender's server received so far. It fails
// the test unless the Env was made with RecordRequests.
func (e *Env) Received() []Received {
	e.tb.Helper()
	if e.received == nil {
		e.tb.Fatal("apitest: Received needs an Env made with RecordRequests")
	}
	e.received.mu.Lock()
	defer e.received.mu.Unlock()
	return slices.Clone(e.received.reqs)
}

// New starts Tender on db and returns its Env. Background jobs are not
// started; tests that need them call Env.App.Start. Tender's public URL is
// its test server's unless cfg says otherwise.
func New(tb testing.TB, db *store.DB, cfg app.Config, opts ...EnvOption) *Env {
	tb.Helper()
	env := &Env{tb: tb}
	for _, o := range opts {
		o(env)
	}
	// The server starts first so that its URL, which links and redirect
	// URIs are built on, is known when the app is made.
	var handler http.Handler = http.NotFoundHandler()
	var serve http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) })
	if env.received != nil {
		serve = env.received.wrap(serve)
	}
	srv := httptest.NewServer(serve)
	if cfg.PublicURL == "" {
		cfg.PublicURL = srv.URL
	}
	a, err := app.New(db, cfg)
	if err != nil {
		srv.Close()
		tb.Fatalf("app.New: %v", err)
	}
	handler = a.Handler
	p, _, secret, err := a.Platforms.EnsureDefault(context.Background(), "Test platform")
	if err != nil {
		tb.Fatalf("EnsureDefault: %v", err)
	}
	tb.Cleanup(func() {
		srv.Close()
		if a.Jobs != nil {
			a.Jobs.Stop(context.Background())
		}
	})
	env.App, env.Server, env.Key, env.PlatformID, env.cfg = a, srv, secret, p.ID, cfg
	return env
}

// Node starts another Tender node on db (a second pool on the same
// database, as another process would have), configured as the Env's app
// and talking to the same Stripe; it runs its jobs until the test ends.
// It serves no HTTP: the Env's server is the platform's way in.
func (e *Env) Node(db *store.DB) *app.App {
	e.tb.Helper()
	a, err := app.New(db, e.cfg)
	if err != nil {
		e.tb.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := a.Start(ctx); err != nil {
		cancel()
		e.tb.Fatalf("starting a node: %v", err)
	}
	e.tb.Cleanup(func() {
		cancel()
		a.Stop(context.Background())
	})
	return a
}

// NewWithEmulator starts a Stripe emulator and Tender with the emulator as
// the default platform's Stripe, its OAuth redirect URI registered, and a
// master key, as `tender serve` does with no Stripe key. opts configures
// the emulator; its platforms are replaced by the default one.
func NewWithEmulator(tb testing.TB, db *store.DB, cfg app.Config, opts emulator.Options, envOpts ...EnvOption) *Env {
	tb.Helper()
	var tender string // Tender's URL, known once New has started it
	var handler http.Handler = http.NotFoundHandler()
	requests := new(atomic.Int64)
	emuSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		handler.ServeHTTP(w, r)
	}))
	tb.Cleanup(emuSrv.Close)
	if cfg.MasterKeys == nil {
		keys, err := secret.ParseKeyring(secret.NewKey(), nil)
		if err != nil {
			tb.Fatal(err)
		}
		cfg.MasterKeys = keys
	}
	cfg.Stripe = &platform.Stripe{SecretKey: emulator.DefaultSecretKey, PublishableKey: emulator.DefaultPublishableKey,
		ClientID: emulator.DefaultClientID, APIBase: emuSrv.URL, ConnectBase: emuSrv.URL, Source: platform.StripeFromEmulator}
	env := New(tb, db, cfg, envOpts...)
	tender = env.Server.URL
	opts.Platforms = []emulator.Platform{{AccountID: emulator.DefaultPlatformAccount, SecretKey: emulator.DefaultSecretKey,
		PublishableKey: emulator.DefaultPublishableKey, Name: "Test platform", ClientID: emulator.DefaultClientID,
		RedirectURIs: []string{tender + app.ConnectCallbackPath}}}
	emu := emulator.New(opts)
	tb.Cleanup(func() { emu.Close() })
	handler = emu
	env.Emulator, env.EmulatorServer, env.EmulatorRequests = emu, emuSrv, requests
	return env
}

// Response is what a request got back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// ErrorBody is the API's error object.
type ErrorBody struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Param   string `json:"param"`
}

// Err decodes the response as an error object.
func (r *Response) Err() ErrorBody {
	var e struct {
		Error ErrorBody `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error
}

// Decode unmarshals the body into v, failing the test if it cannot.
func (r *Response) Decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Option changes a request before it is sent.
type Option func(*http.Request)

// WithKey authenticates with key instead of the Env's; "" sends none.
func WithKey(key string) Option {
	return func(r *http.Request) {
		if key == "" {
			r.Header.Del("Authorization")
		} else {
			r.Header.Set("Authorization", "Bearer "+key)
		}
	}
}

// WithHeader sets a request header.
func WithHeader(name, value string) Option {
	return func(r *http.Request) { r.Header.Set(name, value) }
}

// WithIdempotencyKey sets the Idempotency-Key header.
func WithIdempotencyKey(key string) Option { return WithHeader("Idempotency-Key", key) }

// Do sends a request with the Env's key. body may be nil, a string or
// []byte (sent as is), or any other value (sent as JSON).
func (e *Env) Do(method, path string, body any, opts ...Option) *Response {
	e.tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			e.tb.Fatalf("marshal body: %v", err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, e.Server.URL+path, rd)
	if err != nil {
		e.tb.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.Key)
	for _, o := range opts {
		o(req)
	}
	return Send(e.tb, req)
}

// Send sends req and validates the response against the OpenAPI document.
func Send(tb testing.TB, req *http.Request) *Response {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read response: %v", err)
	}
	req.Body = http.NoBody // response validation needs the route, not the body
	if err := validate(req, resp, body); err != nil {
		tb.Fatalf("%s %s → %d: response does not match the OpenAPI document: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

// Document loads and validates the OpenAPI document once per test binary.
func Document() (*openapi3.T, routers.Router, error) {
	spec.once.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(httpapi.OpenAPIDocument())
		if err != nil {
			spec.err = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			spec.err = err
			return
		}
		doc.Servers = nil // match any host: tests listen on random ports
		spec.doc = doc
		spec.router, spec.err = legacy.NewRouter(doc)
	})
	return spec.doc, spec.router, spec.err
}

func validate(req *http.Request, resp *http.Response, body []byte) error {
	doc, router, err := Document()
	if err != nil {
		return err
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		// Not a documented route (a test of unknown URLs): the body must
		// still be the API's error object.
		return doc.Components.Schemas["Error"].Value.VisitJSON(mustJSON(body), openapi3.EnableJSONSchema2020())
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  resp.StatusCode,
		Header:  resp.Header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

func mustJSON(b []byte) any {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	return v
}

// Clock is a settable clock for app.Config.Now: tests move it to expire
// links and pass retention periods without sleeping.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Post sends a POST with the Env's key, fails the test unless the status is
// want, and decodes the body into out (if not nil).
func (e *Env) Post(path string, body any, want int, out any) *Response {
	e.tb.Helper()
	r := e.Do("POST", path, body)
	if r.Status != want {
		e.tb.Fatalf("POST %s: %d %s; want %d", path, r.Status, r.Body, want)
	}
	if out != nil {
		r.Decode(e.tb, out)
	}
	return r
}

// ConnectedMerchant creates a merchant and connects it through an Express
// link, which the emulator enables at once (Envs made by NewWithEmulator).
func (e *Env) ConnectedMerchant(name string) connect.MerchantView {
	e.tb.Helper()
	var m connect.MerchantView
	e.Post("/v1/merchants", map[string]string{"name": name}, 200, &m)
	var l struct{ URL string }
	e.Post("/v1/merchants/"+m.ID+"/connect_links", map[string]string{"type": "express",
		"return_url": "https://platform.example/done", "refresh_url": "https://platform.example/again"}, 200, &l)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(l.URL, url.Values{})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		e.tb.Fatalf("begin express: %v %v", resp, err)
	}
	resp.Body.Close()
	got, err := e.App.Connect.Merchant(context.Background(), e.PlatformID, m.ID)
	if err != nil || got.Connection.Status != connect.StatusEnabled {
		e.tb.Fatalf("merchant %+v %v", got, err)
	}
	return got.View()
}

// StripeClient is a stripe-go client with the platform's secret key,
// pointed at the Env's emulator (NewWithEmulator), for tests that look at
// what Tender did there.
func (e *Env) StripeClient() *stripe.Client {
	cfg := &stripe.BackendConfig{URL: stripe.String(e.EmulatorServer.URL)}
	return stripe.NewClient(emulator.DefaultSecretKey, stripe.WithBackends(stripe.NewBackendsWithConfig(cfg)))
}
