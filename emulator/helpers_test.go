package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-mock/embedded"

	"github.com/tenderpay/tender/emulator"
)

// spec is Stripe's OpenAPI document, loaded once per test binary.
var (
	specOnce sync.Once
	specDoc  *openapi3.T
	specErr  error
	specOps  []specPath
)

type specPath struct {
	segs []string // "{…}" segments match anything
	item *openapi3.PathItem
}

func loadSpec(tb testing.TB) {
	tb.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		specDoc, specErr = loader.LoadFromData(embedded.OpenAPISpec)
		if specErr != nil {
			return
		}
		for p, item := range specDoc.Paths.Map() {
			specOps = append(specOps, specPath{segs: strings.Split(p, "/"), item: item})
		}
	})
	if specErr != nil {
		tb.Fatalf("loading Stripe's OpenAPI spec: %v", specErr)
	}
}

// findOperation matches a request path against the spec's templates,
// preferring literal segments over parameters.
func findOperation(method, path string) *openapi3.Operation {
	segs := strings.Split(path, "/")
	var best *openapi3.PathItem
	bestScore := -1
	for _, sp := range specOps {
		if len(sp.segs) != len(segs) {
			continue
		}
		score := 0
		ok := true
		for i, s := range sp.segs {
			switch {
			case strings.HasPrefix(s, "{"):
			case s == segs[i]:
				score++
			default:
				ok = false
			}
			if !ok {
				break
			}
		}
		if ok && score > bestScore {
			best, bestScore = sp.item, score
		}
	}
	if best == nil {
		return nil
	}
	return best.GetOperation(method)
}

// validatingTransport checks every JSON response against Stripe's OpenAPI
// spec and fails the test on a mismatch.
type validatingTransport struct {
	tb   testing.TB
	base http.RoundTripper
}

func (v validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.base.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/v1/") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if msg := validateResponse(req.Method, req.URL.Path, resp.StatusCode, body); msg != "" {
		v.tb.Errorf("%s %s → %d does not match Stripe's OpenAPI spec: %s\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, msg, truncate(body))
	}
	return resp, nil
}

func truncate(b []byte) string {
	if len(b) > 3000 {
		return string(b[:3000]) + "…"
	}
	return string(b)
}

func validateResponse(method, path string, status int, body []byte) string {
	var schema *openapi3.Schema
	op := findOperation(method, path)
	switch {
	case op != nil:
		ref := op.Responses.Status(status)
		if ref == nil {
			ref = op.Responses.Default()
		}
		if ref == nil || ref.Value == nil {
			return "no response for status " + strconv.Itoa(status)
		}
		mt := ref.Value.Content.Get("application/json")
		if mt == nil || mt.Schema == nil {
			return "no JSON schema for status " + strconv.Itoa(status)
		}
		schema = mt.Schema.Value
	case status >= 400:
		// Unknown routes answer with Stripe's error object.
		schema = specDoc.Components.Schemas["error"].Value
	default:
		return "no operation in the spec"
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return "invalid JSON: " + err.Error()
	}
	if msg := visit(schema, doc); msg != "" {
		return msg
	}
	return validateEventObjects(doc)
}

func visit(schema *openapi3.Schema, doc any) string {
	if err := schema.VisitJSON(doc, openapi3.VisitAsResponse(), openapi3.MultiErrors()); err != nil {
		var b strings.Builder
		describe(&b, err, 0)
		return b.String()
	}
	return ""
}

// validateEventObjects checks what the spec leaves open: an event's
// data.object (a bare "object" in the event schema) against the schema its
// "object" field names, for an event and for every event in a list.
func validateEventObjects(doc any) string {
	m, _ := doc.(map[string]any)
	switch m["object"] {
	case "list":
		items, _ := m["data"].([]any)
		for i, item := range items {
			if msg := validateEventObjects(item); msg != "" {
				return fmt.Sprintf("data[%d]: %s", i, msg)
			}
		}
	case "event":
		data, _ := m["data"].(map[string]any)
		o, _ := data["object"].(map[string]any)
		name, _ := o["object"].(string)
		ref := specDoc.Components.Schemas[name]
		if ref == nil {
			return "event data.object of unknown type " + strconv.Quote(name)
		}
		if msg := visit(ref.Value, o); msg != "" {
			return "data.object (" + name + "):" + msg
		}
	}
	return ""
}

// validateEventBody checks a delivered webhook body against the spec's
// event schema and its data.object against its own.
func validateEventBody(tb testing.TB, body []byte) {
	tb.Helper()
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		tb.Fatalf("webhook body is not JSON: %v", err)
	}
	msg := visit(specDoc.Components.Schemas["event"].Value, doc)
	if msg == "" {
		msg = validateEventObjects(doc)
	}
	if msg != "" {
		tb.Errorf("delivered event does not match Stripe's OpenAPI spec: %s\nbody: %s", msg, truncate(body))
	}
}

// describe lists schema errors by JSON pointer without the value dumps.
func describe(b *strings.Builder, err error, depth int) {
	if depth > 6 || b.Len() > 3000 {
		return
	}
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, x := range e {
			describe(b, x, depth)
		}
	case *openapi3.SchemaError:
		fmt.Fprintf(b, "\n%s/%s: %s", strings.Repeat("  ", depth), strings.Join(e.JSONPointer(), "/"), e.Reason)
		if e.Origin != nil {
			describe(b, e.Origin, depth+1)
		}
	default:
		fmt.Fprintf(b, "\n%s%v", strings.Repeat("  ", depth), err)
	}
}

// env is one emulator under test with a stripe-go client for its platform.
type env struct {
	tb  testing.TB
	srv *emulator.Server
	ts  *httptest.Server
	sc  *stripe.Client
	now time.Time
}

// newEnv starts an emulator on loopback with a fixed clock base. Tests
// advance its clock; nothing sleeps.
func newEnv(tb testing.TB, opts ...func(*emulator.Options)) *env {
	tb.Helper()
	loadSpec(tb)
	base := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	o := emulator.Options{NowFunc: func() time.Time { return base }}
	for _, f := range opts {
		f(&o)
	}
	srv := emulator.New(o)
	ts := httptest.NewServer(srv)
	tb.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	e := &env{tb: tb, srv: srv, ts: ts, now: base}
	e.sc = e.client(emulator.DefaultSecretKey, 0)
	return e
}

// client returns a stripe-go client for key whose responses are validated.
func (e *env) client(key string, retries int64) *stripe.Client {
	hc := &http.Client{Transport: validatingTransport{tb: e.tb, base: http.DefaultTransport}, Timeout: 30 * time.Second}
	backends := stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL:               stripe.String(e.ts.URL),
		HTTPClient:        hc,
		MaxNetworkRetries: stripe.Int64(retries),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	return stripe.NewClient(key, stripe.WithBackends(backends))
}

// connected creates a connected account and returns its id.
func (e *env) connected() string {
	e.tb.Helper()
	a, err := e.sc.V1Accounts.Create(context.Background(), &stripe.AccountCreateParams{Type: stripe.String("express")})
	if err != nil {
		e.tb.Fatalf("create account: %v", err)
	}
	return a.ID
}

// raw sends a raw request with the platform key and returns status and body.
func (e *env) raw(method, path, body string, hdr map[string]string) (int, http.Header, []byte) {
	e.tb.Helper()
	req, _ := http.NewRequest(method, e.ts.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+emulator.DefaultSecretKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	hc := &http.Client{Transport: validatingTransport{tb: e.tb, base: http.DefaultTransport}}
	resp, err := hc.Do(req)
	if err != nil {
		e.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// stripeErr asserts err is a *stripe.Error and returns it.
func stripeErr(tb testing.TB, err error) *stripe.Error {
	tb.Helper()
	se, ok := err.(*stripe.Error)
	if !ok {
		tb.Fatalf("want *stripe.Error, got %T: %v", err, err)
	}
	return se
}

func ctx() context.Context { return context.Background() }

func mustf(tb testing.TB, err error, format string, args ...any) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}

// all drains a stripe-go list or search iterator, failing on an error.
func all[T any](tb testing.TB, seq func(yield func(T, error) bool)) []T {
	tb.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			tb.Fatalf("listing: %v", err)
		}
		out = append(out, v)
	}
	return out
}

// control calls the emulator's control API (no key) and returns status,
// headers and body.
func (e *env) control(method, path, body string) (int, http.Header, []byte) {
	e.tb.Helper()
	req, _ := http.NewRequest(method, e.ts.URL+path, strings.NewReader(body))
	if body != "" && !strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}
