// Package loadgen drives an HTTP server on this machine with a fixed number
// of concurrent keep-alive clients, for a bounded time and a bounded number
// of requests, and counts what came back. It also starts servers as child
// processes and reads their memory, so the emulator and stripe-mock can be
// measured the same way. It refuses any target outside the loopback range:
// load is only ever sent to this machine.
package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Request describes the request every client sends, built afresh each time
// so that headers such as Idempotency-Key can vary.
type Request struct {
	Method string
	Path   string // with the query string, if any
	// Body is sent form-encoded, as Stripe's API expects.
	Body string
	// Header is added to every request.
	Header http.Header
	// KeyFunc, when set, returns the Idempotency-Key of the n-th request
	// (n counts from 0 across all clients).
	KeyFunc func(n uint64) string
}

// Config bounds a run. A run stops at Duration or after MaxRequests
// requests, whichever comes first; at least one of them must be set.
type Config struct {
	// BaseURL is the server, e.g. http://127.0.0.1:12111; its host must be
	// a loopback address.
	BaseURL     string
	Concurrency int
	Duration    time.Duration
	MaxRequests uint64
	Request     Request
	// Client is the HTTP client; nil means one made for the run with a
	// keep-alive connection per worker.
	Client *http.Client
}

// Result is what a run saw.
type Result struct {
	Requests uint64 // responses received, whatever their status
	// Errors counts transport failures and responses outside 2xx.
	Errors uint64
	// Statuses counts responses by HTTP status; 0 counts transport errors.
	Statuses map[int]uint64
	// FirstError describes the first failure, for diagnosis.
	FirstError string
	Elapsed    time.Duration
	// Latencies are the 50th and 99th percentiles of successful requests.
	P50, P99 time.Duration
}

// PerSecond is the rate of responses over the run.
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

func (r Result) String() string {
	return fmt.Sprintf("%d requests in %v (%.0f/s), %d errors, p50 %v, p99 %v",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.PerSecond(), r.Errors, r.P50, r.P99)
}

// CheckLoopback returns an error unless rawURL's host is a loopback address
// (127.0.0.0/8 or ::1) or "localhost".
func CheckLoopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("loadgen: refusing to send load to %q: only loopback addresses are allowed", host)
}

// Run sends cfg.Request from cfg.Concurrency workers until the duration
// or the request count runs out, or ctx ends.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := CheckLoopback(cfg.BaseURL); err != nil {
		return Result{}, err
	}
	if cfg.Concurrency <= 0 {
		return Result{}, errors.New("loadgen: Concurrency must be positive")
	}
	if cfg.Duration <= 0 && cfg.MaxRequests == 0 {
		return Result{}, errors.New("loadgen: set Duration or MaxRequests, or both")
	}
	client := cfg.Client
	if client == nil {
		tr := &http.Transport{
			MaxIdleConns:        cfg.Concurrency,
			MaxIdleConnsPerHost: cfg.Concurrency,
			IdleConnTimeout:     time.Minute,
		}
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}

	var (
		issued   atomic.Uint64
		mu       sync.Mutex
		res      = Result{Statuses: map[int]uint64{}}
		lats     []time.Duration
		wg       sync.WaitGroup
		target   = strings.TrimSuffix(cfg.BaseURL, "/") + cfg.Request.Path
		hasLimit = cfg.MaxRequests > 0
	)
	start := time.Now()
	for range cfg.Concurrency {
		wg.Go(func() {
			statuses := map[int]uint64{}
			var mine []time.Duration
			var errs uint64
			var first string
			for ctx.Err() == nil {
				n := issued.Add(1) - 1
				if hasLimit && n >= cfg.MaxRequests {
					break
				}
				t0 := time.Now()
				status, err := send(ctx, client, target, cfg.Request, n)
				if err != nil && ctx.Err() != nil {
					break // cut off by the deadline: not the server's fault
				}
				statuses[status]++
				if err != nil || status < 200 || status > 299 {
					errs++
					if first == "" {
						first = fmt.Sprintf("status %d: %v", status, err)
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			defer mu.Unlock()
			for s, c := range statuses {
				res.Statuses[s] += c
				res.Requests += c
			}
			res.Errors += errs
			if res.FirstError == "" {
				res.FirstError = first
			}
			lats = append(lats, mine...)
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	// Transport errors are not responses.
	res.Requests -= res.Statuses[0]
	if len(lats) > 0 {
		slices.Sort(lats)
		res.P50 = lats[len(lats)/2]
		res.P99 = lats[len(lats)*99/100]
	}
	return res, nil
}

// send makes one request and reads the whole response, so the connection
// goes back to the pool. A transport error is reported with status 0.
func send(ctx context.Context, client *http.Client, target string, r Request, n uint64) (int, error) {
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, target, body)
	if err != nil {
		return 0, err
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	if r.Body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.KeyFunc != nil {
		req.Header.Set("Idempotency-Key", r.KeyFunc(n))
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Process is a server started as a child process.
type Process struct {
	Cmd     *exec.Cmd
	BaseURL string
	out     *os.File
}

// Start runs name with args in the environment env (nil: this process's),
// its output going to logPath, and waits until baseURL accepts TCP
// connections (at most 30 s). Stop ends it.
func Start(name string, args, env []string, baseURL, logPath string) (*Process, error) {
	if err := CheckLoopback(baseURL); err != nil {
		return nil, err
	}
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	p := &Process{Cmd: cmd, BaseURL: baseURL, out: out}
	u, _ := url.Parse(baseURL)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err == nil {
			c.Close()
			return p, nil
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("%s did not listen on %s within 30s (log: %s)", name, u.Host, logPath)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the process and waits for it.
func (p *Process) Stop() {
	_ = p.Cmd.Process.Kill()
	_ = p.Cmd.Wait()
	p.out.Close()
}

// Memory is a process's resident memory, from /proc/PID/status.
type Memory struct {
	RSS  uint64 // VmRSS, bytes
	Peak uint64 // VmHWM, the peak RSS, bytes
}

// ReadMemory reads pid's VmRSS and VmHWM (Linux only).
func ReadMemory(pid int) (Memory, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return Memory{}, err
	}
	defer f.Close()
	var m Memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		fields := strings.Fields(rest) // "123456 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return Memory{}, fmt.Errorf("unexpected %s line %q", name, sc.Text())
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return Memory{}, err
		}
		if name == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.Peak = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return Memory{}, err
	}
	if m.RSS == 0 {
		return Memory{}, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
	}
	return m, nil
}
