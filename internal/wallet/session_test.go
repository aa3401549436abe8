package wallet_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/wallet"
)

const returnURL = "https://platform.example/account?tab=cards"

// session creates a wallet session for the customer through the API.
func (f *fixture) session(customerID string) wallet.SessionView {
	f.t.Helper()
	var ws wallet.SessionView
	f.Post("/v1/wallet_sessions", map[string]any{"customer": customerID, "return_url": returnURL}, 200, &ws)
	return ws
}

// page is what a hosted page request got back.
type page struct {
	status int
	header http.Header
	body   string
}

// browse sends a request to a hosted page as a browser without script
// would, following no redirect. cookie, if set, is sent as the wallet's
// session cookie; form, if set, is posted.
func (f *fixture) browse(method, path, cookie string, form url.Values, header ...string) page {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	if !strings.HasPrefix(path, "http") {
		path = f.Server.URL + path
	}
	req, err := http.NewRequest(method, path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "tender_wallet", Value: cookie})
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header, string(b)}
}

// openSession opens the session's link and returns the cookie it set.
func (f *fixture) openSession(ws wallet.SessionView) *http.Cookie {
	f.t.Helper()
	p := f.browse("GET", ws.URL, "", nil)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/wallet/"+ws.ID {
		f.t.Fatalf("open %s: %d %s %s", ws.URL, p.status, p.header.Get("Location"), p.body)
	}
	resp := http.Response{Header: p.header}
	for _, c := range resp.Cookies() {
		if c.Name == "tender_wallet" {
			return c
		}
	}
	f.t.Fatalf("opening the link set no cookie: %v", p.header)
	return nil
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestWalletSessionCreate: a session is made for the platform's own,
// active customer; its link is kept only as a hash; bad input names its
// field.
func TestWalletSessionCreate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := f.customer(`{"email":"di@example.com"}`)
		var ws wallet.SessionView
		f.Post("/v1/wallet_sessions", map[string]any{"customer": c.ID, "return_url": returnURL}, 200, &ws)
		token, ok := strings.CutPrefix(ws.URL, f.Server.URL+"/wallet/links/")
		if !ok || len(token) < 40 || !strings.HasPrefix(ws.ID, "ws_") || ws.Object != "wallet_session" || ws.Customer != c.ID ||
			ws.ReturnURL != returnURL || ws.ExpiresAt.Sub(ws.CreatedAt) != wallet.DefaultSessionTTL {
			t.Fatalf("created %+v", ws)
		}
		var short wallet.SessionView
		f.Do("POST", "/v1/wallet_sessions", map[string]any{"customer": c.ID, "return_url": returnURL, "expires_in": 60},
			apitest.WithIdempotencyKey("ws-short")).Decode(t, &short)
		if short.ExpiresAt.Sub(short.CreatedAt) != time.Minute {
			t.Errorf("expires_in 60: %+v", short)
		}
		var stored string
		if err := db.QueryRowContext(ctx, `SELECT token_hash FROM wallet_sessions WHERE id = $1`, ws.ID).Scan(&stored); err != nil || stored != hashHex(token) {
			t.Errorf("stored token %q, %v; want its SHA-256", stored, err)
		}
		assertNoTokens(t, db, token, strings.TrimPrefix(short.URL, f.Server.URL+"/wallet/links/"))

		for _, tt := range []struct {
			body  map[string]any
			param string
		}{
			{map[string]any{"return_url": returnURL}, "customer"},
			{map[string]any{"customer": c.ID}, "return_url"},
			{map[string]any{"customer": c.ID, "return_url": "/account"}, "return_url"},
			{map[string]any{"customer": c.ID, "return_url": "javascript:alert(1)"}, "return_url"},
			{map[string]any{"customer": c.ID, "return_url": "https://u:p@platform.example/"}, "return_url"},
			{map[string]any{"customer": c.ID, "return_url": returnURL, "expires_in": 59}, "expires_in"},
			{map[string]any{"customer": c.ID, "return_url": returnURL, "expires_in": 86401}, "expires_in"},
			{map[string]any{"customer": c.ID, "return_url": returnURL, "expires_in": "soon"}, "expires_in"},
			{map[string]any{"customer": c.ID, "return_url": returnURL, "colour": "red"}, "colour"},
		} {
			if r := f.Do("POST", "/v1/wallet_sessions", tt.body); r.Status != 400 || r.Err().Param != tt.param {
				t.Errorf("%v: %d %s; want 400 naming %s", tt.body, r.Status, r.Body, tt.param)
			}
		}
		if r := f.Do("POST", "/v1/wallet_sessions", map[string]any{"customer": "cst_nope", "return_url": returnURL}); r.Status != 404 || r.Err().Param != "customer" {
			t.Errorf("unknown customer: %d %s", r.Status, r.Body)
		}
		other, _ := f.App.Platforms.Create(ctx, "Other platform")
		_, otherKey, _ := f.App.Platforms.CreateKey(ctx, other.ID, "test", "k")
		if r := f.Do("POST", "/v1/wallet_sessions", map[string]any{"customer": c.ID, "return_url": returnURL}, apitest.WithKey(otherKey)); r.Status != 404 || r.Err().Param != "customer" {
			t.Errorf("another platform's customer: %d %s", r.Status, r.Body)
		}
		f.Post("/v1/customers/"+c.ID+"/archive", nil, 200, nil)
		if r := f.Do("POST", "/v1/wallet_sessions", map[string]any{"customer": c.ID, "return_url": returnURL}); r.Status != 409 || r.Err().Code != "customer_archived" {
			t.Errorf("archived customer: %d %s", r.Status, r.Body)
		}
	})
}

// assertNoTokens fails if any row of the tables a wallet session touches
// holds one of the link tokens in clear.
func assertNoTokens(t *testing.T, db *store.DB, tokens ...string) {
	t.Helper()
	for _, table := range []string{"wallet_sessions", "idempotency_keys", "events"} {
		rows, err := db.QueryContext(context.Background(), `SELECT * FROM `+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				s := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					s = string(b)
				}
				for _, tok := range tokens {
					if strings.Contains(s, tok) {
						t.Errorf("%s.%s holds a wallet link's token in clear", table, cols[i])
					}
				}
			}
		}
		rows.Close()
	}
}

// TestWalletLink: the link works once, for a limited time, and is
// exchanged for an HttpOnly, SameSite=Lax cookie scoped to the session's
// page, stored only as a hash; a used, expired or unknown link shows a page
// that says so, with the way back to the platform.
func TestWalletLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		c := f.customer(`{"name":"Di"}`)
		ws := f.session(c.ID)

		if p := f.browse("HEAD", ws.URL, "", nil); p.status != 200 {
			t.Fatalf("HEAD of the link: %d", p.status)
		}
		cookie := f.openSession(ws) // a HEAD did not use it up
		if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/wallet/"+ws.ID || cookie.Secure ||
			!cookie.Expires.Equal(ws.ExpiresAt.Truncate(time.Second)) || strings.Contains(ws.URL, cookie.Value) {
			t.Errorf("cookie %+v; want HttpOnly, SameSite=Lax, Path /wallet/%s, expiring %s", cookie, ws.ID, ws.ExpiresAt)
		}
		var stored string
		db.QueryRowContext(context.Background(), `SELECT cookie_hash FROM wallet_sessions WHERE id = $1`, ws.ID).Scan(&stored)
		if stored != hashHex(cookie.Value) {
			t.Errorf("stored cookie %q; want its SHA-256", stored)
		}

		p := f.browse("GET", "/wallet/"+ws.ID, cookie.Value, nil)
		if p.status != 200 || !strings.Contains(p.body, "Your saved cards") || !strings.Contains(p.body, "Test platform") ||
			!strings.Contains(p.body, wallet.CSRFToken(cookie.Value)) || !strings.Contains(p.body, `href="`+strings.ReplaceAll(returnURL, "&", "&amp;")+`"`) {
			t.Fatalf("page: %d %s", p.status, p.body)
		}
		csp := p.header.Get("Content-Security-Policy")
		emu := f.EmulatorServer.URL
		for _, want := range []string{"script-src 'self' " + emu, "frame-src " + emu, "connect-src 'self' " + emu, "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if _, scriptSrc, _ := strings.Cut(csp, "script-src"); strings.Contains(strings.Split(scriptSrc, ";")[0], "unsafe") {
			t.Errorf("CSP allows inline script: %q", csp)
		}
		if p.header.Get("Cache-Control") != "no-store" || p.header.Get("Referrer-Policy") != "no-referrer" || p.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("security headers: %v", p.header)
		}
		if !strings.Contains(p.body, `src="`+emu+`/v3/"`) || strings.Contains(p.body, "<script>") {
			t.Errorf("page's scripts: want the emulator's Stripe.js and no inline script")
		}
		if js := f.browse("GET", "/static/wallet.js", "", nil); js.status != 200 || !strings.HasPrefix(js.header.Get("Content-Type"), "text/javascript") {
			t.Errorf("wallet.js: %d %v", js.status, js.header)
		}

		again := f.browse("GET", ws.URL, "", nil)
		if again.status != http.StatusGone || !strings.Contains(again.body, "already been used") || !strings.Contains(again.body, "link_used") ||
			!strings.Contains(again.body, "https://platform.example/account") || len(again.header.Values("Set-Cookie")) != 0 {
			t.Errorf("link opened again: %d %s", again.status, again.body)
		}
		if p := f.browse("GET", "/wallet/links/not-a-token", "", nil); p.status != http.StatusNotFound || !strings.Contains(p.body, "not valid") {
			t.Errorf("unknown link: %d %s", p.status, p.body)
		}

		late := f.session(c.ID)
		f.clock.Advance(wallet.DefaultSessionTTL)
		if p := f.browse("GET", late.URL, "", nil); p.status != http.StatusGone || !strings.Contains(p.body, "has expired") ||
			!strings.Contains(p.body, "https://platform.example/account") {
			t.Errorf("expired link: %d %s", p.status, p.body)
		}
		if p := f.browse("GET", "/wallet/"+ws.ID, cookie.Value, nil); p.status != http.StatusGone || !strings.Contains(p.body, "session has ended") {
			t.Errorf("page after the session's end: %d %s", p.status, p.body)
		}
		if p := f.browse("GET", "/wallet/"+ws.ID, "", nil); p.status != http.StatusGone || !strings.Contains(p.body, "session has ended") {
			t.Errorf("page after the session's end, its cookie gone: %d %s", p.status, p.body)
		}
	})
}

// TestWalletSessionAuthorization: the page and every action need the
// session's own cookie, and every action its CSRF token; nothing changes
// otherwise. A session reaches only its own customer's cards.
func TestWalletSessionAuthorization(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := f.customer(`{}`)
		card := f.saveCard(c.ID, "pm_card_visa")
		second := f.saveCard(c.ID, "pm_card_mastercard")
		ws := f.session(c.ID)
		cookie := f.openSession(ws).Value
		csrf := wallet.CSRFToken(cookie)
		other := f.customer(`{}`)
		otherCard := f.saveCard(other.ID, "pm_card_visa")
		otherWS := f.session(other.ID)
		otherCookie := f.openSession(otherWS).Value
		base := "/wallet/" + ws.ID

		for _, tt := range []struct {
			name, cookie string
			status       int
			reason       string
		}{
			{"no cookie", "", 401, "session_missing"},
			{"forged cookie", "forged-value", 401, "session_invalid"},
			{"another session's cookie", otherCookie, 403, "session_mismatch"},
		} {
			if p := f.browse("GET", base, tt.cookie, nil); p.status != tt.status || !strings.Contains(p.body, tt.reason) {
				t.Errorf("page, %s: %d %s", tt.name, p.status, p.body)
			}
			form := url.Values{"csrf_token": {csrf}}
			if p := f.browse("POST", base+"/cards/"+second.ID+"/default", tt.cookie, form); p.status != tt.status || !strings.Contains(p.body, tt.reason) {
				t.Errorf("make default, %s: %d %s", tt.name, p.status, p.body)
			}
			p := f.browse("POST", base+"/setup_intents", tt.cookie, nil, "X-CSRF-Token", csrf, "Content-Type", "application/json")
			if p.status != tt.status || !strings.Contains(p.body, `"code":"`+tt.reason+`"`) || !strings.HasPrefix(p.header.Get("Content-Type"), "application/json") {
				t.Errorf("setup intent, %s: %d %s", tt.name, p.status, p.body)
			}
		}
		for _, tt := range []struct{ name, token string }{{"no CSRF token", ""}, {"another session's CSRF token", wallet.CSRFToken(otherCookie)}} {
			if p := f.browse("POST", base+"/cards/"+second.ID+"/default", cookie, url.Values{"csrf_token": {tt.token}}); p.status != 403 || !strings.Contains(p.body, "csrf_invalid") {
				t.Errorf("make default, %s: %d %s", tt.name, p.status, p.body)
			}
			if p := f.browse("POST", base+"/merchants/mer_x/allow", cookie, url.Values{"csrf_token": {tt.token}}); p.status != 403 {
				t.Errorf("allow, %s: %d %s", tt.name, p.status, p.body)
			}
			p := f.browse("POST", base+"/cards", cookie, nil, "X-CSRF-Token", tt.token)
			if p.status != 403 || !strings.Contains(p.body, `"code":"csrf_invalid"`) {
				t.Errorf("record card, %s: %d %s", tt.name, p.status, p.body)
			}
		}
		if cu, _ := f.App.Wallet.Customer(ctx, f.PlatformID, c.ID); cu.DefaultPaymentMethodID != card.ID {
			t.Fatalf("a refused request changed the default to %s", cu.DefaultPaymentMethodID)
		}

		// With the cookie and the token, the session's own customer only.
		form := url.Values{"csrf_token": {csrf}}
		if p := f.browse("POST", base+"/cards/"+second.ID+"/default", cookie, form); p.status != 303 || p.header.Get("Location") != base+"?notice=default_set" {
			t.Fatalf("make default: %d %s", p.status, p.body)
		}
		if p := f.browse("POST", base+"/cards/"+otherCard.ID+"/remove", cookie, form); p.status != 404 {
			t.Errorf("removing another customer's card: %d %s", p.status, p.body)
		}
		if pm, _ := f.App.Wallet.PaymentMethod(ctx, f.PlatformID, other.ID, otherCard.ID); pm.Status != "active" {
			t.Errorf("another customer's card was removed")
		}
		otherSeti := f.confirmedSetup(other.ID, "pm_card_mastercard")
		p := f.browse("POST", base+"/cards", cookie, url.Values{}, "X-CSRF-Token", csrf)
		if p.status != 400 {
			t.Errorf("record card with a form body: %d %s", p.status, p.body)
		}
		req := `{"setup_intent":"` + otherSeti + `"}`
		if p := f.action(base+"/cards", cookie, req); p.status != 400 || !strings.Contains(p.body, `"param":"setup_intent"`) {
			t.Errorf("recording another customer's SetupIntent: %d %s", p.status, p.body)
		}

		// A session opens a bounded number of SetupIntents.
		for i := range wallet.MaxSetupsPerSession {
			if p := f.action(base+"/setup_intents", cookie, `{}`); p.status != 200 || !strings.Contains(p.body, `"client_secret":"seti_`) {
				t.Fatalf("setup intent %d: %d %s", i+1, p.status, p.body)
			}
		}
		if p := f.action(base+"/setup_intents", cookie, `{}`); p.status != 429 || !strings.Contains(p.body, "setup_limit") {
			t.Errorf("setup intent beyond the limit: %d %s", p.status, p.body)
		}

		f.clock.Advance(wallet.DefaultSessionTTL)
		if p := f.action(base+"/setup_intents", cookie, `{}`); p.status != 410 || !strings.Contains(p.body, "session_expired") {
			t.Errorf("action after the session's end: %d %s", p.status, p.body)
		}
		if p := f.browse("POST", base+"/cards/"+card.ID+"/remove", cookie, form); p.status != 410 {
			t.Errorf("remove after the session's end: %d %s", p.status, p.body)
		}
	})
}

// action sends a JSON request of the page's script, with the session's
// cookie and CSRF token.
func (f *fixture) action(path, cookie, body string) page {
	f.t.Helper()
	req, err := http.NewRequest("POST", f.Server.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", wallet.CSRFToken(cookie))
	req.AddCookie(&http.Cookie{Name: "tender_wallet", Value: cookie})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header, string(b)}
}

// TestWalletConsentForm: the page offers the platform's enabled merchants;
// allowing one records the text the page showed, with the browser's
// address and user agent; a page whose text is out of date, or a merchant
// that cannot take payments, records nothing; withdrawing revokes.
func TestWalletConsentForm(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := f.customer(`{}`)
		f.saveCard(c.ID, "pm_card_visa")
		m := f.merchant("Dairy")
		var idle struct{ ID string }
		f.Post("/v1/merchants", map[string]string{"name": "Idle"}, 200, &idle)
		ws := f.session(c.ID)
		cookie := f.openSession(ws).Value
		base := "/wallet/" + ws.ID
		text := "Allow Dairy to charge my default card when I'm not there"

		p := f.browse("GET", base, cookie, nil)
		if !strings.Contains(p.body, `value="Allow Dairy to charge my default card when I&#39;m not there"`) || strings.Contains(p.body, idle.ID) {
			t.Fatalf("page offers %s", p.body)
		}
		csrf := wallet.CSRFToken(cookie)
		for _, tt := range []struct {
			name, merchant, text, shown string
		}{
			{"text not shown", m.ID, "Allow Dairy to charge my card whenever it likes", "This page is out of date"},
			{"merchant not enabled", idle.ID, "Allow Idle to charge my default card when I'm not there", "Idle cannot take payments"},
		} {
			p := f.browse("POST", base+"/merchants/"+tt.merchant+"/allow", cookie, url.Values{"csrf_token": {csrf}, "text": {tt.text}})
			if p.status != 409 || !strings.Contains(p.body, tt.shown) || !strings.Contains(p.body, "Your saved cards") {
				t.Errorf("%s: %d %s; want the page again with the error", tt.name, p.status, p.body)
			}
		}
		if cs, _ := f.App.Wallet.Consents(ctx, f.PlatformID, c.ID); len(cs) != 0 {
			t.Fatalf("refused consents were recorded: %+v", cs)
		}

		p = f.browse("POST", base+"/merchants/"+m.ID+"/allow", cookie, url.Values{"csrf_token": {csrf}, "text": {text}}, "User-Agent", "Test agent/1.0")
		if p.status != 303 || p.header.Get("Location") != base+"?notice=consent_granted" {
			t.Fatalf("allow: %d %s", p.status, p.body)
		}
		cs, _ := f.App.Wallet.Consents(ctx, f.PlatformID, c.ID)
		if len(cs) != 1 || cs[0].MerchantID != m.ID || cs[0].Evidence.Text != text || cs[0].Evidence.TextVersion == "" ||
			cs[0].Evidence.IPAddress != "127.0.0.1" || cs[0].Evidence.UserAgent != "Test agent/1.0" {
			t.Fatalf("consent %+v", cs)
		}
		if p := f.browse("GET", base+"?notice=consent_granted", cookie, nil); !strings.Contains(p.body, "Permission given") || !strings.Contains(p.body, "withdraw") {
			t.Errorf("page after allowing: %s", p.body)
		}
		if p := f.browse("POST", base+"/merchants/"+m.ID+"/withdraw", cookie, url.Values{"csrf_token": {csrf}}); p.status != 303 {
			t.Fatalf("withdraw: %d %s", p.status, p.body)
		}
		if cs, _ := f.App.Wallet.Consents(ctx, f.PlatformID, c.ID); len(cs) != 1 || cs[0].RevokedReason != "customer_revoked" {
			t.Errorf("consent after withdrawing: %+v", cs)
		}
	})
}

// TestWalletPagePathsRefuseBadIDs: the hosted wallet's paths carry a
// session, card or merchant id that any browser can change; one that
// cannot be an id (a NUL, the wrong shape) is an unknown one, never a 500
// (PostgreSQL refuses a NUL in a query), and changes nothing.
func TestWalletPagePathsRefuseBadIDs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		c := f.customer(`{"email":"ann@example.com"}`)
		ws := f.session(c.ID)
		cookie := f.openSession(ws).Value
		form := url.Values{"csrf_token": {wallet.CSRFToken(cookie)}, "text": {"x"}}
		for _, tc := range []struct {
			method, path string
			form         url.Values
		}{
			{"GET", "/wallet/ws_%00", nil},
			{"GET", "/wallet/" + strings.Repeat("x", 300), nil},
			{"POST", "/wallet/" + ws.ID + "/cards/pmt_%00/default", form},
			{"POST", "/wallet/" + ws.ID + "/cards/pmt_" + strings.Repeat("Z", 24) + "/remove", form},
			{"POST", "/wallet/" + ws.ID + "/merchants/mer_%00/allow", form},
			{"POST", "/wallet/" + ws.ID + "/merchants/%ff%fe/withdraw", form},
		} {
			if p := f.browse(tc.method, tc.path, cookie, tc.form); p.status >= 500 {
				t.Errorf("%s %s: %d %s", tc.method, tc.path, p.status, p.body)
			}
		}
		var n int
		if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM consents`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d consents (%v), want none", n, err)
		}
	})
}
