package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestRefusesNonLoopbackTargets(t *testing.T) {
	for _, u := range []string{"http://10.0.0.1:80", "http://example.com", "http://192.168.1.2:12111", "://bad"} {
		if _, err := Run(context.Background(), Config{BaseURL: u, Concurrency: 1, MaxRequests: 1}); err == nil {
			t.Errorf("Run(%q) sent load; want refusal", u)
		}
	}
	for _, u := range []string{"http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1", "http://127.9.9.9:1"} {
		if err := CheckLoopback(u); err != nil {
			t.Errorf("CheckLoopback(%q) = %v, want nil", u, err)
		}
	}
}

func TestRunCountsExactlyAndPassesKeys(t *testing.T) {
	var mu sync.Mutex
	keys := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys[r.Header.Get("Idempotency-Key")]++
		n := len(keys)
		mu.Unlock()
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.Header.Get("Authorization") != "Bearer k" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if n%10 == 0 { // every tenth distinct key fails
			w.WriteHeader(http.StatusPaymentRequired)
		}
	}))
	defer srv.Close()

	res, err := Run(context.Background(), Config{
		BaseURL: srv.URL, Concurrency: 4, MaxRequests: 100, Duration: 30 * time.Second,
		Request: Request{Method: "POST", Path: "/v1/x", Body: "a=1",
			Header:  http.Header{"Authorization": {"Bearer k"}},
			KeyFunc: func(n uint64) string { return "key-" + strconv.FormatUint(n, 10) }},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 100 || len(keys) != 100 {
		t.Fatalf("requests %d, distinct keys %d; want 100 of each", res.Requests, len(keys))
	}
	if res.Errors != 10 || res.Statuses[402] != 10 || res.Statuses[200] != 90 {
		t.Fatalf("errors %d, statuses %v; want 10 errors (402) and 90 OK", res.Errors, res.Statuses)
	}
	if res.P50 <= 0 || res.P99 < res.P50 || res.PerSecond() <= 0 {
		t.Fatalf("latencies p50 %v p99 %v, rate %v", res.P50, res.P99, res.PerSecond())
	}
}

func TestRunStopsAtItsDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	start := time.Now()
	res, err := Run(context.Background(), Config{BaseURL: srv.URL, Concurrency: 2, Duration: 200 * time.Millisecond,
		Request: Request{Method: "GET", Path: "/"}})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("a 200ms run took %v", took)
	}
	if res.Requests == 0 || res.Errors != 0 {
		t.Fatalf("result %v", res)
	}
}

func TestReadMemoryOfThisProcess(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Skip("no /proc on this system: ", err)
	}
	if m.RSS == 0 || m.Peak < m.RSS {
		t.Fatalf("memory %+v: want RSS > 0 and peak ≥ RSS", m)
	}
}
