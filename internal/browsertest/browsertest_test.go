package browsertest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tenderpay/tender/internal/browsertest"
)

// TestBrowserRendersAPage checks the installation itself: Chromium starts
// headless, loads a loopback page, runs its script and reports the result.
func TestBrowserRendersAPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><p id="out">waiting</p><script>document.getElementById("out").textContent = "ran " + (6*7)</script>`)
	}))
	defer srv.Close()

	b := browsertest.New(t)
	b.Do(chromedp.Navigate(srv.URL))
	got := browsertest.Run(b, chromedp.Text(chromedp.ID("out")))
	b.Shot("rendered")
	if got != "ran 42" {
		t.Fatalf("page says %q, want %q", got, "ran 42")
	}
}
