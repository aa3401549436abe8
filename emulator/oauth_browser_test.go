package emulator_test

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/browsertest"
)

// platformSite is a platform's web site in a test: a page with a Connect
// link and the OAuth callback, which records what reached it.
type platformSite struct {
	ts   *httptest.Server
	mu   sync.Mutex
	hits []url.Values
}

func newPlatformSite(tb testing.TB, link func(callback string) string) *platformSite {
	ps := &platformSite{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><h1>Sell with us</h1><a id="connect-link" href="%s">Connect with Stripe</a>`,
			html.EscapeString(link(ps.ts.URL+"/callback")))
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		ps.mu.Lock()
		ps.hits = append(ps.hits, r.URL.Query())
		ps.mu.Unlock()
		fmt.Fprintf(w, `<!doctype html><p id="result">code=%s state=%s error=%s</p>`, html.EscapeString(r.URL.Query().Get("code")),
			html.EscapeString(r.URL.Query().Get("state")), html.EscapeString(r.URL.Query().Get("error")))
	})
	ps.ts = httptest.NewServer(mux)
	tb.Cleanup(ps.ts.Close)
	return ps
}

func (ps *platformSite) callbacks() []url.Values {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]url.Values(nil), ps.hits...)
}

// TestOAuthInBrowser: a merchant clicks the platform's Connect link, sees
// the emulator's authorize page, clicks "Connect my account" and lands on
// the platform's callback with the code and the state; the platform
// exchanges the code.
func TestOAuthInBrowser(t *testing.T) {
	t.Parallel()
	b := browsertest.New(t)
	e := newEnv(t)
	site := newPlatformSite(t, func(callback string) string {
		q := url.Values{"response_type": {"code"}, "client_id": {emulator.DefaultClientID}, "scope": {"read_write"},
			"state": {"csrf-123"}, "redirect_uri": {callback}, "stripe_user[email]": {"baker@example.com"},
			"stripe_user[business_name]": {"Village Bakery"}}
		return e.ts.URL + "/oauth/authorize?" + q.Encode()
	})
	e.registerRedirects(site.ts.URL + "/callback")

	b.Do(chromedp.Navigate(site.ts.URL), chromedp.Click(chromedp.ID("connect-link")), chromedp.WaitVisible(chromedp.ID("connect")))
	b.Shot("authorize page")
	title := browsertest.Run(b, chromedp.Text(chromedp.ID("title")))
	email := browsertest.Run(b, chromedp.Value(chromedp.ID("email")))
	if !strings.Contains(title, "Emulator Platform") || email != "baker@example.com" {
		t.Fatalf("authorize page: %q, email %q", title, email)
	}
	b.Do(chromedp.Click(chromedp.ID("connect")), chromedp.WaitVisible(chromedp.ID("result")))
	result := browsertest.Run(b, chromedp.Text(chromedp.ID("result")))
	hits := site.callbacks()
	if len(hits) != 1 || hits[0].Get("state") != "csrf-123" || !strings.HasPrefix(hits[0].Get("code"), "ac_") ||
		!strings.Contains(result, hits[0].Get("code")) {
		t.Fatalf("callback got %v, page says %q", hits, result)
	}
	status, tok := e.token(url.Values{"grant_type": {"authorization_code"}, "code": {hits[0].Get("code")}}, bearer(emulator.DefaultSecretKey))
	if status != 200 || tok["stripe_user_id"] == "" {
		t.Fatalf("exchange %d %v", status, tok)
	}
	a, err := e.sc.V1Accounts.GetByID(ctx(), tok["stripe_user_id"].(string), nil)
	mustf(t, err, "the connected account")
	if a.BusinessProfile.Name != "Village Bakery" || a.Email != "baker@example.com" {
		t.Fatalf("account %+v", a.BusinessProfile)
	}
}
