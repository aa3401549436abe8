package web

import (
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

func TestClip(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"Mozilla/5.0", 1000, "Mozilla/5.0"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"}, // é is two bytes: not split
	} {
		if got := clip(tt.in, tt.n); got != tt.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
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
