package emulator_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"
)

// challenge fetches or posts the challenge page of id as a browser does
// and returns the status, the Location header and the page.
func (e *env) challenge(method, id string, form url.Values) (int, string, string) {
	e.tb.Helper()
	var body io.Reader
	path := e.ts.URL + "/_emulator/authenticate/" + id
	if method == http.MethodGet && form != nil {
		path += "?" + form.Encode()
	} else if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, path, body)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		e.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// TestChallengeEvents: completing or failing a challenge changes the intent
// and announces it with the events Stripe sends, each one accepted by
// stripe-go's webhook.ConstructEvent.
func TestChallengeEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, realClock)
	rc := newReceiver(t, 0)
	we := e.endpoint(rc.ts.URL, false, "setup_intent.succeeded", "setup_intent.setup_failed",
		"payment_intent.succeeded", "payment_intent.payment_failed", "charge.succeeded", "payment_method.attached")
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "customer")
	setup := func() *stripe.SetupIntent {
		si, err := e.sc.V1SetupIntents.Create(ctx(), &stripe.SetupIntentCreateParams{Customer: stripe.String(cu.ID),
			PaymentMethod: stripe.String("pm_card_authenticationRequired"), Confirm: stripe.Bool(true)})
		mustf(t, err, "setup")
		return si
	}
	pay := func() *stripe.PaymentIntent {
		pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(2500),
			Currency: stripe.String("eur"), PaymentMethod: stripe.String("pm_card_threeDSecure2Required"), Confirm: stripe.Bool(true)})
		mustf(t, err, "payment")
		return pi
	}
	e.authenticate(setup().ID, "complete")
	e.authenticate(setup().ID, "fail")
	e.authenticate(pay().ID, "complete")
	e.authenticate(pay().ID, "fail")

	want := map[string]int{"payment_method.attached": 1, "setup_intent.succeeded": 1, "setup_intent.setup_failed": 1,
		"charge.succeeded": 1, "payment_intent.succeeded": 1, "payment_intent.payment_failed": 1}
	got := map[string]int{}
	for _, d := range rc.waitDeliveries(t, 6) {
		validateEventBody(t, d.body)
		ev, err := webhook.ConstructEvent(d.body, d.sig, we.Secret)
		mustf(t, err, "ConstructEvent")
		got[string(ev.Type)]++
		switch ev.Type {
		case "setup_intent.setup_failed":
			if code := ev.Data.Object["last_setup_error"].(map[string]any)["code"]; code != "setup_intent_authentication_failure" {
				t.Errorf("setup_failed with %v", code)
			}
		case "payment_intent.payment_failed":
			if code := ev.Data.Object["last_payment_error"].(map[string]any)["code"]; code != "payment_intent_authentication_failure" {
				t.Errorf("payment_failed with %v", code)
			}
		}
	}
	for typ, n := range want {
		if got[typ] != n {
			t.Errorf("%d %s events, want %d (all: %v)", got[typ], typ, n, got)
		}
	}
}

// TestChallengePage: the page shows the payment and its two buttons, and
// reports nothing left to do for an intent that is not waiting.
func TestChallengePage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1999),
		Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_authenticationRequired"), Confirm: stripe.Bool(true)})
	mustf(t, err, "payment")
	status, _, page := e.challenge("GET", pi.ID, nil)
	for _, s := range []string{`id="complete"`, `id="fail"`, "19.99 USD", pi.ID} {
		if !strings.Contains(page, s) {
			t.Errorf("challenge page (%d) lacks %s", status, s)
		}
	}
	if strings.Contains(page, `name="origin"`) {
		t.Error("a whole-page challenge carries an origin")
	}
	if status, _, _ = e.challenge("GET", pi.ID, url.Values{"origin": {"javascript:alert(1)"}}); status != 400 {
		t.Errorf("a javascript: origin: %d", status)
	}
	if status, _, _ = e.challenge("GET", "pi_missing", nil); status != 404 {
		t.Errorf("unknown intent: %d", status)
	}

	// A browser that posts without a return_url sees the result, not JSON.
	status, _, page = e.challenge("POST", pi.ID, url.Values{"outcome": {"complete"}})
	if status != 200 || !strings.Contains(page, "Authentication completed.") || !strings.Contains(page, ">succeeded<") {
		t.Fatalf("after Complete: %d %s", status, page)
	}
	status, _, page = e.challenge("GET", pi.ID, nil)
	if strings.Contains(page, `id="complete"`) || !strings.Contains(page, "Nothing to authenticate") {
		t.Fatalf("a succeeded intent still asks: %d %s", status, page)
	}
}

// TestChallengeInModal: in Stripe.js's modal the page carries the
// embedding page's origin through the form and answers with a page that
// reports back to it, never a redirect.
func TestChallengeInModal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	si, err := e.sc.V1SetupIntents.Create(ctx(), &stripe.SetupIntentCreateParams{PaymentMethod: stripe.String("pm_card_authenticationRequired"),
		Confirm: stripe.Bool(true), ReturnURL: stripe.String("https://shop.example/back")})
	mustf(t, err, "setup")
	origin := url.Values{"origin": {"http://shop.example:8080"}}
	_, _, page := e.challenge("GET", si.ID, origin)
	if !strings.Contains(page, `name="origin" value="http://shop.example:8080"`) || !strings.Contains(page, `data-pending="true"`) {
		t.Fatalf("modal page: %s", page)
	}
	status, loc, page := e.challenge("POST", si.ID, url.Values{"outcome": {"fail"}, "origin": origin["origin"]})
	if status != 200 || loc != "" || !strings.Contains(page, `data-origin="http://shop.example:8080"`) ||
		!strings.Contains(page, `data-outcome="fail"`) || !strings.Contains(page, `data-pending=""`) {
		t.Fatalf("modal answer: %d %q %s", status, loc, page)
	}
}

// TestChallengeRedirect: a whole-page challenge sends the browser to the
// return_url with Stripe's parameters.
func TestChallengeRedirect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, outcome := range []string{"complete", "fail"} {
		pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000),
			Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_authenticationRequiredOnSetup"), Confirm: stripe.Bool(true),
			ReturnURL: stripe.String("https://shop.example/done?order=9")})
		mustf(t, err, "payment")
		if pi.NextAction == nil || pi.NextAction.RedirectToURL == nil {
			t.Fatalf("next_action %+v", pi.NextAction)
		}
		status, loc, _ := e.challenge("POST", pi.ID, url.Values{"outcome": {outcome}})
		u, err := url.Parse(loc)
		if status != http.StatusSeeOther || err != nil || u.Host != "shop.example" {
			t.Fatalf("%s: %d %q", outcome, status, loc)
		}
		q := u.Query()
		wantStatus := map[string]string{"complete": "succeeded", "fail": "failed"}[outcome]
		if q.Get("order") != "9" || q.Get("payment_intent") != pi.ID || q.Get("payment_intent_client_secret") != pi.ClientSecret ||
			q.Get("redirect_status") != wantStatus {
			t.Fatalf("%s: return to %s", outcome, loc)
		}
	}
}
