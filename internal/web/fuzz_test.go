package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/checkout"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/wallet"
)

// FuzzPageTokens sends tokens to every page that takes one from a URL or
// a cookie: connection links, checkout links, authentication links,
// wallet links and the wallet page's session cookie, and the OAuth and
// Express states. A token Tender issued opens its page; one made up,
// altered in any byte or cut is refused with the page's answer for an
// unknown token, never a server error and never a panic.
func FuzzPageTokens(f *testing.F) {
	env := apitest.NewWithEmulator(f, storetest.SQLite(f), app.Config{}, emulator.Options{})
	issued := issueTokens(f, env)
	seeds := []struct {
		token string
		pos   uint
		b     byte
	}{
		{"", 0, 'x'},
		{"x", 10, 'A'},
		{issued.connect, 0, '-'},
		{issued.checkout, 42, '_'},
		{issued.wallet, 7, 0},
		{issued.cookie, 43, 'A'},
		{"pal_01HXYZ.0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 60, 'B'},
		{"eyJwIjoicGx0XzEiLCJsIjoiY2xfMSIsIm4iOiJuIiwiZSI6OTk5OTk5OTk5OX0.0123456789abcdef.AAAA", 3, '.'},
		{"%00", 1, '%'},
		{"a/b", 1, '/'},
		{"\x00\xff", 0, ' '},
		{strings.Repeat("A", 5000), 4999, 'B'},
	}
	for _, s := range seeds {
		f.Add(s.token, s.pos, s.b)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	f.Fuzz(func(t *testing.T, token string, pos uint, b byte) {
		refused := func(what, tok string) {
			t.Helper()
			checkRefused(t, client, env, issued, what, tok)
		}
		refused("made up", token)
		for _, tok := range []string{issued.connect, issued.checkout, issued.wallet, issued.cookie} {
			i := int(pos % uint(len(tok)))
			if tok[i] != b {
				refused("altered", tok[:i]+string([]byte{b})+tok[i+1:])
			}
			refused("cut", tok[:i])
		}
	})
}

// tokens are the ones issued for FuzzPageTokens, each from a real
// request; the wallet link is used already, as a browser would have
// done, and cookie is the session cookie it was exchanged for.
type tokens struct {
	connect, checkout, wallet, cookie, walletPage string
}

// issueTokens issues one token of each kind through the API and checks
// that each opens its page.
func issueTokens(tb testing.TB, env *apitest.Env) tokens {
	tb.Helper()
	var out tokens
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) *http.Response {
		tb.Helper()
		resp, err := client.Get(u)
		if err != nil {
			tb.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	var m connect.MerchantView
	env.Post("/v1/merchants", map[string]string{"name": "Unconnected"}, 200, &m)
	var l struct{ URL string }
	env.Post("/v1/merchants/"+m.ID+"/connect_links", map[string]string{"type": "express",
		"return_url": "https://platform.example/done", "refresh_url": "https://platform.example/again"}, 200, &l)
	out.connect = strings.TrimPrefix(l.URL, env.Server.URL+connect.LinkPath)

	shop := env.ConnectedMerchant("Shop")
	var cl checkout.LinkView
	env.Post("/v1/checkout_links", map[string]any{"merchant": shop.ID, "amount": 1000, "currency": "usd"}, 200, &cl)
	if cl.URL == nil {
		tb.Fatal("a new checkout link without its URL")
	}
	out.checkout = strings.TrimPrefix(*cl.URL, env.Server.URL+checkout.LinkPath)

	var c wallet.CustomerView
	env.Post("/v1/customers", `{"name":"Ada"}`, 200, &c)
	var ws wallet.SessionView
	env.Post("/v1/wallet_sessions", map[string]string{"customer": c.ID, "return_url": "https://platform.example/"}, 200, &ws)
	out.wallet = strings.TrimPrefix(ws.URL, env.Server.URL+wallet.SessionLinkPath)

	for _, u := range []string{l.URL, *cl.URL} {
		if resp := get(u); resp.StatusCode != 200 {
			tb.Fatalf("GET %s: %d, want 200", u, resp.StatusCode)
		}
	}
	resp := get(ws.URL)
	if resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("GET %s: %d, want 303", ws.URL, resp.StatusCode)
	}
	out.walletPage = resp.Header.Get("Location")
	for _, ck := range resp.Cookies() {
		if ck.Name == "tender_wallet" {
			out.cookie = ck.Value
		}
	}
	if out.connect == "" || out.checkout == "" || out.wallet == "" || out.cookie == "" || out.walletPage == "" {
		tb.Fatalf("not every token was issued: %+v", out)
	}
	if st := pageStatus(tb, client, env.Server.URL+out.walletPage, out.cookie); st != 200 {
		tb.Fatalf("GET %s with the session cookie: %d, want 200", out.walletPage, st)
	}
	return out
}

// checkRefused sends tok to every page that takes a token and fails
// unless each refuses it as a token Tender did not issue.
func checkRefused(tb testing.TB, client *http.Client, env *apitest.Env, issued tokens, what, tok string) {
	tb.Helper()
	if tok == "" || tok == "." || tok == ".." {
		// No token at all, or a path the mux cleans away: another
		// route answers, not a token parser.
		return
	}
	base := env.Server.URL
	esc := url.PathEscape(tok)
	pages := []struct {
		u    string
		want int
		skip bool // tok is the one issued for this page
	}{
		{base + connect.LinkPath + esc, 404, tok == issued.connect},
		{base + checkout.LinkPath + esc, 404, tok == issued.checkout},
		{base + checkout.AuthenticatePath + esc, 404, false},
		// The issued wallet link was used: only it gets link_used.
		{base + wallet.SessionLinkPath + esc, 404, tok == issued.wallet},
		{base + connect.CallbackPath + "?code=ac_1&state=" + url.QueryEscape(tok), 400, false},
		{base + connect.ExpressReturnPath + "?state=" + url.QueryEscape(tok), 400, false},
		{base + connect.ExpressRefreshPth + "?state=" + url.QueryEscape(tok), 400, false},
	}
	for _, p := range pages {
		if p.skip {
			continue
		}
		if st := pageStatus(tb, client, p.u, ""); st != p.want {
			tb.Fatalf("%s token %q: GET %s = %d, want %d", what, tok, p.u, st, p.want)
		}
	}
	if tok != issued.cookie && validCookieValue(tok) {
		// A cookie Tender never gave is no session.
		if st := pageStatus(tb, client, base+issued.walletPage, tok); st != http.StatusUnauthorized {
			tb.Fatalf("%s cookie %q: GET %s = %d, want 401", what, tok, issued.walletPage, st)
		}
	}
}

// pageStatus GETs u, with cookie as the wallet's session cookie if set,
// and returns the status.
func pageStatus(tb testing.TB, client *http.Client, u, cookie string) int {
	tb.Helper()
	req, err := http.NewRequestWithContext(context.Background(), "GET", u, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", "tender_wallet="+cookie)
	}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// validCookieValue reports whether a browser could send s as a cookie's
// value (RFC 6265 cookie-octets); net/http drops anything else.
func validCookieValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return s != ""
}
