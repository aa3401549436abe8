package web

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenderpay/tender/internal/platform"
)

// TestStripeJSOrigins: the page loads Stripe.js from Stripe, or from the
// emulator when the platform's API is elsewhere, and its policy allows
// that origin, and no other, for scripts, frames and requests.
func TestStripeJSOrigins(t *testing.T) {
	for _, tt := range []struct {
		name                string
		st                  platform.Stripe
		script              string
		scriptSrc, frameSrc string
		connectSrc          string
	}{
		{"Stripe", platform.Stripe{Source: platform.StripeFromEnvironment}, "https://js.stripe.com/v3/",
			"'self' https://js.stripe.com https://*.js.stripe.com", "https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com",
			"'self' https://api.stripe.com"},
		{"emulator", platform.Stripe{Source: platform.StripeFromEmulator, APIBase: "http://127.0.0.1:12111/"}, "http://127.0.0.1:12111/v3/",
			"'self' http://127.0.0.1:12111", "http://127.0.0.1:12111", "'self' http://127.0.0.1:12111"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := stripeJSURL(&tt.st); got != tt.script {
				t.Errorf("script %q, want %q", got, tt.script)
			}
			csp := walletCSP(&tt.st)
			for _, want := range []string{"script-src " + tt.scriptSrc + ";", "frame-src " + tt.frameSrc + ";",
				"connect-src " + tt.connectSrc + ";", "default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
		})
	}
}

// TestUserAgent: the user agent kept as consent evidence is always within
// evidence[user_agent]'s rule, so an odd header cannot refuse a consent.
func TestUserAgent(t *testing.T) {
	for in, want := range map[string]string{
		"Mozilla/5.0":             "Mozilla/5.0",
		"Mozilla\t5.0 \xff":       "Mozilla\uFFFD5.0 \uFFFD",
		strings.Repeat("é", 1001): strings.Repeat("é", 1000), // characters, not bytes
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("User-Agent", in)
		if got := userAgent(r); got != want {
			t.Errorf("userAgent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBrandName(t *testing.T) {
	for in, want := range map[string]string{"visa": "Visa", "amex": "American Express", "": "Card", "unknown": "Card", "link": "Link"} {
		if got := brandName(in); got != want {
			t.Errorf("brandName(%q) = %q, want %q", in, got, want)
		}
	}
}
