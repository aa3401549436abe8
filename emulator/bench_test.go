package emulator_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/emulator/internal/loadgen"
)

// The benchmarks in this file measure the emulator as a server: in process
// (BenchmarkHandler, for profiles; BenchmarkLiveHeap), as `tender emulator`
// under load next to stripe-mock (BenchmarkVersusStripeMock), and the
// memory of that process once it holds 100,000 payment intents
// (BenchmarkProcessMemory). docs/BENCHMARKS.md records the results and how
// to reproduce them; in short:
//
//	go install github.com/stripe/stripe-mock@v0.203.0
//	TENDER_BENCH_STRIPE_MOCK=$(go env GOPATH)/bin/stripe-mock \
//	  go test -run '^$' -bench . -benchtime 1x -timeout 30m ./emulator/
//
// The process and heap benchmarks do a fixed amount of work per run,
// bounded in time and count, whatever b.N is: give them -benchtime 1x. They
// only ever send load to 127.0.0.1. TENDER_BENCH_CLIENTS (default 8),
// TENDER_BENCH_DURATION (default 5s per server per round) and
// TENDER_BENCH_ROUNDS (default 3) shape the comparison.

// benchCall is one of the requests the benchmarks send.
type benchCall struct {
	name string
	path string
	body string
}

var benchCalls = []benchCall{
	// A card payment confirmed at once. payment_method_types makes the
	// request valid for both servers without a return_url.
	{"payment_intents", "/v1/payment_intents",
		"amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true&payment_method_types%5B%5D=card"},
	{"customers", "/v1/customers", "email=jenny.rosen%40example.com&name=Jenny+Rosen&description=Bench+customer"},
}

// benchIntents is how many payment intents the memory benchmarks store.
const benchIntents = 100_000

// BenchmarkHandler serves each request in process through ServeHTTP, with
// no network and no idempotency key: the emulator's own cost per request,
// for -cpuprofile and -benchmem. State accumulates across iterations, as
// it does in a long test run.
func BenchmarkHandler(b *testing.B) {
	defer emulator.SetCheckVersions(emulator.SetCheckVersions(false))
	for _, call := range benchCalls {
		b.Run(call.name, func(b *testing.B) {
			srv := emulator.New(emulator.Options{})
			defer srv.Close()
			b.ReportAllocs()
			for b.Loop() {
				serveOne(b, srv, call, "")
			}
		})
	}
}

// BenchmarkLiveHeap stores 100,000 confirmed payment intents in an
// emulator in this process and reports the heap they keep alive after a
// forced collection: what the state costs, whatever the collector's timing.
// A process's RSS is this plus the collector's headroom (GOGC) and the
// runtime's own. With idempotency_key every request has a fresh key, so
// the emulator also keeps every response for replay, as it would for
// stripe-go, which sends a key with every POST. Run with -benchtime 1x;
// -memprofile then shows where the bytes are (-memprofilerate 1 for
// exact figures).
func BenchmarkLiveHeap(b *testing.B) {
	defer emulator.SetCheckVersions(emulator.SetCheckVersions(false))
	for _, keyed := range []bool{false, true} {
		b.Run("payment_intents_100k/"+keyMode(keyed), func(b *testing.B) {
			before := liveHeap()
			srv := emulator.New(emulator.Options{})
			defer srv.Close()
			for i := range benchIntents {
				key := ""
				if keyed {
					key = "bench-heap-" + strconv.Itoa(i)
				}
				serveOne(b, srv, benchCalls[0], key)
			}
			live := liveHeap() - before
			runtime.KeepAlive(srv)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(live)/(1<<20), "live-MB")
			b.ReportMetric(float64(live)/benchIntents, "live-B/intent")
		})
	}
}

// serveOne sends call to srv through ServeHTTP and fails b unless it gets
// 200.
func serveOne(b *testing.B, srv *emulator.Server, call benchCall, idempotencyKey string) {
	b.Helper()
	req := httptest.NewRequest("POST", call.path, strings.NewReader(call.body))
	req.Header.Set("Authorization", "Bearer "+emulator.DefaultSecretKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("POST %s: %d %s", call.path, w.Code, w.Body)
	}
}

// liveHeap collects garbage and returns the bytes of heap still allocated.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkVersusStripeMock runs `tender emulator` and stripe-mock as two
// processes on loopback and drives each, in turn, with the same load
// generator: the same number of concurrent keep-alive clients sending the
// same request for the same time. Rounds alternate the servers so that
// both see the machine's noise; the req/s are totals over all rounds and
// x-stripe-mock is their ratio. Each sub-benchmark starts both servers
// afresh, so its result does not depend on the others; within it the
// emulator keeps everything it is sent across rounds (it is stateful:
// emulator-rss-MB is its memory at the end), while stripe-mock stores
// nothing.
//
// With idempotency_key every request carries a fresh Idempotency-Key, as
// stripe-go sends on every POST; the emulator then also keeps each response
// for replay. stripe-mock ignores the header.
func BenchmarkVersusStripeMock(b *testing.B) {
	mockBin := os.Getenv("TENDER_BENCH_STRIPE_MOCK")
	if mockBin == "" {
		b.Skip("set TENDER_BENCH_STRIPE_MOCK to a stripe-mock v0.203.0 binary (go install github.com/stripe/stripe-mock@v0.203.0) to compare with it")
	}
	clients := envInt(b, "TENDER_BENCH_CLIENTS", 8)
	duration := envDuration(b, "TENDER_BENCH_DURATION", 5*time.Second)
	rounds := envInt(b, "TENDER_BENCH_ROUNDS", 3)

	tender := buildTender(b)
	for _, call := range benchCalls {
		for _, keyed := range []bool{false, true} {
			name := call.name + "/" + keyMode(keyed)
			b.Run(name, func(b *testing.B) {
				emu := startEmulator(b, tender)
				servers := []struct {
					name string
					p    *loadgen.Process
					key  string
				}{
					{"emulator", emu, emulator.DefaultSecretKey},
					{"stripe-mock", startStripeMock(b, mockBin), "sk_test_123"}, // stripe-mock wants a key of this shape
				}
				var totals [2]loadgen.Result
				for round := range rounds {
					for i, s := range servers {
						req := loadgen.Request{Method: "POST", Path: call.path, Body: call.body,
							Header: http.Header{"Authorization": {"Bearer " + s.key}}}
						if keyed {
							prefix := fmt.Sprintf("bench-%s-%d-", strings.ReplaceAll(name, "/", "-"), round)
							req.KeyFunc = func(n uint64) string { return prefix + strconv.FormatUint(n, 10) }
						}
						if round == 0 { // warm up: connections, lazy initialisation
							if _, err := loadgen.Run(context.Background(), loadgen.Config{BaseURL: s.p.BaseURL,
								Concurrency: clients, MaxRequests: 200, Duration: 10 * time.Second, Request: req}); err != nil {
								b.Fatal(err)
							}
						}
						res, err := loadgen.Run(context.Background(), loadgen.Config{BaseURL: s.p.BaseURL,
							Concurrency: clients, Duration: duration, Request: req})
						if err != nil {
							b.Fatal(err)
						}
						b.Logf("round %d %-11s %v", round+1, s.name, res)
						if res.Errors > 0 {
							b.Logf("  %s statuses %v; first error: %s", s.name, res.Statuses, res.FirstError)
						}
						totals[i].Requests += res.Requests
						totals[i].Errors += res.Errors
						totals[i].Elapsed += res.Elapsed
					}
				}
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(totals[0].PerSecond(), "emulator-req/s")
				b.ReportMetric(totals[1].PerSecond(), "stripe-mock-req/s")
				b.ReportMetric(totals[0].PerSecond()/totals[1].PerSecond(), "x-stripe-mock")
				b.ReportMetric(float64(totals[0].Errors), "emulator-errors")
				b.ReportMetric(float64(totals[1].Errors), "stripe-mock-errors")
				if m, err := loadgen.ReadMemory(emu.Cmd.Process.Pid); err == nil {
					b.ReportMetric(float64(m.RSS)/(1<<20), "emulator-rss-MB")
				}
			})
		}
	}
}

// BenchmarkProcessMemory starts `tender emulator`, creates 100,000
// confirmed payment intents in it (8 clients, at most 5 minutes) and reads
// its memory from /proc: rss-MB is VmRSS right after, peak-MB VmHWM. With
// idempotency_key each request carries a fresh key, as stripe-go's do.
func BenchmarkProcessMemory(b *testing.B) {
	tender := buildTender(b)
	for _, keyed := range []bool{false, true} {
		b.Run("payment_intents_100k/"+keyMode(keyed), func(b *testing.B) {
			emu := startEmulator(b, tender)
			req := loadgen.Request{Method: "POST", Path: benchCalls[0].path, Body: benchCalls[0].body,
				Header: http.Header{"Authorization": {"Bearer " + emulator.DefaultSecretKey}}}
			if keyed {
				req.KeyFunc = func(n uint64) string { return "bench-memory-" + strconv.FormatUint(n, 10) }
			}
			res, err := loadgen.Run(context.Background(), loadgen.Config{BaseURL: emu.BaseURL,
				Concurrency: 8, MaxRequests: benchIntents, Duration: 5 * time.Minute, Request: req})
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("%v", res)
			if res.Requests != benchIntents || res.Errors != 0 {
				b.Fatalf("stored %d payment intents with %d errors (%v); want %d without errors",
					res.Requests-res.Errors, res.Errors, res.FirstError, benchIntents)
			}
			m, err := loadgen.ReadMemory(emu.Cmd.Process.Pid)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(m.RSS)/(1<<20), "rss-MB")
			b.ReportMetric(float64(m.Peak)/(1<<20), "peak-MB")
		})
	}
}

func keyMode(keyed bool) string {
	if keyed {
		return "idempotency_key"
	}
	return "no_key"
}

// buildTender builds the tender command into b's temporary directory and
// returns the binary's path.
func buildTender(b *testing.B) string {
	b.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		b.Skip("the go command is needed to build tender: ", err)
	}
	bin := filepath.Join(b.TempDir(), "tender")
	build := exec.Command(goBin, "build", "-o", bin, "github.com/tenderpay/tender/cmd/tender")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build tender: %v\n%s", err, out)
	}
	return bin
}

// startEmulator runs `tender emulator` with its default settings on a free
// loopback port until b ends. TENDER_* variables are left out of its
// environment, so that a developer's settings (latency, faults, a
// snapshot file) cannot skew the measurement.
func startEmulator(b *testing.B, tender string) *loadgen.Process {
	b.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TENDER_") {
			env = append(env, kv)
		}
	}
	addr := freeAddr(b)
	p, err := loadgen.Start(tender, []string{"emulator", "-addr", addr}, env, "http://"+addr, filepath.Join(b.TempDir(), "emulator.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Stop)
	return p
}

// startStripeMock runs stripe-mock on a free loopback port until b ends.
func startStripeMock(b *testing.B, bin string) *loadgen.Process {
	b.Helper()
	addr := freeAddr(b)
	p, err := loadgen.Start(bin, []string{"-http-addr", addr}, nil, "http://"+addr, filepath.Join(b.TempDir(), "stripe-mock.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Stop)
	return p
}

func freeAddr(b *testing.B) string {
	b.Helper()
	port, err := loadgen.FreePort()
	if err != nil {
		b.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(port)
}

func envInt(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > 5*time.Minute {
		b.Fatalf("%s=%q: want a duration between 0 and 5m, such as 10s", name, v)
	}
	return d
}
