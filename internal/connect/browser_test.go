package connect_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/browsertest"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/storetest"
)

// TestConnectStandardInChromium: the merchant's owner opens the link in a
// real browser, presses "Continue to Stripe", then "Connect my account" on
// Stripe's page, and lands on the platform's return URL, connected.
func TestConnectStandardInChromium(t *testing.T) {
	b := browsertest.New(t)
	f := newFixture(t, storetest.SQLite(t), emulator.Options{})
	m := f.createMerchant(`{"name":"Orchard","email":"orchard@example.com","country":"FR"}`)
	link := f.link(m.ID, "standard")

	b.Do(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("continue")))
	b.Shot("interstitial")
	if h := browsertest.Run(b, chromedp.Text(chromedp.CSS("h1"))); !strings.Contains(h, "Orchard") {
		t.Errorf("interstitial heading %q does not name the merchant", h)
	}
	b.Do(chromedp.Click(chromedp.ID("continue")), chromedp.WaitVisible(chromedp.ID("connect")))
	b.Shot("authorize")
	if email := browsertest.Run(b, chromedp.Value(chromedp.ID("email"))); email != "orchard@example.com" {
		t.Errorf("authorize page email %q, want it prefilled", email)
	}
	b.Do(chromedp.Click(chromedp.ID("connect")))
	// Stripe redirects to Tender, which redirects to the platform: wait
	// for the browser to get there.
	var landed string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if landed = browsertest.Run(b, chromedp.Location()); strings.HasPrefix(landed, f.platform.URL) {
			break
		}
	}
	b.Shot("returned")
	u, err := url.Parse(landed)
	if err != nil || !strings.HasPrefix(landed, f.platform.URL+"/merchants/done") || u.Query().Get("result") != "connected" {
		t.Fatalf("landed on %s, want the platform's return URL with result=connected", landed)
	}
	if got := f.merchant(m.ID).Connection; got.Status != connect.StatusEnabled {
		t.Fatalf("merchant after the browser flow: %+v", got)
	}
}
