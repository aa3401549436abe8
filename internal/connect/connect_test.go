package connect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// fixture is Tender with the emulator as its Stripe, a platform site that
// records where merchants come back to, and a browser-like HTTP client that
// does not follow redirects, so each step can be checked.
type fixture struct {
	*apitest.Env
	t        *testing.T
	clock    *apitest.Clock
	platform *httptest.Server
	client   *http.Client
	links    int // connection links made, for their idempotency keys
}

func newFixture(t *testing.T, db *store.DB, opts emulator.Options) *fixture {
	t.Helper()
	c := apitest.NewClock(time.Now())
	env := apitest.NewWithEmulator(t, db, app.Config{Now: c.Now}, opts)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "platform page %s", r.URL.Path)
	}))
	t.Cleanup(site.Close)
	return &fixture{Env: env, t: t, clock: c, platform: site,
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (f *fixture) createMerchant(body string) connect.MerchantView {
	f.t.Helper()
	r := f.Do("POST", "/v1/merchants", body)
	if r.Status != 200 {
		f.t.Fatalf("create merchant: %d %s", r.Status, r.Body)
	}
	var m connect.MerchantView
	r.Decode(f.t, &m)
	return m
}

func (f *fixture) merchant(id string) connect.MerchantView {
	f.t.Helper()
	r := f.Do("GET", "/v1/merchants/"+id, nil)
	if r.Status != 200 {
		f.t.Fatalf("get merchant: %d %s", r.Status, r.Body)
	}
	var m connect.MerchantView
	r.Decode(f.t, &m)
	return m
}

// link creates a connection link and returns its URL.
func (f *fixture) link(merchantID, typ string) string {
	f.t.Helper()
	// With an Idempotency-Key, so the response holding the link's URL is
	// stored, and assertNoSecrets checks it is not stored in clear.
	f.links++
	r := f.Do("POST", "/v1/merchants/"+merchantID+"/connect_links", map[string]string{
		"type": typ, "return_url": f.platform.URL + "/merchants/done?x=1", "refresh_url": f.platform.URL + "/merchants/again",
	}, apitest.WithIdempotencyKey(fmt.Sprintf("link-%s-%d", merchantID, f.links)))
	if r.Status != 200 {
		f.t.Fatalf("create link: %d %s", r.Status, r.Body)
	}
	var l struct{ URL string }
	r.Decode(f.t, &l)
	return l.URL
}

type page struct {
	status   int
	location string
	body     string
}

func (f *fixture) get(u string) page {
	f.t.Helper()
	return f.send("GET", u, nil)
}

func (f *fixture) send(method, u string, form url.Values) page {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	loc, _ := resp.Location()
	p := page{status: resp.StatusCode, body: string(b)}
	if loc != nil {
		p.location = loc.String()
	}
	return p
}

var inputRe = regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)

// submit posts the form of the page at u, with its fields as filled in, as
// a browser would when a button is pressed.
func (f *fixture) submit(u string, button url.Values) page {
	f.t.Helper()
	p := f.get(u)
	if p.status != 200 {
		f.t.Fatalf("GET %s: %d %s", u, p.status, p.body)
	}
	form := url.Values{}
	for _, m := range inputRe.FindAllStringSubmatch(p.body, -1) {
		form.Set(m[1], htmlUnescape(m[2]))
	}
	for k, v := range button {
		form[k] = v
	}
	return f.send("POST", u, form)
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// toStripe opens the link as the merchant's owner does: the interstitial
// page, then "Continue to Stripe". It returns where Tender sends the
// browser.
func (f *fixture) toStripe(linkURL string) string {
	f.t.Helper()
	p := f.get(linkURL)
	if p.status != 200 || !strings.Contains(p.body, "Test platform") || !strings.Contains(p.body, "Continue to Stripe") {
		f.t.Fatalf("interstitial: %d %s", p.status, p.body)
	}
	p = f.send("POST", linkURL, url.Values{})
	if p.status != http.StatusSeeOther {
		f.t.Fatalf("continue: %d %s", p.status, p.body)
	}
	return p.location
}

// authorize answers Stripe's authorize page and returns Tender's callback
// URL that Stripe redirects to.
func (f *fixture) authorize(authorizeURL, decision string) string {
	f.t.Helper()
	p := f.submit(authorizeURL, url.Values{"decision": {decision}})
	if p.status != http.StatusFound && p.status != http.StatusSeeOther {
		f.t.Fatalf("authorize %s: %d %s", decision, p.status, p.body)
	}
	if !strings.HasPrefix(p.location, f.Server.URL+app.ConnectCallbackPath) {
		f.t.Fatalf("authorize redirected to %s, want Tender's callback", p.location)
	}
	return p.location
}

func query(t *testing.T, u string) url.Values {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Query()
}

// TestConnectStandard connects a Standard account through Stripe's OAuth
// page, over HTTP as a browser would, on each database.
func TestConnectStandard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, emulator.Options{})
		m := f.createMerchant(`{"name":"Green Grocer","email":"owner@grocer.example","country":"us","external_id":"ent-1"}`)
		if m.Connection.Status != connect.StatusNotConnected || m.Country == nil || *m.Country != "US" {
			t.Fatalf("new merchant: %+v", m)
		}
		linkURL := f.link(m.ID, "standard")

		authorize := f.toStripe(linkURL)
		aq := query(t, authorize)
		if !strings.HasPrefix(authorize, f.EmulatorServer.URL+"/oauth/authorize?") || aq.Get("client_id") != emulator.DefaultClientID ||
			aq.Get("redirect_uri") != f.Server.URL+app.ConnectCallbackPath || aq.Get("stripe_user[email]") != "owner@grocer.example" ||
			aq.Get("stripe_user[business_name]") != "Green Grocer" || aq.Get("scope") != "read_write" || aq.Get("state") == "" {
			t.Fatalf("authorize URL %s", authorize)
		}
		if p := f.get(authorize); !strings.Contains(p.body, "Test platform") || !strings.Contains(p.body, "owner@grocer.example") {
			t.Fatalf("authorize page does not name the platform or prefill the email: %s", p.body)
		}

		callback := f.authorize(authorize, "connect")
		if cq := query(t, callback); cq.Get("state") != aq.Get("state") || cq.Get("code") == "" {
			t.Fatalf("callback %s: state changed or no code", callback)
		}
		done := f.get(callback)
		dq := query(t, done.location)
		if done.status != http.StatusSeeOther || !strings.HasPrefix(done.location, f.platform.URL+"/merchants/done?") ||
			dq.Get("x") != "1" || dq.Get("result") != "connected" || dq.Get("status") != "enabled" || dq.Get("merchant") != m.ID {
			t.Fatalf("after the callback: %d %s %s", done.status, done.location, done.body)
		}

		got := f.merchant(m.ID)
		c := got.Connection
		if c.Status != connect.StatusEnabled || c.AccountID == nil || !strings.HasPrefix(*c.AccountID, "acct_") ||
			*c.AccountType != "standard" || !c.ChargesEnabled || !c.PayoutsEnabled || c.ConnectedAt == nil {
			t.Fatalf("connected merchant: %+v", c)
		}
		if evs := events(t, f, m.ID); !contains(evs, "merchant.connected") || !contains(evs, "merchant.status_changed") {
			t.Errorf("events %v; want merchant.connected and merchant.status_changed", evs)
		}

		// Replaying the callback, or the link, uses nothing twice.
		if p := f.get(callback); p.status != http.StatusGone || !strings.Contains(p.body, "link_used") {
			t.Errorf("replayed callback: %d %s", p.status, p.body)
		}
		if p := f.get(linkURL); p.status != http.StatusGone || !strings.Contains(p.body, "already been used") {
			t.Errorf("link opened again: %d %s", p.status, p.body)
		}
		if p := f.send("POST", linkURL, url.Values{}); p.status != http.StatusGone {
			t.Errorf("link used again: %d %s", p.status, p.body)
		}

		// Only the account id is kept: no token, no key, anywhere.
		assertNoSecrets(t, db)
	})
}

func events(t *testing.T, f *fixture, objectID string) []string {
	t.Helper()
	rows, err := f.App.DB.QueryContext(context.Background(), `SELECT type FROM events WHERE platform_id = $1 AND object_id = $2 ORDER BY id`, f.PlatformID, objectID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ string
		if err := rows.Scan(&typ); err != nil {
			t.Fatal(err)
		}
		out = append(out, typ)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// assertNoSecrets reads every row of the tables the connection flow writes
// and fails if any holds a Stripe secret key, an OAuth access or refresh
// token, or a link token in clear.
// secretPatterns match a secret key, an OAuth refresh token or a link
// token as a whole word: sealed values are base64url and may hold "rt_"
// or "sk_test_" by chance inside a longer run of its letters.
var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(^|[^A-Za-z0-9_-])(sk_test_|sk_live_|rk_test_)[A-Za-z0-9]+`),
	regexp.MustCompile(`(^|[^A-Za-z0-9_-])rt_[A-Za-z0-9]{32}`),
	regexp.MustCompile(`/connect/links/`),
}

func assertNoSecrets(t *testing.T, db *store.DB) {
	t.Helper()
	for _, table := range []string{"merchants", "connect_links", "events", "idempotency_keys", "platforms", "platform_stripe"} {
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
				for _, bad := range secretPatterns {
					if bad.MatchString(s) {
						t.Errorf("%s.%s holds %s in clear: %.120s", table, cols[i], bad, s)
					}
				}
			}
		}
		rows.Close()
	}
}

// TestConnectDenied: the merchant's owner presses Deny; Tender says so and
// connects nothing.
func TestConnectDenied(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), emulator.Options{})
	m := f.createMerchant(`{"name":"Baker"}`)
	callback := f.authorize(f.toStripe(f.link(m.ID, "standard")), "deny")
	if e := query(t, callback).Get("error"); e != "access_denied" {
		t.Fatalf("callback %s", callback)
	}
	p := f.get(callback)
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "You did not connect") || !strings.Contains(p.body, "access_denied") ||
		!strings.Contains(p.body, "Return to Test platform") ||
		!strings.Contains(p.body, "result=access_denied") {
		t.Fatalf("denied page: %d %s", p.status, p.body)
	}
	if got := f.merchant(m.ID); got.Connection.Status != connect.StatusNotConnected || got.Connection.AccountID != nil {
		t.Fatalf("denied merchant: %+v", got.Connection)
	}
}

// TestConnectRefusesBadStates: forged, tampered, expired and replayed
// states, and a code exchanged twice, each get their page and connect
// nothing.
func TestConnectRefusesBadStates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, emulator.Options{})
		m := f.createMerchant(`{"name":"Cheese shop"}`)
		callback := f.authorize(f.toStripe(f.link(m.ID, "standard")), "connect")
		q := query(t, callback)
		state := q.Get("state")
		body, sig, _ := strings.Cut(state, ".")
		cb := func(st, code string) page {
			return f.get(f.Server.URL + app.ConnectCallbackPath + "?" + url.Values{"state": {st}, "code": {code}}.Encode())
		}

		for name, st := range map[string]string{
			"forged":        "eyJwIjoicGx0XzEifQ.AAAA.BBBB",
			"no signature":  body,
			"tampered body": strings.ToUpper(body[:4]) + body[4:] + "." + sig,
			"tampered sig":  body + "." + sig[:len(sig)-3] + "AAA",
			"empty":         "",
		} {
			if p := cb(st, q.Get("code")); p.status != http.StatusBadRequest || !strings.Contains(p.body, "state_invalid") {
				t.Errorf("%s state: %d %s", name, p.status, p.body)
			}
		}

		// A state made for another platform's link does not verify (the
		// platform is inside the signed body), and another platform cannot
		// touch this platform's merchant through the API.
		other, err := f.App.Platforms.Create(context.Background(), "Other platform")
		if err != nil {
			t.Fatal(err)
		}
		_, otherKey, err := f.App.Platforms.CreateKey(context.Background(), other.ID, "test", "k")
		if err != nil {
			t.Fatal(err)
		}
		if r := f.Do("POST", "/v1/merchants/"+m.ID+"/connect_links", `{"type":"standard","return_url":"https://a.example/r","refresh_url":"https://a.example/f"}`,
			apitest.WithKey(otherKey)); r.Status != 404 {
			t.Errorf("another platform's key made a link for this merchant: %d %s", r.Status, r.Body)
		}

		// The real state still works, once.
		if p := cb(state, q.Get("code")); p.status != http.StatusSeeOther {
			t.Fatalf("genuine callback: %d %s", p.status, p.body)
		}
		if p := cb(state, q.Get("code")); p.status != http.StatusGone {
			t.Errorf("replayed state: %d %s", p.status, p.body)
		}

		// A code exchanged twice: the second link's fresh state with the
		// first link's code. Stripe refuses the used code; nothing is
		// connected.
		m2 := f.createMerchant(`{"name":"Second shop"}`)
		state2 := query(t, f.toStripe(f.link(m2.ID, "standard"))).Get("state")
		if p := cb(state2, q.Get("code")); p.status != http.StatusBadGateway || !strings.Contains(p.body, "stripe_error") {
			t.Errorf("code exchanged twice: %d %s", p.status, p.body)
		}
		if got := f.merchant(m2.ID); got.Connection.Status != connect.StatusNotConnected {
			t.Errorf("merchant connected with a used code: %+v", got.Connection)
		}

		// An expired state: the link's own lifetime has passed.
		m3 := f.createMerchant(`{"name":"Late shop"}`)
		cb3 := f.authorize(f.toStripe(f.link(m3.ID, "standard")), "connect")
		f.clock.Advance(connect.DefaultLinkTTL + time.Second)
		if p := f.get(cb3); p.status != http.StatusGone || !strings.Contains(p.body, "link_expired") {
			t.Errorf("expired state: %d %s", p.status, p.body)
		}
		if got := f.merchant(m3.ID); got.Connection.Status != connect.StatusNotConnected {
			t.Errorf("merchant connected with an expired state: %+v", got.Connection)
		}
		// An expired link shows its page and sends the owner to refresh_url.
		link4 := f.link(m3.ID, "standard")
		f.clock.Advance(connect.DefaultLinkTTL + time.Second)
		if p := f.get(link4); p.status != http.StatusGone || !strings.Contains(p.body, "/merchants/again") {
			t.Errorf("expired link: %d %s", p.status, p.body)
		}
		if p := f.get(f.Server.URL + connect.LinkPath + "not-a-token"); p.status != http.StatusNotFound {
			t.Errorf("unknown link: %d %s", p.status, p.body)
		}
	})
}

// TestConnectRefusesASecondAccount: a merchant connected to one account is
// not silently moved to another; the new account is let go.
func TestConnectRefusesASecondAccount(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), emulator.Options{})
	m := f.createMerchant(`{"name":"Two links"}`)
	first, second := f.link(m.ID, "standard"), f.link(m.ID, "standard")
	cb2 := f.authorize(f.toStripe(second), "connect")
	if p := f.get(f.authorize(f.toStripe(first), "connect")); p.status != http.StatusSeeOther {
		t.Fatalf("first connection: %d %s", p.status, p.body)
	}
	connected := f.merchant(m.ID).Connection.AccountID
	p := f.get(cb2)
	if p.status != http.StatusConflict || !strings.Contains(p.body, "already_connected") || !strings.Contains(p.body, "result=already_connected") {
		t.Fatalf("second account: %d %s", p.status, p.body)
	}
	if got := f.merchant(m.ID).Connection; *got.AccountID != *connected || got.Status != connect.StatusEnabled {
		t.Fatalf("merchant after the refused account: %+v", got)
	}
	// Now enabled: a new Standard link is refused up front.
	if r := f.Do("POST", "/v1/merchants/"+m.ID+"/connect_links", `{"type":"standard","return_url":"https://a.example/r","refresh_url":"https://a.example/f"}`); r.Status != 409 {
		t.Errorf("link for a connected merchant: %d %s", r.Status, r.Body)
	}
}

// TestConnectExpress creates an Express account, sends the owner through
// onboarding, and ends enabled; before onboarding it is pending with the
// requirements listed, and an expired account link comes back through
// Tender's refresh for a fresh one.
func TestConnectExpress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, emulator.Options{AccountsStartRestricted: true})
		m := f.createMerchant(`{"name":"Market stall","email":"stall@example.com","country":"GB"}`)
		onboarding := f.toStripe(f.link(m.ID, "express"))
		if !strings.HasPrefix(onboarding, f.EmulatorServer.URL+"/_emulator/connect/onboarding/") {
			t.Fatalf("express link sent the owner to %s", onboarding)
		}
		pending := f.merchant(m.ID).Connection
		if pending.Status != connect.StatusPending || *pending.AccountType != "express" || len(pending.Requirements.CurrentlyDue) == 0 {
			t.Fatalf("before onboarding: %+v", pending)
		}

		// The account link expires; Stripe sends the owner to Tender's
		// refresh URL, which issues a fresh one.
		f.Emulator.Advance(10 * time.Minute)
		p := f.get(onboarding)
		if (p.status != http.StatusFound && p.status != http.StatusSeeOther) || !strings.Contains(p.location, connect.ExpressRefreshPth) {
			t.Fatalf("expired account link: %d %s", p.status, p.location)
		}
		tenderRefresh := p.location
		p = f.get(p.location)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, f.EmulatorServer.URL+"/_emulator/connect/onboarding/") || p.location == onboarding {
			t.Fatalf("refresh: %d %s %s", p.status, p.location, p.body)
		}

		done := f.submit(p.location, nil)
		if (done.status != http.StatusFound && done.status != http.StatusSeeOther) || !strings.HasPrefix(done.location, f.Server.URL+connect.ExpressReturnPath) {
			t.Fatalf("onboarding submit: %d %s", done.status, done.location)
		}
		back := f.get(done.location)
		bq := query(t, back.location)
		if back.status != http.StatusSeeOther || bq.Get("result") != "connected" || bq.Get("status") != "enabled" {
			t.Fatalf("express return: %d %s %s", back.status, back.location, back.body)
		}
		if got := f.merchant(m.ID).Connection; got.Status != connect.StatusEnabled || len(got.Requirements.CurrentlyDue) != 0 {
			t.Fatalf("after onboarding: %+v", got)
		}
		// Once Tender's link has completed, or expired, its refresh URL
		// issues no more account links.
		if p := f.get(tenderRefresh); p.status != http.StatusGone {
			t.Errorf("refresh after completion: %d %s", p.status, p.location)
		}
		f.clock.Advance(connect.DefaultLinkTTL + time.Second)
		if p := f.get(tenderRefresh); p.status != http.StatusGone || !strings.Contains(p.body, "link_expired") {
			t.Errorf("refresh after expiry: %d %s", p.status, p.body)
		}
		assertNoSecrets(t, db)
	})
}

// TestDeauthorizationAndDisconnect: an account that leaves the platform at
// Stripe makes its merchant deauthorized; disconnecting deauthorizes at
// Stripe only when no other merchant of the platform shares the account.
func TestDeauthorizationAndDisconnect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, emulator.Options{})
		ctx := context.Background()

		// Deauthorized from Stripe's side, seen by a refresh and by the event.
		gone := f.createMerchant(`{"name":"Leaving shop"}`)
		f.get(f.authorize(f.toStripe(f.link(gone.ID, "standard")), "connect"))
		acct := *f.merchant(gone.ID).Connection.AccountID
		deauthorizeAtStripe(t, f, acct)
		r := f.Do("POST", "/v1/merchants/"+gone.ID+"/refresh", nil)
		var after connect.MerchantView
		r.Decode(t, &after)
		if r.Status != 200 || after.Connection.Status != connect.StatusDeauthorized {
			t.Fatalf("refresh of a deauthorized account: %d %s", r.Status, r.Body)
		}
		if evs := events(t, f, gone.ID); !contains(evs, "merchant.deauthorized") {
			t.Errorf("events %v; want merchant.deauthorized", evs)
		}
		if err := f.App.Connect.HandleAccountDeauthorized(ctx, f.PlatformID, acct); err != nil {
			t.Errorf("the event applied again: %v", err)
		}
		// The event alone, with no refresh, does the same.
		quiet := f.createMerchant(`{"name":"Quietly leaving"}`)
		f.get(f.authorize(f.toStripe(f.link(quiet.ID, "standard")), "connect"))
		quietAcct := *f.merchant(quiet.ID).Connection.AccountID
		deauthorizeAtStripe(t, f, quietAcct)
		if err := f.App.Connect.HandleAccountDeauthorized(ctx, f.PlatformID, quietAcct); err != nil {
			t.Fatal(err)
		}
		if got := f.merchant(quiet.ID).Connection; got.Status != connect.StatusDeauthorized || got.ChargesEnabled {
			t.Errorf("after account.application.deauthorized: %+v", got)
		}

		// Two merchants sharing one account (an organisation with two
		// shops: Stripe answers both OAuth flows with the same account,
		// which the emulator cannot, so the second is pointed at it here).
		a := f.createMerchant(`{"name":"Shop A"}`)
		b := f.createMerchant(`{"name":"Shop B"}`)
		f.get(f.authorize(f.toStripe(f.link(a.ID, "standard")), "connect"))
		shared := *f.merchant(a.ID).Connection.AccountID
		if _, err := db.ExecContext(ctx, `UPDATE merchants SET account_id = $1, account_type = 'standard', status = 'enabled' WHERE id = $2`, shared, b.ID); err != nil {
			t.Fatal(err)
		}
		r = f.Do("POST", "/v1/merchants/"+a.ID+"/disconnect", nil)
		if r.Status != 200 || !strings.Contains(string(r.Body), `"status":"not_connected"`) {
			t.Fatalf("disconnect A: %d %s", r.Status, r.Body)
		}
		if r := f.Do("POST", "/v1/merchants/"+b.ID+"/refresh", nil); r.Status != 200 || !strings.Contains(string(r.Body), `"status":"enabled"`) {
			t.Fatalf("B after A disconnected (the account must still be reachable): %d %s", r.Status, r.Body)
		}
		if r := f.Do("POST", "/v1/merchants/"+b.ID+"/disconnect", nil); r.Status != 200 {
			t.Fatalf("disconnect B: %d %s", r.Status, r.Body)
		}
		if status := stripeStatus(t, f, shared); status != http.StatusForbidden {
			t.Errorf("the account is still reachable after its last merchant disconnected: GET → %d", status)
		}
		if evs := events(t, f, b.ID); !contains(evs, "merchant.disconnected") {
			t.Errorf("events %v; want merchant.disconnected", evs)
		}
		if r := f.Do("POST", "/v1/merchants/"+b.ID+"/disconnect", nil); r.Status != 409 {
			t.Errorf("disconnect twice: %d %s", r.Status, r.Body)
		}
		// Archived once disconnected.
		if r := f.Do("POST", "/v1/merchants/"+b.ID+"/archive", nil); r.Status != 200 || !strings.Contains(string(r.Body), `"archived":true`) {
			t.Errorf("archive: %d %s", r.Status, r.Body)
		}
	})
}

// deauthorizeAtStripe disconnects the account from the platform at the
// emulator, as the account holder does from their dashboard.
func deauthorizeAtStripe(t *testing.T, f *fixture, account string) {
	t.Helper()
	form := url.Values{"client_id": {emulator.DefaultClientID}, "stripe_user_id": {account}}
	req, _ := http.NewRequest("POST", f.EmulatorServer.URL+"/oauth/deauthorize", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+emulator.DefaultSecretKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("deauthorize at the emulator: %v %v", resp, err)
	}
	resp.Body.Close()
}

// stripeStatus is the HTTP status of retrieving the account through the
// platform's key at the emulator.
func stripeStatus(t *testing.T, f *fixture, account string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", f.EmulatorServer.URL+"/v1/accounts/"+account, nil)
	req.Header.Set("Authorization", "Bearer "+emulator.DefaultSecretKey)
	req.Header.Set("Stripe-Account", account)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode
}
