package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/httpapi"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

func TestOpenAPIDocumentIsValid(t *testing.T) {
	if _, _, err := apitest.Document(); err != nil {
		t.Fatal(err)
	}
	env := apitest.New(t, storetest.SQLite(t), app.Config{})
	r := env.Do("GET", "/v1/openapi.json", nil, apitest.WithKey(""))
	if r.Status != 200 || string(r.Body) != string(httpapi.OpenAPIDocument()) {
		t.Fatalf("GET /v1/openapi.json = %d", r.Status)
	}
}

func TestHealth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		env := apitest.New(t, db, app.Config{})
		if r := env.Do("GET", "/healthz", nil, apitest.WithKey("")); r.Status != 200 {
			t.Fatalf("healthz %d", r.Status)
		}
		if r := env.Do("GET", "/readyz", nil, apitest.WithKey("")); r.Status != 200 {
			t.Fatalf("readyz %d %s", r.Status, r.Body)
		}
	})
}

func TestAuthentication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		env := apitest.New(t, db, app.Config{})
		ctx := context.Background()
		other, err := env.App.Platforms.Create(ctx, "Other platform")
		if err != nil {
			t.Fatal(err)
		}
		otherKey, otherSecret, err := env.App.Platforms.CreateKey(ctx, other.ID, platform.ModeTest, "")
		if err != nil {
			t.Fatal(err)
		}
		revoked, revokedSecret, _ := env.App.Platforms.CreateKey(ctx, env.PlatformID, platform.ModeLive, "old")
		if _, err := env.App.Platforms.RevokeKey(ctx, env.PlatformID, revoked.ID); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name, header, code string
		}{
			{"missing", "", "api_key_missing"},
			{"not bearer", "Basic " + env.Key, "api_key_invalid"},
			{"malformed", "Bearer tk_test_short", "api_key_invalid"},
			{"unknown", "Bearer tk_test_" + strings.Repeat("A", 32), "api_key_invalid"},
			{"revoked", "Bearer " + revokedSecret, "api_key_revoked"},
		}
		for _, tt := range tests {
			r := env.Do("GET", "/v1/platform", nil, apitest.WithKey(""), apitest.WithHeader("Authorization", tt.header))
			if tt.header == "" {
				r = env.Do("GET", "/v1/platform", nil, apitest.WithKey(""))
			}
			if r.Status != 401 || r.Err().Code != tt.code || r.Err().Type != "authentication_error" {
				t.Errorf("%s: %d %s", tt.name, r.Status, r.Body)
			}
			if strings.Contains(string(r.Body), strings.TrimPrefix(tt.header, "Bearer ")) && tt.header != "" && tt.name != "not bearer" {
				t.Errorf("%s: error repeats the secret: %s", tt.name, r.Body)
			}
		}

		// Another platform's key sees its own platform, never this one's data.
		var p struct{ ID string }
		env.Do("GET", "/v1/platform", nil, apitest.WithKey(otherSecret)).Decode(t, &p)
		if p.ID != other.ID {
			t.Fatalf("other key read platform %s", p.ID)
		}
		if r := env.Do("GET", "/v1/api_keys/"+revoked.ID, nil, apitest.WithKey(otherSecret)); r.Status != 404 || r.Err().Code != "resource_missing" {
			t.Fatalf("other platform's key read this platform's key: %d %s", r.Status, r.Body)
		}
		if r := env.Do("POST", "/v1/api_keys/"+revoked.ID+"/revoke", nil, apitest.WithKey(otherSecret)); r.Status != 404 {
			t.Fatalf("other platform's key revoked this platform's key: %d", r.Status)
		}
		var l struct{ Data []struct{ ID string } }
		env.Do("GET", "/v1/api_keys", nil, apitest.WithKey(otherSecret)).Decode(t, &l)
		if len(l.Data) != 1 || l.Data[0].ID != otherKey.ID {
			t.Fatalf("other platform lists %+v", l.Data)
		}

		// Revoking through the API takes effect at once; last use is recorded.
		r := env.Do("POST", "/v1/api_keys/"+otherKey.ID+"/revoke", nil, apitest.WithKey(otherSecret))
		var k struct {
			RevokedAt  *time.Time `json:"revoked_at"`
			LastUsedAt *time.Time `json:"last_used_at"`
		}
		r.Decode(t, &k)
		if r.Status != 200 || k.RevokedAt == nil || k.LastUsedAt == nil {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		if r := env.Do("GET", "/v1/platform", nil, apitest.WithKey(otherSecret)); r.Status != 401 {
			t.Fatalf("revoked key still works: %d", r.Status)
		}
	})
}

func TestBadRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		env := apitest.New(t, db, app.Config{})
		tests := []struct {
			name, body, code, param, inMessage string
			status                             int
		}{
			{"malformed", "{\n  \"name\": \"x\",\n}", "json_invalid", "", "line 3, column 2", 400},
			{"truncated", `{"name": "x"`, "json_invalid", "", "ends unexpectedly", 400},
			{"not an object", `[1]`, "json_invalid", "", "JSON object", 400},
			{"trailing data", `{"name":"x"} {}`, "json_invalid", "", "after the object", 400},
			{"unknown field", `{"name":"x","colour":"red"}`, "parameter_unknown", "colour", "colour", 400},
			{"wrong type", `{"name": 5}`, "parameter_invalid", "name", "expected a string", 400},
			{"empty name", `{"name": " "}`, "parameter_invalid", "name", "empty", 400},
			{"bad currency", `{"default_currency": "EURO"}`, "parameter_invalid", "default_currency", "EURO", 400},
			{"bad email", `{"support_email": "nobody"}`, "parameter_invalid", "support_email", "nobody", 400},
			{"too large", `{"name":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`, "body_too_large", "", "larger", 413},
		}
		for _, tt := range tests {
			r := env.Do("POST", "/v1/platform", tt.body)
			e := r.Err()
			if r.Status != tt.status || e.Code != tt.code || e.Param != tt.param || !strings.Contains(e.Message, tt.inMessage) {
				t.Errorf("%s: %d %+v", tt.name, r.Status, e)
			}
		}
		// A body without Content-Length over the limit is also refused.
		body := io.LimitReader(endless{}, 2*httpapi.MaxBodyBytes) // no Content-Length: sent chunked
		req, _ := http.NewRequest("POST", env.Server.URL+"/v1/platform", body)
		req.Header.Set("Authorization", "Bearer "+env.Key)
		if r := apitest.Send(t, req); r.Status != 413 {
			t.Errorf("chunked oversized body: %d", r.Status)
		}
		// Bad input changed nothing.
		var p struct {
			Name            string
			DefaultCurrency *string `json:"default_currency"`
		}
		env.Do("GET", "/v1/platform", nil).Decode(t, &p)
		if p.Name != "Test platform" || p.DefaultCurrency != nil {
			t.Fatalf("bad requests changed the platform: %+v", p)
		}
		if r := env.Do("GET", "/v1/nothing", nil); r.Status != 404 || r.Err().Code != "route_missing" {
			t.Fatalf("unknown route: %d %s", r.Status, r.Body)
		}
		if r := env.Do("DELETE", "/v1/platform", nil); r.Status != 404 && r.Status != 405 {
			t.Fatalf("wrong method: %d", r.Status)
		}
	})
}

// endless is an unending stream of spaces.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func TestIdempotency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		env := apitest.New(t, db, app.Config{})

		first := env.Do("POST", "/v1/platform", `{"name":"Food Hub","default_currency":"eur"}`, apitest.WithIdempotencyKey("k1"))
		if first.Status != 200 || first.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("first: %d %v", first.Status, first.Header)
		}
		// The platform changes in between; the replay still returns the first response.
		env.Do("POST", "/v1/platform", `{"name":"Renamed"}`)
		again := env.Do("POST", "/v1/platform", "{ \"default_currency\": \"eur\",\n \"name\": \"Food Hub\" }", apitest.WithIdempotencyKey("k1"))
		if again.Status != 200 || again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
			t.Fatalf("replay: %d %v %s", again.Status, again.Header, again.Body)
		}
		// Same key, other parameters.
		r := env.Do("POST", "/v1/platform", `{"name":"Other"}`, apitest.WithIdempotencyKey("k1"))
		if r.Status != 400 || r.Err().Type != "idempotency_error" || r.Err().Code != "idempotency_key_reused" {
			t.Fatalf("mismatch: %d %s", r.Status, r.Body)
		}
		// Same key, other endpoint.
		r = env.Do("POST", "/v1/api_keys/key_x/revoke", `{"name":"Food Hub","default_currency":"eur"}`, apitest.WithIdempotencyKey("k1"))
		if r.Status != 400 || r.Err().Type != "idempotency_error" {
			t.Fatalf("other endpoint: %d %s", r.Status, r.Body)
		}
		// A validation failure is not stored: fix the body, keep the key.
		if r := env.Do("POST", "/v1/platform", `{"name":""}`, apitest.WithIdempotencyKey("k2")); r.Status != 400 {
			t.Fatalf("invalid: %d", r.Status)
		}
		if r := env.Do("POST", "/v1/platform", `{"name":"Fixed"}`, apitest.WithIdempotencyKey("k2")); r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("retry after fix: %d %v", r.Status, r.Header)
		}
		// Other errors are stored and replayed.
		r1 := env.Do("POST", "/v1/api_keys/key_missing/revoke", nil, apitest.WithIdempotencyKey("k3"))
		r2 := env.Do("POST", "/v1/api_keys/key_missing/revoke", nil, apitest.WithIdempotencyKey("k3"))
		if r1.Status != 404 || r2.Status != 404 || r2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("stored error: %d %d %v", r1.Status, r2.Status, r2.Header)
		}
		// Too long a key.
		if r := env.Do("POST", "/v1/platform", `{}`, apitest.WithIdempotencyKey(strings.Repeat("k", 256))); r.Status != 400 || r.Err().Param != "Idempotency-Key" {
			t.Fatalf("long key: %d %s", r.Status, r.Body)
		}
		// A request on a key still in flight gets 409.
		held := idempotency.Request{PlatformID: env.PlatformID, Key: "k4", Method: "POST", Path: "/v1/platform", Fingerprint: httpapi.Fingerprint("", []byte(`{}`))}
		if _, _, err := env.App.Idempotency.Begin(context.Background(), held); err != nil {
			t.Fatal(err)
		}
		r = env.Do("POST", "/v1/platform", `{}`, apitest.WithIdempotencyKey("k4"))
		if r.Status != 409 || r.Err().Code != "idempotency_key_in_use" {
			t.Fatalf("in flight: %d %s", r.Status, r.Body)
		}
	})
}

// TestIdempotencyRetryableNotStored: a 503 (Stripe unreachable) is not kept
// for the key, so the client can send the same request with the same key
// again and it runs again.
func TestIdempotencyRetryableNotStored(t *testing.T) {
	keys, err := secret.ParseKeyring(secret.NewKey(), nil)
	if err != nil {
		t.Fatal(err)
	}
	env := apitest.New(t, storetest.SQLite(t), app.Config{MasterKeys: keys, Stripe: &platform.Stripe{
		SecretKey: "sk_test_unreachable0000", APIBase: "http://127.0.0.1:1", Source: platform.StripeFromEnvironment}})
	for i := range 2 {
		r := env.Do("POST", "/v1/customers", `{"email":"a@example.com"}`, apitest.WithIdempotencyKey("down"))
		if r.Status != 503 || r.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("attempt %d: %d %v %s; want a fresh 503", i+1, r.Status, r.Header, r.Body)
		}
	}
	var n int
	if err := env.App.DB.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM idempotency_keys WHERE state = 'complete'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d idempotency answers kept (%v), want none", n, err)
	}
}

// Concurrent requests with one key: exactly one runs, the others either
// replay its response or are told it is in flight.
func TestIdempotencyConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		env := apitest.New(t, db, app.Config{})
		var wg sync.WaitGroup
		results := make([]*apitest.Response, 8)
		for i := range results {
			wg.Go(func() {
				results[i] = env.Do("POST", "/v1/platform", `{"name":"Concurrent"}`, apitest.WithIdempotencyKey("same"))
			})
		}
		wg.Wait()
		fresh := 0
		for _, r := range results {
			switch {
			case r.Status == 200 && r.Header.Get("Idempotent-Replayed") == "":
				fresh++
			case r.Status == 200 && r.Header.Get("Idempotent-Replayed") == "true":
			case r.Status == 409 && r.Err().Code == "idempotency_key_in_use":
			default:
				t.Fatalf("unexpected %d %s", r.Status, r.Body)
			}
		}
		if fresh != 1 {
			t.Fatalf("%d requests ran; want exactly 1", fresh)
		}
	})
}

func TestAPIKeyPagination(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		env := apitest.New(t, db, app.Config{})
		ctx := context.Background()
		ids := []string{}
		var l struct {
			Data    []struct{ ID string }
			HasMore bool `json:"has_more"`
		}
		env.Do("GET", "/v1/api_keys", nil).Decode(t, &l)
		ids = append(ids, l.Data[0].ID)
		for i := range 4 {
			time.Sleep(2 * time.Millisecond) // ids order by millisecond
			k, _, err := env.App.Platforms.CreateKey(ctx, env.PlatformID, platform.ModeTest, fmt.Sprint(i))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, k.ID)
		}
		list := func(q string) ([]string, bool) {
			var l struct {
				Data    []struct{ ID string }
				HasMore bool `json:"has_more"`
			}
			r := env.Do("GET", "/v1/api_keys"+q, nil)
			if r.Status != 200 {
				t.Fatalf("%s: %d %s", q, r.Status, r.Body)
			}
			r.Decode(t, &l)
			var out []string
			for _, d := range l.Data {
				out = append(out, d.ID)
			}
			return out, l.HasMore
		}
		got, more := list("?limit=2")
		if fmt.Sprint(got) != fmt.Sprint([]string{ids[4], ids[3]}) || !more {
			t.Fatalf("page 1: %v %v", got, more)
		}
		got, more = list("?limit=2&starting_after=" + ids[3])
		if fmt.Sprint(got) != fmt.Sprint([]string{ids[2], ids[1]}) || !more {
			t.Fatalf("page 2: %v %v", got, more)
		}
		got, more = list("?limit=2&starting_after=" + ids[1])
		if fmt.Sprint(got) != fmt.Sprint([]string{ids[0]}) || more {
			t.Fatalf("page 3: %v %v", got, more)
		}
		got, more = list("?limit=2&ending_before=" + ids[1])
		if fmt.Sprint(got) != fmt.Sprint([]string{ids[3], ids[2]}) || !more {
			t.Fatalf("backwards: %v %v", got, more)
		}
		for _, q := range []string{"?limit=0", "?limit=101", "?limit=x", "?starting_after=a&ending_before=b"} {
			if r := env.Do("GET", "/v1/api_keys"+q, nil); r.Status != 400 || r.Err().Param == "" {
				t.Errorf("%s: %d %s", q, r.Status, r.Body)
			}
		}
	})
}
