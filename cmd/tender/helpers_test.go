package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Deadlines bound every wait so a broken command fails its test instead of
// hanging it. They are generous: the race detector and PostgreSQL are slow.
const (
	startDeadline = 60 * time.Second
	stopDeadline  = 60 * time.Second
	cmdDeadline   = 60 * time.Second
)

// syncBuffer is an io.Writer that run writes to from its goroutines while
// the test reads what has been written so far.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// envOf returns a getenv over the given NAME, VALUE pairs only: tests never
// see the real environment's TENDER_* variables.
func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// runCmd runs a command that is expected to finish on its own.
func runCmd(tb testing.TB, getenv func(string) string, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdDeadline)
	defer cancel()
	var out, errOut syncBuffer
	err = run(ctx, args, getenv, &out, &errOut)
	return out.String(), errOut.String(), err
}

// mustRun runs a command and fails the test if it fails.
func mustRun(tb testing.TB, getenv func(string) string, args ...string) (stdout, stderr string) {
	tb.Helper()
	stdout, stderr, err := runCmd(tb, getenv, args...)
	if err != nil {
		tb.Fatalf("tender %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout, stderr
}

// background is a long-running command (serve, emulator) in a goroutine.
type background struct {
	cancel         context.CancelFunc
	done           chan struct{}
	err            error // valid once done is closed
	stdout, stderr syncBuffer
}

// start runs tender with args until the test stops it or ends.
func start(tb testing.TB, getenv func(string) string, args ...string) *background {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	bg := &background{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(bg.done)
		bg.err = run(ctx, args, getenv, &bg.stdout, &bg.stderr)
	}()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-bg.done:
		case <-time.After(stopDeadline):
			tb.Errorf("tender %s did not stop within %v of cancellation", strings.Join(args, " "), stopDeadline)
		}
	})
	return bg
}

// waitFor polls stdout until re matches and returns its submatches. It fails
// the test if the command exits first or the deadline passes.
func (bg *background) waitFor(tb testing.TB, re *regexp.Regexp) []string {
	tb.Helper()
	deadline := time.Now().Add(startDeadline)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := re.FindStringSubmatch(bg.stdout.String()); m != nil {
			return m
		}
		select {
		case <-bg.done:
			if m := re.FindStringSubmatch(bg.stdout.String()); m != nil {
				return m
			}
			tb.Fatalf("tender exited before printing %q: %v\nstdout:\n%s\nstderr:\n%s", re, bg.err, bg.stdout.String(), bg.stderr.String())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("tender did not print %q within %v\nstdout:\n%s\nstderr:\n%s", re, startDeadline, bg.stdout.String(), bg.stderr.String())
		}
	}
}

// stop cancels the command's context, as SIGINT does, and returns what run
// returned.
func (bg *background) stop(tb testing.TB) error {
	tb.Helper()
	bg.cancel()
	select {
	case <-bg.done:
		return bg.err
	case <-time.After(stopDeadline):
		tb.Fatalf("tender did not stop within %v of cancellation\nstderr:\n%s", stopDeadline, bg.stderr.String())
		return nil
	}
}

// client is the HTTP client of every test: bounded in time.
var client = &http.Client{Timeout: 20 * time.Second}

// request sends one request and returns the status, headers and body.
func request(tb testing.TB, method, url, key string, body string, header ...string) (int, http.Header, string) {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// isUsage reports whether err is a usage error (exit status 2).
func isUsage(err error) bool {
	_, ok := errors.AsType[*usageError](err)
	return ok
}
