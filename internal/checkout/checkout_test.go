package checkout_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/checkout"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/wallet"
)

// Checkout and authentication links over HTTP, on every database. The
// payer's browser is played by an HTTP client with a cookie jar, and
// Stripe.js by stripe-go confirming the PaymentIntent at the emulator with
// test cards, as Stripe.js does with the client secret; the browser tests
// (checkout_browser_test.go) do the same with the real page in Chromium.

type fixture struct {
	*apitest.Env
	t     *testing.T
	clock *apitest.Clock
	sc    *stripe.Client
}

func newFixture(t *testing.T, db *store.DB, opts ...apitest.EnvOption) *fixture {
	t.Helper()
	c := apitest.NewClock(time.Now())
	env := apitest.NewWithEmulator(t, db, app.Config{Now: c.Now}, emulator.Options{}, opts...)
	return &fixture{Env: env, t: t, clock: c, sc: env.StripeClient()}
}

// merchant connects a merchant (see apitest.Env.ConnectedMerchant).
func (f *fixture) merchant(name string) connect.MerchantView {
	f.t.Helper()
	return f.ConnectedMerchant(name)
}

func (f *fixture) customer() wallet.CustomerView {
	f.t.Helper()
	var c wallet.CustomerView
	f.Post("/v1/customers", `{"name":"Ada","email":"ada@example.com"}`, 200, &c)
	return c
}

// saveCard saves a card with a SetupIntent confirmed at the emulator.
func (f *fixture) saveCard(customerID, token string) wallet.PaymentMethodView {
	f.t.Helper()
	ctx := context.Background()
	var si wallet.SetupIntentView
	f.Post("/v1/customers/"+customerID+"/setup_intents", `{}`, 200, &si)
	got, err := f.sc.V1SetupIntents.Confirm(ctx, si.ID, &stripe.SetupIntentConfirmParams{PaymentMethod: stripe.String(token)})
	if err == nil && got.Status == stripe.SetupIntentStatusRequiresAction {
		resp, perr := http.PostForm(f.EmulatorServer.URL+"/_emulator/authenticate/"+si.ID, url.Values{"outcome": {"complete"}})
		if perr != nil || resp.StatusCode != 200 {
			f.t.Fatalf("authenticate %s: %v %v", si.ID, resp, perr)
		}
		resp.Body.Close()
		got, err = f.sc.V1SetupIntents.Retrieve(ctx, si.ID, nil)
	}
	if err != nil || got.Status != stripe.SetupIntentStatusSucceeded {
		f.t.Fatalf("confirm %s with %s: %+v %v", si.ID, token, got, err)
	}
	var pm wallet.PaymentMethodView
	f.Post("/v1/customers/"+customerID+"/payment_methods", map[string]string{"setup_intent": si.ID}, 200, &pm)
	return pm
}

func (f *fixture) link(body map[string]any) checkout.LinkView {
	f.t.Helper()
	var l checkout.LinkView
	f.Post("/v1/checkout_links", body, 200, &l)
	return l
}

func (f *fixture) getLink(id string) checkout.LinkView {
	f.t.Helper()
	var l checkout.LinkView
	r := f.Do("GET", "/v1/checkout_links/"+id, nil)
	if r.Status != 200 {
		f.t.Fatalf("GET checkout link %s: %d %s", id, r.Status, r.Body)
	}
	r.Decode(f.t, &l)
	return l
}

func (f *fixture) payment(id string) payment.View {
	f.t.Helper()
	var p payment.View
	r := f.Do("GET", "/v1/payments/"+id, nil)
	if r.Status != 200 {
		f.t.Fatalf("GET payment %s: %d %s", id, r.Status, r.Body)
	}
	r.Decode(f.t, &p)
	return p
}

func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.App.DB.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) events(typ event.Type, objectID string) int {
	f.t.Helper()
	return f.count(`SELECT COUNT(*) FROM events WHERE platform_id = $1 AND type = $2 AND object_id = $3`, f.PlatformID, string(typ), objectID)
}

// intents lists the PaymentIntents on an account ("" for the platform's).
func (f *fixture) intents(acct string) []*stripe.PaymentIntent {
	f.t.Helper()
	ctx := context.Background()
	params := &stripe.PaymentIntentListParams{}
	if acct != "" {
		params.SetStripeAccount(acct)
	}
	var out []*stripe.PaymentIntent
	for pi, err := range f.sc.V1PaymentIntents.List(ctx, params).All(ctx) {
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, pi)
	}
	return out
}

// payer is a payer's browser on a link's page.
type payer struct {
	f      *fixture
	client *http.Client
	base   string // the page's path and token
	csrf   string
}

var csrfAttr = regexp.MustCompile(`data-csrf="([^"]*)"`)

// open loads the page at url and returns the payer on it, with the page's
// status and HTML.
func (f *fixture) open(u string) (*payer, int, string) {
	f.t.Helper()
	jar, _ := cookiejar.New(nil)
	p := &payer{f: f, client: &http.Client{Jar: jar}, base: strings.TrimPrefix(u, f.Server.URL)}
	status, html := p.get()
	if m := csrfAttr.FindStringSubmatch(html); m != nil {
		p.csrf = m[1]
	}
	return p, status, html
}

func (p *payer) get() (int, string) {
	p.f.t.Helper()
	resp, err := p.client.Get(p.f.Server.URL + p.base)
	if err != nil {
		p.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post sends one of the page's actions, as its script does.
func (p *payer) post(action string, body any) (int, map[string]any) {
	p.f.t.Helper()
	js, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", p.f.Server.URL+p.base+"/"+action, strings.NewReader(string(js)))
	req.Header.Set("Content-Type", "application/json")
	if p.csrf != "" {
		req.Header.Set("X-CSRF-Token", p.csrf)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		p.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		p.f.t.Fatalf("%s: %v", action, err)
	}
	return resp.StatusCode, out
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// intent asks for the PaymentIntent, failing unless it gets one.
func (p *payer) intent(save bool, consent string) map[string]any {
	p.f.t.Helper()
	status, body := p.post("intent", map[string]any{"save_card": save, "consent_text": consent})
	if status != 200 {
		p.f.t.Fatalf("intent: %d %v", status, body)
	}
	return body
}

// confirm confirms the intent with a test card as Stripe.js would, and
// completes (or fails) a 3-D Secure challenge it asks for.
func (p *payer) confirm(intent map[string]any, token, challenge string) *stripe.PaymentIntent {
	p.f.t.Helper()
	ctx := context.Background()
	secret := intent["client_secret"].(string)
	piID := secret[:strings.Index(secret, "_secret_")]
	params := &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String(token)}
	if acct, _ := intent["stripe_account"].(string); acct != "" {
		params.SetStripeAccount(acct)
	}
	pi, err := p.f.sc.V1PaymentIntents.Confirm(ctx, piID, params)
	if err != nil {
		var se *stripe.Error
		if !errors.As(err, &se) || se.Type != stripe.ErrorTypeCard {
			p.f.t.Fatalf("confirm %s: %v", piID, err)
		}
		return nil
	}
	if pi.Status == stripe.PaymentIntentStatusRequiresAction {
		resp, err := http.PostForm(p.f.EmulatorServer.URL+"/_emulator/authenticate/"+piID, url.Values{"outcome": {challenge}})
		if err != nil || resp.StatusCode != 200 {
			p.f.t.Fatalf("authenticate %s: %v %v", piID, resp, err)
		}
		resp.Body.Close()
	}
	return pi
}

func (p *payer) complete() map[string]any {
	p.f.t.Helper()
	status, body := p.post("complete", map[string]any{})
	if status != 200 {
		p.f.t.Fatalf("complete: %d %v", status, body)
	}
	return body
}

// TestCheckoutLinkCreate: bad input names its field and writes nothing; a
// good link is priced by the merchant's policy, shows its URL once, and
// is recorded with checkout_link.created; another platform's key cannot
// see it.
func TestCheckoutLinkCreate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Bakery")
		var um connect.MerchantView
		f.Post("/v1/merchants", map[string]string{"name": "Unconnected"}, 200, &um)
		now := f.clock.Now()
		for _, tt := range []struct {
			body  map[string]any
			param string
		}{
			{map[string]any{"amount": 100, "currency": "usd"}, "merchant"},
			{map[string]any{"merchant": "mer_nope", "amount": 100, "currency": "usd"}, "merchant"},
			{map[string]any{"merchant": um.ID, "amount": 100, "currency": "usd"}, "merchant"},
			{map[string]any{"merchant": m.ID, "amount": 0, "currency": "usd"}, "amount"},
			{map[string]any{"merchant": m.ID, "amount": 100_000_000, "currency": "usd"}, "amount"},
			{map[string]any{"merchant": m.ID, "amount": 100, "currency": "xyz"}, "currency"},
			{map[string]any{"merchant": m.ID, "amount": 100, "currency": "usd", "customer": "cst_nope"}, "customer"},
			{map[string]any{"merchant": m.ID, "amount": 100, "currency": "usd", "expires_at": now.Add(-time.Minute)}, "expires_at"},
			{map[string]any{"merchant": m.ID, "amount": 100, "currency": "usd", "expires_at": now.Add(8 * 24 * time.Hour)}, "expires_at"},
			{map[string]any{"merchant": m.ID, "amount": 100, "currency": "usd", "metadata": map[string]string{"tender_checkout": "x"}}, "metadata"},
		} {
			r := f.Do("POST", "/v1/checkout_links", tt.body)
			if r.Status != 400 || r.Err().Param != tt.param {
				t.Errorf("%v: %d %s; want 400 naming %s", tt.body, r.Status, r.Body, tt.param)
			}
		}
		if n := f.count(`SELECT COUNT(*) FROM checkout_links`); n != 0 {
			t.Fatalf("%d links written by refused requests", n)
		}

		f.Post("/v1/fee_policy", map[string]any{"rules": map[string]any{"usd": map[string]any{"basis_points": 500, "fixed": 30}}}, 200, nil)
		l := f.link(map[string]any{"merchant": m.ID, "amount": 2000, "currency": "usd", "description": "Two loaves",
			"reference": "order-7", "metadata": map[string]string{"till": "3"}})
		if l.Status != checkout.StatusOpen || l.URL == nil || !strings.HasPrefix(*l.URL, f.Server.URL+"/checkout/") || l.Amount != 2000 ||
			l.ApplicationFee != 130 || l.FeePolicy == nil || l.Payment != nil || !l.ExpiresAt.Equal(now.Add(time.Hour).Truncate(time.Microsecond)) {
			t.Fatalf("link %+v", l)
		}
		token := strings.TrimPrefix(*l.URL, f.Server.URL+"/checkout/")
		if n := f.count(`SELECT COUNT(*) FROM checkout_links WHERE token_hash = $1 OR token_hash LIKE '%' || $2 || '%'`, token, token); n != 0 {
			t.Error("the token is stored as it is")
		}
		if got := f.getLink(l.ID); got.URL != nil || got.Status != checkout.StatusOpen {
			t.Errorf("read back %+v; the URL is shown only at creation", got)
		}
		if f.events(checkout.EventLinkCreated, l.ID) != 1 {
			t.Error("no checkout_link.created event")
		}
		other, err := f.App.Platforms.Create(context.Background(), "Other")
		if err != nil {
			t.Fatal(err)
		}
		_, otherKey, err := f.App.Platforms.CreateKey(context.Background(), other.ID, "test", "k")
		if err != nil {
			t.Fatal(err)
		}
		if r := f.Do("GET", "/v1/checkout_links/"+l.ID, nil, apitest.WithKey(otherKey)); r.Status != 404 {
			t.Errorf("another platform reads the link: %d", r.Status)
		}
		if r := f.Do("POST", "/v1/checkout_links/"+l.ID+"/cancel", nil, apitest.WithKey(otherKey)); r.Status != 404 {
			t.Errorf("another platform cancels the link: %d", r.Status)
		}
	})
}

// TestCheckoutPayDirect: a link paid with a good card is a direct charge
// on the merchant's account with the link's amount and fee; the payment
// (source checkout) succeeds and the link is paid, each with its event,
// and the page shows a receipt. A second payment is refused and the
// emulator holds one PaymentIntent; the page cannot change the amount;
// actions without the CSRF token and unknown tokens are refused.
func TestCheckoutPayDirect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Bakery")
		f.Post("/v1/fee_policy", map[string]any{"rules": map[string]any{"usd": map[string]any{"basis_points": 1000}}}, 200, nil)
		l := f.link(map[string]any{"merchant": m.ID, "amount": 2500, "currency": "usd", "description": "Cake", "reference": "r-1"})
		linkURL := *l.URL
		p, status, html := f.open(linkURL)
		if status != 200 || !strings.Contains(html, "25.00 USD") || !strings.Contains(html, "Pay Bakery") || p.csrf == "" {
			t.Fatalf("page: %d %s", status, html)
		}
		if strings.Contains(html, `id="save-card"`) {
			t.Error("a link with no customer offers to save the card")
		}
		if got := f.getLink(l.ID); got.Status != checkout.StatusOpen || got.Payment != nil {
			t.Errorf("opening the page changed the link: %+v", got)
		}

		// No CSRF token, or another's: refused, nothing made.
		bare := &payer{f: f, client: p.client, base: p.base}
		if st, body := bare.post("intent", map[string]any{}); st != 403 || errCode(body) != "csrf_invalid" {
			t.Errorf("intent without CSRF token: %d %v", st, body)
		}
		stranger, _, _ := f.open(linkURL)
		stranger.client = &http.Client{} // its token, but not its cookie
		if st, body := stranger.post("intent", map[string]any{}); st != 403 || errCode(body) != "csrf_invalid" {
			t.Errorf("intent without the cookie: %d %v", st, body)
		}
		// The amount is the link's: the page cannot send one.
		if st, body := p.post("intent", map[string]any{"amount": 1}); st != 400 {
			t.Errorf("intent with an amount: %d %v", st, body)
		}
		if n := f.count(`SELECT COUNT(*) FROM payments`); n != 0 {
			t.Fatalf("%d payments made by refused requests", n)
		}

		intent := p.intent(false, "")
		if intent["stripe_account"] != acct(m) {
			t.Errorf("intent on %v, want the merchant's account %v", intent["stripe_account"], acct(m))
		}
		again := p.intent(false, "") // a second press reuses it
		if again["client_secret"] != intent["client_secret"] {
			t.Error("a second request made another PaymentIntent")
		}
		p.confirm(intent, "pm_card_visa", "")
		if got := p.complete(); got["status"] != "paid" {
			t.Fatalf("complete: %v", got)
		}
		l = f.getLink(l.ID)
		if l.Status != checkout.StatusPaid || l.Payment == nil || l.PaidAt == nil {
			t.Fatalf("link %+v", l)
		}
		pay := f.payment(*l.Payment)
		if pay.Status != payment.StatusSucceeded || pay.Source != payment.SourceCheckout || pay.ChargeType != payment.ChargeDirect ||
			pay.Amount != 2500 || pay.ApplicationFee != 250 || pay.AmountCaptured != 2500 || pay.Customer != nil || pay.PaymentMethod != nil ||
			pay.Reference == nil || *pay.Reference != "r-1" || pay.NextAction != nil {
			t.Fatalf("payment %+v", pay)
		}
		pis := f.intents(acct(m))
		if len(pis) != 1 || pis[0].Amount != 2500 || pis[0].ApplicationFeeAmount != 250 || pis[0].Metadata["tender_checkout"] != l.ID ||
			pis[0].Metadata["tender_payment"] != pay.ID || pis[0].Metadata["tender_attempt"] != "1" {
			t.Fatalf("intents at the emulator: %+v", pis)
		}
		for typ, id := range map[event.Type]string{payment.EventPaymentCreated: pay.ID, payment.EventPaymentSucceeded: pay.ID,
			checkout.EventLinkPaid: l.ID} {
			if n := f.events(typ, id); n != 1 {
				t.Errorf("%d %s events", n, typ)
			}
		}
		// Completing again, or the job, changes nothing.
		p.complete()
		if err := f.App.Payments.Process(context.Background(), f.PlatformID, pay.ID); err != nil {
			t.Fatal(err)
		}
		if f.events(payment.EventPaymentSucceeded, pay.ID) != 1 || f.events(checkout.EventLinkPaid, l.ID) != 1 {
			t.Error("events recorded twice")
		}

		// Paid: the page is the receipt, and paying again is refused.
		if st, html := p.get(); st != 200 || !strings.Contains(html, "Payment received") || !strings.Contains(html, pay.ID) ||
			!strings.Contains(html, "Visa ending in 4242") || strings.Contains(html, "<script") {
			t.Errorf("receipt: %d %s", st, html)
		}
		if st, body := p.post("intent", map[string]any{}); st != 409 || errCode(body) != "link_paid" {
			t.Errorf("second payment: %d %v", st, body)
		}
		if len(f.intents(acct(m))) != 1 {
			t.Error("a second PaymentIntent was made")
		}
		if r := f.Do("POST", "/v1/checkout_links/"+l.ID+"/cancel", nil); r.Status != 409 || r.Err().Code != "checkout_link_paid" {
			t.Errorf("cancel a paid link: %d %s", r.Status, r.Body)
		}

		// Tokens Tender never gave.
		for _, u := range []string{f.Server.URL + "/checkout/nope", linkURL + "x"} {
			q, st, html := f.open(u)
			if st != 404 || !strings.Contains(html, "link_invalid") {
				t.Errorf("%s: %d", u, st)
			}
			q.csrf = "x"
			if st, body := q.post("complete", map[string]any{}); st != 403 && st != 404 {
				t.Errorf("%s complete: %d %v", u, st, body)
			}
		}
	})
}

// TestCheckoutDeclinesAnd3DS: a declined card leaves the link open with
// the decline on the payment, and the next card confirms the same
// PaymentIntent; a 3-D Secure card whose challenge fails is a decline
// too, and one whose challenge completes pays.
func TestCheckoutDeclinesAnd3DS(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Florist")
		l := f.link(map[string]any{"merchant": m.ID, "amount": 1800, "currency": "usd"})
		p, _, _ := f.open(*l.URL)

		intent := p.intent(false, "")
		p.confirm(intent, "pm_card_chargeDeclinedInsufficientFunds", "")
		got := p.complete()
		if got["status"] != "open" || got["message"] != "Your card has insufficient funds." {
			t.Fatalf("after a decline: %v", got)
		}
		l = f.getLink(l.ID)
		pay := f.payment(*l.Payment)
		if l.Status != checkout.StatusOpen || pay.Status != payment.StatusProcessing || pay.Failure == nil ||
			pay.Failure.DeclineCode == nil || *pay.Failure.DeclineCode != "insufficient_funds" {
			t.Fatalf("link %+v, payment %+v", l, pay)
		}
		if _, html := p.get(); !strings.Contains(html, "Your card has insufficient funds.") {
			t.Error("the page does not show the last decline")
		}

		intent2 := p.intent(false, "")
		if intent2["client_secret"] != intent["client_secret"] {
			t.Error("a new PaymentIntent after a decline; the same one can be confirmed again")
		}
		p.confirm(intent2, "pm_card_threeDSecure2Required", "fail")
		if got := p.complete(); got["status"] != "open" || !strings.Contains(got["message"].(string), "bank could not confirm") {
			t.Fatalf("after a failed challenge: %v", got)
		}
		p.confirm(p.intent(false, ""), "pm_card_threeDSecure2Required", "complete")
		if got := p.complete(); got["status"] != "paid" {
			t.Fatalf("after a completed challenge: %v", got)
		}
		pay = f.payment(pay.ID)
		if pay.Status != payment.StatusSucceeded || pay.Failure != nil || pay.Attempt != 1 {
			t.Fatalf("payment %+v", pay)
		}
		if pis := f.intents(acct(m)); len(pis) != 1 || pis[0].Status != stripe.PaymentIntentStatusSucceeded {
			t.Fatalf("intents %+v", pis)
		}
		if f.events(payment.EventPaymentFailed, pay.ID) != 0 {
			t.Error("a decline the payer could retry was recorded as a failed payment")
		}
	})
}

// TestCheckoutSaveCard: a link naming a customer offers to save the card;
// ticked, the payment is a destination charge on the platform with the
// customer and setup_future_usage, and once it succeeds the card is in
// the wallet with the merchant's off-session consent and its evidence; an
// off-session API payment with it then succeeds. Unticking after a first
// try moves to a new attempt and cancels the first PaymentIntent.
func TestCheckoutSaveCard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.merchant("Dairy")
		c := f.customer()
		l := f.link(map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 4200, "currency": "usd"})
		p, _, html := f.open(*l.URL)
		text := "Save this card, and allow Dairy to charge it when I'm not there"
		if !strings.Contains(html, `id="save-card"`) || !strings.Contains(html, strings.ReplaceAll(text, "'", "&#39;")) {
			t.Fatalf("no consent box: %s", html)
		}
		if st, body := p.post("intent", map[string]any{"save_card": true, "consent_text": "Save it"}); st != 409 || errCode(body) != "page_outdated" {
			t.Errorf("consent with another text: %d %v", st, body)
		}

		first := p.intent(false, "") // a direct charge first
		saving := p.intent(true, text)
		if saving["stripe_account"] != "" || saving["client_secret"] == first["client_secret"] {
			t.Fatalf("saving intent %v", saving)
		}
		if pis := f.intents(acct(m)); len(pis) != 1 || pis[0].Status != stripe.PaymentIntentStatusCanceled {
			t.Fatalf("the direct attempt's PaymentIntent was not canceled: %+v", pis)
		}
		p.confirm(saving, "pm_card_visa", "")
		if got := p.complete(); got["status"] != "paid" {
			t.Fatalf("complete: %v", got)
		}
		l = f.getLink(l.ID)
		pay := f.payment(*l.Payment)
		if pay.Status != payment.StatusSucceeded || pay.ChargeType != payment.ChargeDestination || pay.Attempt != 2 ||
			pay.Customer == nil || *pay.Customer != c.ID || pay.PaymentMethod == nil {
			t.Fatalf("payment %+v", pay)
		}
		pi := f.intents("")[0]
		if pi.Customer == nil || pi.SetupFutureUsage != "off_session" || pi.TransferData == nil || pi.TransferData.Destination.ID != acct(m) ||
			pi.OnBehalfOf == nil || pi.OnBehalfOf.ID != acct(m) {
			t.Fatalf("platform intent %+v", pi)
		}
		pms, err := f.App.Wallet.PaymentMethods(ctx, f.PlatformID, c.ID)
		if err != nil || len(pms) != 1 || pms[0].Last4 != "4242" || pms[0].ID != *pay.PaymentMethod {
			t.Fatalf("wallet %+v %v", pms, err)
		}
		cs, err := f.App.Wallet.Consents(ctx, f.PlatformID, c.ID)
		if err != nil || len(cs) != 1 || cs[0].MerchantID != m.ID || cs[0].PaymentMethodID != pms[0].ID || cs[0].Evidence.Text != text ||
			cs[0].Evidence.IPAddress != "127.0.0.1" || cs[0].Evidence.UserAgent == "" {
			t.Fatalf("consents %+v %v", cs, err)
		}

		var later payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "payment_method": pms[0].ID, "amount": 900,
			"currency": "usd", "off_session": true}, 200, &later)
		if err := f.App.Payments.Process(ctx, f.PlatformID, later.ID); err != nil {
			t.Fatal(err)
		}
		if later = f.payment(later.ID); later.Status != payment.StatusSucceeded {
			t.Fatalf("off-session payment with the saved card: %+v", later)
		}
	})
}

// TestCheckoutExpiredAndCanceled: a link past its end is expired (its page
// says so, it cannot be paid), and the job records it, cancels the
// PaymentIntent the payer left and the payment with it; a canceled link
// likewise, and canceling twice is harmless.
func TestCheckoutExpiredAndCanceled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.merchant("Butcher")

		l := f.link(map[string]any{"merchant": m.ID, "amount": 1000, "currency": "usd", "expires_at": f.clock.Now().Add(10 * time.Minute)})
		p, _, _ := f.open(*l.URL)
		intent := p.intent(false, "")
		p.confirm(intent, "pm_card_chargeDeclined", "")
		p.complete()
		f.clock.Advance(11 * time.Minute)
		if got := f.getLink(l.ID); got.Status != checkout.StatusExpired {
			t.Errorf("past its end the link is %s", got.Status)
		}
		if st, html := p.get(); st != 410 || !strings.Contains(html, "link_expired") {
			t.Errorf("expired page: %d", st)
		}
		if st, body := p.post("intent", map[string]any{}); st != 410 || errCode(body) != "link_expired" {
			t.Errorf("intent on an expired link: %d %v", st, body)
		}
		// The payment's job (scheduled at the link's end, or requeued by
		// the janitor) closes it; the link's own expiry job then finds
		// nothing to do.
		l = f.getLink(l.ID)
		if err := f.App.Payments.Process(ctx, f.PlatformID, *l.Payment); err != nil {
			t.Fatal(err)
		}
		if err := f.App.Checkout.ExpireLink(ctx, f.PlatformID, l.ID); err != nil {
			t.Fatal(err)
		}
		l = f.getLink(l.ID)
		pay := f.payment(*l.Payment)
		if pay.Status != payment.StatusCanceled || f.events(checkout.EventLinkExpired, l.ID) != 1 || f.events(payment.EventPaymentCanceled, pay.ID) != 1 {
			t.Fatalf("after expiry: link %+v payment %+v", l, pay)
		}
		if pis := f.intents(acct(m)); len(pis) != 1 || pis[0].Status != stripe.PaymentIntentStatusCanceled {
			t.Fatalf("intents %+v", pis)
		}
		if r := f.Do("POST", "/v1/checkout_links/"+l.ID+"/cancel", nil); r.Status != 409 || r.Err().Code != "checkout_link_expired" {
			t.Errorf("cancel an expired link: %d %s", r.Status, r.Body)
		}
		if err := f.App.Payments.Process(ctx, f.PlatformID, pay.ID); err != nil {
			t.Errorf("the job after expiry: %v", err)
		}

		// Canceled with a PaymentIntent made, and one without.
		for _, started := range []bool{true, false} {
			l := f.link(map[string]any{"merchant": m.ID, "amount": 1000, "currency": "usd"})
			p, _, _ := f.open(*l.URL)
			if started {
				p.intent(false, "")
			}
			var got checkout.LinkView
			f.Post("/v1/checkout_links/"+l.ID+"/cancel", nil, 200, &got)
			if got.Status != checkout.StatusCanceled || f.events(checkout.EventLinkCanceled, l.ID) != 1 {
				t.Fatalf("canceled link %+v", got)
			}
			f.Post("/v1/checkout_links/"+l.ID+"/cancel", nil, 200, &got)
			if f.events(checkout.EventLinkCanceled, l.ID) != 1 {
				t.Error("canceling twice recorded twice")
			}
			if started {
				if pay := f.payment(*got.Payment); pay.Status != payment.StatusCanceled {
					t.Errorf("payment of a canceled link: %+v", pay)
				}
			}
			if st, html := p.get(); st != 410 || !strings.Contains(html, "link_canceled") {
				t.Errorf("canceled page: %d", st)
			}
			if st, body := p.post("intent", map[string]any{}); st != 410 || errCode(body) != "link_canceled" {
				t.Errorf("intent on a canceled link: %d %v", st, body)
			}
		}
	})
}

// TestAuthenticationLink: an off-session payment the bank wants
// authenticated is requires_action with an authentication link in its
// view and its event; on the page the customer confirms on-session and
// completes the challenge, and the payment succeeds; the link then shows
// the outcome and starts nothing. Failing the challenge fails the
// payment.
func TestAuthenticationLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m := f.merchant("Grocer")
		for _, tt := range []struct {
			challenge string
			status    payment.Status
		}{{"complete", payment.StatusSucceeded}, {"fail", payment.StatusFailed}} {
			c := f.customer()
			pm := f.saveCard(c.ID, "pm_card_authenticationRequired")
			f.Post("/v1/customers/"+c.ID+"/consents", map[string]any{"merchant": m.ID,
				"evidence": map[string]string{"text": "I allow it.", "text_version": "1"}}, 200, nil)
			var pay payment.View
			f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "payment_method": pm.ID, "amount": 3100,
				"currency": "usd", "off_session": true}, 200, &pay)
			if err := f.App.Payments.Process(ctx, f.PlatformID, pay.ID); err != nil {
				t.Fatal(err)
			}
			pay = f.payment(pay.ID)
			if pay.Status != payment.StatusRequiresAction || pay.NextAction == nil || pay.NextAction.Type != "authenticate" ||
				!strings.HasPrefix(pay.NextAction.URL, f.Server.URL+"/authenticate/pal_") {
				t.Fatalf("payment %+v", pay)
			}
			var data struct {
				NextAction *payment.NextActionView `json:"next_action"`
			}
			var raw string
			if err := f.App.DB.QueryRowContext(ctx, `SELECT data FROM events WHERE type = $1 AND object_id = $2`,
				string(payment.EventPaymentRequiresAction), pay.ID).Scan(&raw); err != nil {
				t.Fatal(err)
			}
			if json.Unmarshal([]byte(raw), &data); data.NextAction == nil || data.NextAction.URL != pay.NextAction.URL {
				t.Fatalf("event's next_action %+v, want %+v", data.NextAction, pay.NextAction)
			}

			p, st, html := f.open(pay.NextAction.URL)
			if st != 200 || !strings.Contains(html, "31.00 USD") || !strings.Contains(html, "Grocer") {
				t.Fatalf("page %d %s", st, html)
			}
			st, intent := p.post("intent", map[string]any{})
			if st != 200 || intent["action"] != "confirm" || intent["payment_method"] == "" || intent["stripe_account"] != acct(m) {
				t.Fatalf("intent %d %v", st, intent)
			}
			p.confirm(intent, intent["payment_method"].(string), tt.challenge)
			if got := p.complete(); got["status"] != string(tt.status) {
				t.Fatalf("%s: complete %v", tt.challenge, got)
			}
			pay = f.payment(pay.ID)
			if pay.Status != tt.status || pay.NextAction != nil {
				t.Fatalf("%s: payment %+v", tt.challenge, pay)
			}
			typ := payment.EventPaymentSucceeded
			if tt.status == payment.StatusFailed {
				typ = payment.EventPaymentFailed
			}
			if f.events(typ, pay.ID) != 1 {
				t.Errorf("%s: no %s event", tt.challenge, typ)
			}
			// Used again: the outcome, and nothing to start.
			if st, html := p.get(); st != 200 || !strings.Contains(html, `id="outcome"`) || strings.Contains(html, "<script") {
				t.Errorf("%s: page after: %d %s", tt.challenge, st, html)
			}
			if st, body := p.post("intent", map[string]any{}); st != 409 || errCode(body) != "payment_settled" {
				t.Errorf("%s: intent after: %d %v", tt.challenge, st, body)
			}
		}
		if _, st, _ := f.open(f.Server.URL + "/authenticate/pal_x.forged"); st != 404 {
			t.Errorf("forged token: %d", st)
		}
	})
}

// acct is the merchant's connected account.
func acct(m connect.MerchantView) string { return *m.Connection.AccountID }

// TestCheckoutTwoTabs: two tabs pressing Pay on the same link at once get
// one payment and one PaymentIntent; the tab that confirms second is
// refused by Stripe and both end on the receipt.
func TestCheckoutTwoTabs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Cheesemonger")
		l := f.link(map[string]any{"merchant": m.ID, "amount": 700, "currency": "usd"})
		a, _, _ := f.open(*l.URL)
		b, _, _ := f.open(*l.URL)
		intents := make([]map[string]any, 2)
		var wg sync.WaitGroup
		for i, p := range []*payer{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				js, _ := json.Marshal(map[string]any{})
				req, _ := http.NewRequest("POST", f.Server.URL+p.base+"/intent", strings.NewReader(string(js)))
				req.Header.Set("X-CSRF-Token", p.csrf)
				resp, err := p.client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				json.NewDecoder(resp.Body).Decode(&intents[i])
			}()
		}
		wg.Wait()
		if intents[0]["client_secret"] == nil || intents[0]["client_secret"] != intents[1]["client_secret"] {
			t.Fatalf("two tabs got %v and %v", intents[0], intents[1])
		}
		if n := f.count(`SELECT COUNT(*) FROM payments`); n != 1 {
			t.Fatalf("%d payments for one link", n)
		}
		if a.confirm(intents[0], "pm_card_visa", "") == nil {
			t.Fatal("the first confirmation failed")
		}
		ctx := context.Background()
		secret := intents[1]["client_secret"].(string)
		params := &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_mastercard")}
		params.SetStripeAccount(acct(m))
		if _, err := f.sc.V1PaymentIntents.Confirm(ctx, secret[:strings.Index(secret, "_secret_")], params); err == nil {
			t.Fatal("Stripe confirmed a PaymentIntent that had succeeded")
		}
		for _, p := range []*payer{b, a} {
			if got := p.complete(); got["status"] != "paid" {
				t.Errorf("complete: %v", got)
			}
		}
		pis := f.intents(acct(m))
		if len(pis) != 1 || pis[0].AmountReceived != 700 {
			t.Fatalf("intents %+v", pis)
		}
		if f.events(checkout.EventLinkPaid, l.ID) != 1 {
			t.Error("paid twice")
		}
	})
}

// TestAuthenticationLinkExpired: past AuthLinkTTL the payment's link
// leads to a page saying it has expired, starts nothing, and the payment
// no longer offers it as next_action.
func TestAuthenticationLinkExpired(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	ctx := context.Background()
	m := f.merchant("Grocer")
	c := f.customer()
	pm := f.saveCard(c.ID, "pm_card_authenticationRequired")
	f.Post("/v1/customers/"+c.ID+"/consents", map[string]any{"merchant": m.ID,
		"evidence": map[string]string{"text": "I allow it.", "text_version": "1"}}, 200, nil)
	var pay payment.View
	f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "payment_method": pm.ID, "amount": 1200,
		"currency": "usd", "off_session": true}, 200, &pay)
	if err := f.App.Payments.Process(ctx, f.PlatformID, pay.ID); err != nil {
		t.Fatal(err)
	}
	if pay = f.payment(pay.ID); pay.NextAction == nil {
		t.Fatalf("payment %+v", pay)
	}
	url := pay.NextAction.URL
	f.clock.Advance(checkout.AuthLinkTTL + time.Minute)
	p, st, html := f.open(url)
	if st != 410 || !strings.Contains(html, "link_expired") {
		t.Errorf("expired link's page: %d", st)
	}
	// The expired page sets no CSRF cookie, so its form cannot even be sent.
	if st, body := p.post("intent", map[string]any{}); st != 403 && st != 410 {
		t.Errorf("intent on an expired link: %d %v", st, body)
	}
	if pay = f.payment(pay.ID); pay.Status != payment.StatusRequiresAction || pay.NextAction != nil {
		t.Errorf("payment after its link expired %+v", pay)
	}
}
