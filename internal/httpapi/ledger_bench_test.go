package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/money"
)

// BenchmarkTransactionsCSV times GET /v1/reports/transactions.csv of a
// platform whose ledger holds 10,000 or 100,000 entries (one line each),
// over loopback HTTP from the whole app, and measures what the report
// costs in memory to show that it does not grow with the report:
//
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench TransactionsCSV -benchtime 3x ./internal/httpapi/
//
// Reported per run, besides ns/op:
//
//   - lines/s: CSV lines received by the client a second.
//   - peak-heap-MB: the most the Go heap's objects (runtime/metrics
//     /memory/classes/heap/objects:bytes: live objects and garbage not yet
//     swept) exceeded their level before the request, sampled every
//     millisecond while it ran. It counts everything in the process that
//     allocates meanwhile: the handler, the database driver, net/http and
//     the client reading the response.
//   - peak-rss-MB: the process's peak resident memory (VmHWM) during the
//     requests above its resident memory before them, after the heap was
//     collected and returned to the OS and the peak reset (/proc/self/
//     clear_refs); 0 where /proc cannot do that. It also counts what the
//     Go heap does not: modernc SQLite's own page cache and sorter.
//
// Seeding posts the entries through ledger.Store.Post, 1,000 to a
// transaction, before the timer starts; it takes most of the run.
func BenchmarkTransactionsCSV(b *testing.B) {
	for _, d := range benchDatabases {
		b.Run(d.name, func(b *testing.B) {
			for _, n := range []int{10_000, 100_000} {
				b.Run("lines="+strconv.Itoa(n), func(b *testing.B) {
					env := apitest.New(b, d.open(b), app.Config{})
					seedLedger(b, env, n)
					url := env.Server.URL + "/v1/reports/transactions.csv?created_at[gte]=2026-01-01T00:00:00Z&created_at[lt]=2027-01-01T00:00:00Z"
					lines := 0
					mem := startMemoryWatch(b)
					for b.Loop() {
						lines = fetchCSV(b, url, env.Key)
					}
					heap, rss := mem.stop()
					if lines != n+1 {
						b.Fatalf("%d lines, want %d and the header", lines, n)
					}
					b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
					b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
					b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
				})
			}
		})
	}
}

// seedLedger posts n charges of the default platform, to 20 merchants,
// one a second through 2026.
func seedLedger(b *testing.B, env *apitest.Env, n int) {
	b.Helper()
	ctx := context.Background()
	usd := money.MustParseCurrency("usd")
	merchants := make([]string, 20)
	for i := range merchants {
		merchants[i] = id.New(connect.MerchantPrefix)
	}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const batch = 1000
	for from := 0; from < n; from += batch {
		err := env.App.DB.InTx(ctx, func(tx *sql.Tx) error {
			for i := from; i < min(from+batch, n); i++ {
				m := merchants[i%len(merchants)]
				at := start.Add(time.Duration(i) * time.Second)
				amount := int64(100 + i%9900)
				_, err := env.App.Ledger.Post(ctx, tx, ledger.Entry{
					PlatformID: env.PlatformID, Cause: "bench:" + strconv.Itoa(i), Kind: ledger.EntryCharge, At: at,
					MerchantID: m, PaymentID: "pay_bench" + strconv.Itoa(i),
					Postings: []ledger.Posting{
						{Account: ledger.CustomerPayments(), Amount: money.New(-amount, usd), Role: ledger.RoleGross},
						{Account: ledger.MerchantBalance(m), Amount: money.New(amount, usd), Role: ledger.RoleGross, AvailableOn: at.Add(48 * time.Hour)},
					},
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// fetchCSV GETs url and counts the lines of the body, keeping none of it.
func fetchCSV(b *testing.B, url, key string) int {
	b.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		b.Fatalf("%d %s", resp.StatusCode, body)
	}
	var lines int
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		lines += bytes.Count(buf[:n], []byte{'\n'})
		if err == io.EOF {
			return lines
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// memoryWatch samples the heap's objects every millisecond and keeps the
// highest, and resets the process's peak resident memory at its start.
type memoryWatch struct {
	baseHeap, baseRSS uint64
	peak              atomic.Uint64
	done              chan struct{}
	wg                sync.WaitGroup
}

func startMemoryWatch(b *testing.B) *memoryWatch {
	b.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	w := &memoryWatch{done: make(chan struct{}), baseHeap: heapObjects()}
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err == nil {
		w.baseRSS = procStatus(b, "VmRSS")
	}
	w.peak.Store(w.baseHeap)
	w.wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-tick.C:
				if h := heapObjects(); h > w.peak.Load() {
					w.peak.Store(h)
				}
			}
		}
	})
	return w
}

// stop returns the peak heap and resident memory above their levels at
// the start.
func (w *memoryWatch) stop() (heap, rss uint64) {
	close(w.done)
	w.wg.Wait()
	heap = w.peak.Load() - w.baseHeap
	if w.baseRSS > 0 {
		if hwm := procStatus(nil, "VmHWM"); hwm > w.baseRSS {
			rss = hwm - w.baseRSS
		}
	}
	return heap, rss
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// procStatus reads a kB field of /proc/self/status, in bytes.
func procStatus(b *testing.B, field string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		if b != nil {
			b.Fatal(err)
		}
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	panic(fmt.Sprintf("no %s in /proc/self/status", field))
}
