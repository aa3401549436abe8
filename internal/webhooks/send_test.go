package webhooks

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/errs"
)

var testMsg = Message{ID: "msg_1", Timestamp: time.Unix(1700000000, 0), Body: []byte(`{}`), Signature: "v1,x"}

// countingServer starts a server on ln (loopback IPv4 if nil) that answers
// with h and counts the requests it receives.
func countingServer(tb testing.TB, ln net.Listener, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	tb.Helper()
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	if ln != nil {
		srv.Listener.Close()
		srv.Listener = ln
	}
	srv.Start()
	tb.Cleanup(srv.Close)
	return srv, &n
}

func TestSendHeaders(t *testing.T) {
	t.Parallel()
	var got http.Header
	var gotBody []byte
	srv, _ := countingServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		gotBody, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusOK)
	})
	res := NewSender(2*time.Second, true).Send(context.Background(), srv.URL, testMsg)
	if res.Err != nil || !res.OK() {
		t.Fatalf("Send = %+v", res)
	}
	want := map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        "Tender-Webhooks/1",
		"webhook-id":        "msg_1",
		"webhook-timestamp": "1700000000",
		"webhook-signature": "v1,x",
	}
	for k, v := range want {
		if g := got.Get(k); g != v {
			t.Errorf("header %s = %q, want %q", k, g, v)
		}
	}
	if string(gotBody) != "{}" {
		t.Errorf("body = %q, want {}", gotBody)
	}
}

func TestSendRefusesNonPublic(t *testing.T) {
	t.Parallel()
	v4, n4 := countingServer(t, nil, nil)
	port := v4.URL[strings.LastIndexByte(v4.URL, ':')+1:]

	type target struct {
		name string
		url  string
		hits *atomic.Int64 // the server that must not be reached, if any
	}
	targets := []target{
		{"127.0.0.1", v4.URL, n4},
		{"localhost", "http://localhost:" + port + "/", n4},
		{"0.0.0.0", "http://0.0.0.0:" + port + "/", n4},
		{"mapped 127.0.0.1", "http://[::ffff:127.0.0.1]:" + port + "/", n4},
		// No server: the guard refuses before connect, so no packet leaves.
		{"10.0.0.1", "http://10.0.0.1/", nil},
		{"169.254.169.254", "http://169.254.169.254/latest/meta-data/", nil},
		{"100.64.0.1", "http://100.64.0.1/", nil},
	}
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		v6, n6 := countingServer(t, ln, nil)
		targets = append(targets, target{"::1", v6.URL, n6})
	} else {
		t.Logf("no IPv6 loopback (%v); not testing [::1]", err)
	}

	s := NewSender(500*time.Millisecond, false)
	for _, tt := range targets {
		t.Run(tt.name, func(t *testing.T) {
			res := s.Send(context.Background(), tt.url, testMsg)
			if !errors.Is(res.Err, ErrBlockedAddress) {
				t.Errorf("Send(%s) err = %v, want ErrBlockedAddress", tt.url, res.Err)
			}
			if res.Status != 0 {
				t.Errorf("Status = %d, want 0", res.Status)
			}
			if tt.hits != nil && tt.hits.Load() != 0 {
				t.Errorf("server received %d requests, want none", tt.hits.Load())
			}
		})
	}

	// The same server is reachable when private addresses are allowed,
	// so the refusals above are the guard's doing.
	if res := NewSender(2*time.Second, true).Send(context.Background(), "http://localhost:"+port+"/", testMsg); res.Err != nil || !res.OK() {
		t.Errorf("allowPrivate Send = %+v, want 200", res)
	}
}

func TestBlockedAddr(t *testing.T) {
	t.Parallel()
	blocked := []string{
		"127.0.0.1", "127.255.0.1", "::1",
		"10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "fc00::1", "fd12:3456::1",
		"169.254.169.254", "169.254.0.1", "fe80::1", "fe80::1%eth0",
		"0.0.0.0", "0.1.2.3", "::",
		"224.0.0.1", "239.255.255.250", "ff02::1",
		"100.64.0.1", "100.127.255.255",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:100.64.0.1", "::ffff:0.0.0.0",
		"64:ff9b::10.0.0.1", "64:ff9b::127.0.0.1",
	}
	public := []string{
		"8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.1", "172.32.0.1", "169.255.0.1", "11.0.0.1",
		"2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8",
	}
	for _, s := range blocked {
		if !blockedAddr(netip.MustParseAddr(s)) {
			t.Errorf("%s is not blocked", s)
		}
	}
	for _, s := range public {
		if blockedAddr(netip.MustParseAddr(s)) {
			t.Errorf("%s is blocked", s)
		}
	}
}

func TestSendDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	target, hits := countingServer(t, nil, nil)
	redirector, _ := countingServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	})
	res := NewSender(2*time.Second, true).Send(context.Background(), redirector.URL, testMsg)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Status != http.StatusFound || res.OK() {
		t.Errorf("Status = %d OK=%v, want 302 and not OK", res.Status, res.OK())
	}
	if hits.Load() != 0 {
		t.Errorf("redirect target received %d requests, want none", hits.Load())
	}
}

func TestSendTimeout(t *testing.T) {
	t.Parallel()
	// The handler holds the request until the client gives up (the server
	// notices a closed connection only once the body is read) or the test
	// ends.
	release := make(chan struct{})
	srv, _ := countingServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	res := NewSender(200*time.Millisecond, true).Send(context.Background(), srv.URL, testMsg)
	if res.Status != 0 || res.Err == nil {
		t.Errorf("Send = status %d err %v, want 0 and an error", res.Status, res.Err)
	}
}

func TestSendCapsBody(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	srv, _ := countingServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(big)
	})
	res := NewSender(2*time.Second, true).Send(context.Background(), srv.URL, testMsg)
	if res.Err != nil || res.Status != 500 {
		t.Fatalf("Send = %+v", res)
	}
	if !bytes.Equal(res.Body, big[:1024]) {
		t.Errorf("Body is %d bytes, want the first 1024", len(res.Body))
	}
}

func TestSendStatus(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	srv, _ := countingServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("retry_after"); v != "" {
			w.Header().Set("Retry-After", v)
		}
		status, _ := strconv.Atoi(r.URL.Query().Get("status"))
		w.WriteHeader(status)
	})
	s := NewSender(2*time.Second, true)
	s.now = func() time.Time { return now }

	tests := []struct {
		status     int
		retryAfter string
		wantRetry  time.Duration
		ok, gone   bool
	}{
		{status: 200, ok: true},
		{status: 204, ok: true},
		{status: 299, ok: true},
		{status: 300},
		{status: 410, gone: true},
		{status: 503, retryAfter: "120", wantRetry: 2 * time.Minute},
		{status: 503, retryAfter: date(90 * time.Second), wantRetry: 90 * time.Second},
		{status: 429, retryAfter: "7", wantRetry: 7 * time.Second},
		{status: 502, retryAfter: "7", wantRetry: 7 * time.Second},
		{status: 504, retryAfter: "7", wantRetry: 7 * time.Second},
		{status: 500, retryAfter: "120"},
		{status: 200, retryAfter: "120", ok: true},
		{status: 503, retryAfter: "soon"},
		{status: 503, retryAfter: "-5"},
		{status: 503, retryAfter: date(-time.Hour)},
		{status: 503, retryAfter: "99999999999999999999", wantRetry: 24 * time.Hour},
		{status: 503, retryAfter: date(48 * time.Hour), wantRetry: 24 * time.Hour},
	}
	for _, tt := range tests {
		name := strconv.Itoa(tt.status) + " " + tt.retryAfter
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			q := url.Values{"status": {strconv.Itoa(tt.status)}, "retry_after": {tt.retryAfter}}
			res := s.Send(context.Background(), srv.URL+"/?"+q.Encode(), testMsg)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if res.Status != tt.status || res.OK() != tt.ok || res.Gone() != tt.gone {
				t.Errorf("Status %d OK %v Gone %v, want %d %v %v", res.Status, res.OK(), res.Gone(), tt.status, tt.ok, tt.gone)
			}
			if res.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter = %v, want %v", res.RetryAfter, tt.wantRetry)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url                 string
		public, withPrivate bool // accepted without / with allowPrivate
	}{
		{"https://example.com/hooks", true, true},
		{"https://example.com:8443/hooks?x=1", true, true},
		{"HTTPS://Example.com/", true, true},
		{"https://8.8.8.8/", true, true},
		{"http://example.com/hooks", false, false},
		{"http://127.0.0.1:8080/hooks", false, true},
		{"http://localhost:8080/hooks", false, true},
		{"http://[::1]:8080/", false, true},
		{"http://10.1.2.3/", false, false},
		{"https://10.1.2.3/", false, true},
		{"https://[::1]/", false, true},
		{"https://169.254.169.254/", false, true},
		{"https://[::ffff:169.254.169.254]/", false, true},
		{"https://100.64.0.1/", false, true},
		{"https://0.0.0.0/", false, true},
		{"https://user:pass@example.com/", false, false},
		{"https://user@example.com/", false, false},
		{"https://example.com/#frag", false, false},
		{"https://example.com/#", false, false},
		{"https:///path", false, false},
		{"https://:443/", false, false},
		{"https:example.com", false, false},
		{"/relative/path", false, false},
		{"example.com", false, false},
		{"ftp://example.com/", false, false},
		{"not a url", false, false},
		{"https://exa mple.com/", false, false},
		{"https://%zz/", false, false},
		{"", false, false},
		{"https://127.1/", false, false},
		{"https://2130706433/", false, false},
		{"https://0x7f000001/", false, false},
		{"https://example.com/" + strings.Repeat("a", 2048-len("https://example.com/")), true, true},
		{"https://example.com/" + strings.Repeat("a", 2049-len("https://example.com/")), false, false},
	}
	for _, tt := range tests {
		for _, allowPrivate := range []bool{false, true} {
			want := tt.public
			if allowPrivate {
				want = tt.withPrivate
			}
			err := CheckURL(tt.url, allowPrivate)
			name := tt.url
			if len(name) > 60 {
				name = name[:60] + "…"
			}
			if want {
				if err != nil {
					t.Errorf("CheckURL(%q, %v) = %v, want ok", name, allowPrivate, err)
				}
				continue
			}
			e, ok := errors.AsType[*errs.Error](err)
			if !ok {
				t.Errorf("CheckURL(%q, %v) = %v, want an *errs.Error", name, allowPrivate, err)
				continue
			}
			if e.Code != errs.Invalid || e.Param != "url" {
				t.Errorf("CheckURL(%q, %v) = code %s param %q, want invalid on url", name, allowPrivate, e.Code, e.Param)
			}
			if strings.Contains(e.Message, "user:pass") {
				t.Errorf("CheckURL(%q) message %q repeats the URL", name, e.Message)
			}
		}
	}
}
