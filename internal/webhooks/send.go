package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tenderpay/tender/internal/errs"
)

// ErrBlockedAddress means the connect-time guard refused the address a
// webhook URL resolved to: it is loopback, private, link-local or otherwise
// not on the public internet.
var ErrBlockedAddress = errors.New("webhooks: destination address is not public")

const (
	userAgent = "Tender-Webhooks/1"
	// maxBody is how much of a response is kept (and read) for the
	// delivery log: enough to show a receiver's error, no more.
	maxBody = 1024
	// maxRetryAfter bounds a receiver's Retry-After so a typo or a hostile
	// value cannot park an endpoint for months.
	maxRetryAfter = 24 * time.Hour
)

// Sender delivers one message to one URL. It is safe for concurrent use.
type Sender struct {
	client *http.Client
	now    func() time.Time
}

// NewSender returns a Sender whose requests time out after timeout (15 s in
// production), that never follows a redirect (the 3xx is the result, a
// failure per the spec), and that ignores proxy settings in the environment.
// Unless allowPrivate, it refuses to connect to any address that is not
// public (see blockedAddr). The check runs on the address actually dialled,
// after DNS resolution, so a name that resolves to a public address when the
// endpoint is saved and to an internal one later (DNS rebinding) is still
// refused.
func NewSender(timeout time.Duration, allowPrivate bool) *Sender {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = refuseNonPublic
	}
	transport := &http.Transport{
		// No Proxy: a proxy would make the dialled address the proxy's,
		// bypassing the guard, and would send every webhook through
		// whatever HTTPS_PROXY the process happens to inherit.
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  1 * time.Second,
		MaxResponseHeaderBytes: 64 << 10, // a receiver's headers need not be held in megabytes
	}
	return &Sender{
		client: &http.Client{
			Transport: transport,
			Timeout:   timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		now: time.Now,
	}
}

// refuseNonPublic is a net.Dialer Control hook. It runs after the socket is
// created and before connect, so a refused address sees no packet.
func refuseNonPublic(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// The dialer always passes a literal ip:port; anything else is
		// refused rather than guessed at.
		return fmt.Errorf("%w: cannot parse %q", ErrBlockedAddress, address)
	}
	if blockedAddr(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, ap.Addr())
	}
	return nil
}

// Ranges not covered by netip's predicates.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"; 0.0.0.0 reaches loopback on Linux
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT, internal to a provider
}

// nat64 is the well-known NAT64 prefix (RFC 6052): on a NAT64 network
// 64:ff9b::10.0.0.1 reaches 10.0.0.1, so the embedded IPv4 address is what
// must be judged.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// blockedAddr reports whether a is not a public unicast address: loopback,
// private (RFC 1918, IPv6 ULA), link-local (including 169.254.169.254, where
// clouds serve instance credentials), unspecified, multicast, CGNAT or
// 0.0.0.0/8, written as IPv4, IPv4-mapped IPv6 or NAT64.
func blockedAddr(a netip.Addr) bool {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	switch {
	case !a.IsValid(),
		a.IsLoopback(),
		a.IsPrivate(),
		a.IsLinkLocalUnicast(),
		a.IsUnspecified(),
		a.IsMulticast(): // also covers link- and interface-local multicast
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Message is the content of one delivery attempt. Signature is the
// webhook-signature header value, from Sign over ID, Timestamp and Body.
type Message struct {
	ID        string
	Timestamp time.Time
	Body      []byte
	Signature string
}

// Result is what one attempt saw.
type Result struct {
	// Status is the HTTP status, or 0 when no response arrived (connection
	// refused, blocked address, timeout, TLS failure).
	Status int
	// Latency runs from sending the request to having read Body.
	Latency time.Duration
	// Body is at most the first 1024 bytes of the response body.
	Body []byte
	// RetryAfter is the receiver's Retry-After (delta-seconds or HTTP-date)
	// on a 429, 502, 503 or 504, capped at 24 hours; 0 if absent, invalid,
	// in the past, or on any other status.
	RetryAfter time.Duration
	// Err is the transport error, nil when a response arrived. It wraps
	// ErrBlockedAddress when the guard refused the address.
	Err error
}

// OK reports whether the receiver accepted the message (any 2xx).
func (r Result) OK() bool { return r.Status >= 200 && r.Status <= 299 }

// Gone reports whether the receiver answered 410 Gone, which the spec says
// means it wants no more messages: the endpoint should be disabled.
func (r Result) Gone() bool { return r.Status == http.StatusGone }

// Send POSTs msg.Body to rawURL as application/json with the webhook-id,
// webhook-timestamp and webhook-signature headers. Every outcome, failures
// included, is in the Result.
func (s *Sender) Send(ctx context.Context, rawURL string, msg Message) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(msg.Body))
	if err != nil {
		return Result{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("webhook-id", msg.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(msg.Timestamp.Unix(), 10))
	req.Header.Set("webhook-signature", msg.Signature)

	start := s.now()
	resp, err := s.client.Do(req)
	if err != nil {
		return Result{Latency: s.now().Sub(start), Err: err}
	}
	defer resp.Body.Close()
	// A failure while reading the body is not the attempt's failure: the
	// status is the receiver's answer, the body only a note for the log.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	res := Result{Status: resp.StatusCode, Latency: s.now().Sub(start), Body: body}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		res.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), s.now())
	}
	return res
}

// parseRetryAfter reads a Retry-After value, delta-seconds or an HTTP-date
// (RFC 9110 §10.2.3), as a wait from now, capped at maxRetryAfter. It returns
// 0 for anything it cannot read and for a date already past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if strings.Trim(v, "0123456789") == "" {
		secs, err := strconv.ParseUint(v, 10, 64)
		// Compare before converting so a huge value cannot overflow; one
		// too big even for a uint64 is still a very long wait.
		if err != nil || secs > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(t.Sub(now), 0), maxRetryAfter)
}

// maxURLLen bounds an endpoint URL; longer ones are nearly always a mistake
// or an attempt to stuff data into logs.
const maxURLLen = 2048

// CheckURL validates an endpoint URL when it is created or changed. It
// returns an errs.Invalid error on param "url" that names the problem: the
// URL must be absolute https (http only when allowPrivate and the host is
// loopback, for local development), with a host, no user name or password
// (credentials in URLs end up in logs), no fragment, and at most 2048
// characters. A host that is a literal IP address outside the public
// internet is refused unless allowPrivate. Host names are not resolved here:
// what one resolves to can change, so the Sender checks the address it
// dials instead.
func CheckURL(raw string, allowPrivate bool) error {
	// The messages never repeat the URL: it may hold credentials.
	if raw == "" {
		return errs.Invalidf("url", "The URL is required.")
	}
	if len(raw) > maxURLLen {
		return errs.Invalidf("url", "The URL is longer than %d characters.", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errs.Invalidf("url", "The URL is not a valid URL.")
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Opaque != "" {
		return errs.Invalidf("url", "The URL must be an absolute https:// URL.")
	}
	if u.User != nil {
		return errs.Invalidf("url", "The URL must not contain a user name or password.")
	}
	// url.Parse drops an empty fragment ("…/#"), so look for the mark itself.
	if strings.Contains(raw, "#") {
		return errs.Invalidf("url", "The URL must not have a fragment (#…).")
	}
	host := u.Hostname()
	if host == "" {
		return errs.Invalidf("url", "The URL must have a host.")
	}
	addr, err := netip.ParseAddr(host)
	isIP := err == nil
	if !isIP && numericHost(host) {
		// Resolvers disagree on forms like "127.1" or "0x7f000001" (some
		// read them as IPv4), so one cannot tell what such a host reaches.
		return errs.Invalidf("url", "The URL's host looks like an IP address but is not one in standard form.")
	}
	if u.Scheme == "http" && !(allowPrivate && (isIP && addr.Unmap().IsLoopback() || isLocalhost(host))) {
		return errs.Invalidf("url", "The URL must use https.")
	}
	if isIP && !allowPrivate && blockedAddr(addr) {
		return errs.Invalidf("url", "The URL's host is a private, loopback or reserved IP address.")
	}
	return nil
}

func isLocalhost(host string) bool {
	return strings.EqualFold(strings.TrimSuffix(host, "."), "localhost")
}

// numericHost reports whether host's last label is all digits or a 0x hex
// number, which no real top-level domain is but which IPv4 parsers in the
// wild accept (WHATWG URL treats such a host as IPv4).
func numericHost(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if hex, ok := strings.CutPrefix(strings.ToLower(last), "0x"); ok {
		return strings.Trim(hex, "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}
