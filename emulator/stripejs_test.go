package emulator_test

import (
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/browsertest"
)

// checkoutSite is a merchant's site on its own origin, with a checkout page
// written as against real Stripe.js but for the script's URL. It records
// every request it receives, so a test can prove no card number reached it.
type checkoutSite struct {
	tb       testing.TB
	ts       *httptest.Server
	emulator string
	mu       sync.Mutex
	requests []string
}

// checkoutPage confirms, creates or authenticates as its mode says, and
// shows the result: result.setupIntent, result.paymentIntent,
// result.paymentMethod or result.error, as a page would.
var checkoutPage = template.Must(template.New("checkout").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Checkout</title>
<script src="{{.Script}}"></script>
<style>
  body { font-family: sans-serif; margin: 24px; }
  #card-element { width: 520px; padding: 12px; border: 1px solid #ccd; border-radius: 4px; }
  #card-element.StripeElement--focus { border-color: #635bff; }
  #card-element.StripeElement--invalid { border-color: #e25950; }
  #error { color: #e25950; min-height: 1.2em; }
</style></head>
<body>
<form id="payment-form">
  <div id="card-element"></div>
  <p id="error" role="alert"></p>
  <button id="pay" type="submit">Pay</button>
</form>
<p id="result"></p>
<script>
  const stripe = Stripe({{.Key}}{{if .Account}}, {stripeAccount: {{.Account}}}{{end}});
  const elements = stripe.elements();
  const card = elements.create('card', {style: {base: {fontSize: '16px', color: '#32325d', '::placeholder': {color: '#aab7c4'}}}});
  card.mount('#card-element');
  const changes = [];
  card.on('ready', () => { document.body.dataset.ready = 'true'; });
  card.on('change', (event) => {
    changes.push(event);
    document.getElementById('error').textContent = event.error ? event.error.message : '';
  });
  const mode = {{.Mode}};
  const clientSecret = {{.Secret}};

  function show(result) {
    const out = document.getElementById('result');
    if (result.error) {
      document.getElementById('error').textContent = result.error.message;
      out.textContent = 'error ' + result.error.code + (result.error.decline_code ? ' ' + result.error.decline_code : '');
    } else {
      const o = result.setupIntent || result.paymentIntent || result.paymentMethod;
      out.textContent = o.object + ' ' + (o.status || o.id);
    }
    document.body.dataset.result = JSON.stringify(result);
    document.body.dataset.done = 'true';
  }

  document.getElementById('payment-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    let result;
    switch (mode) {
    case 'setup':
      result = await stripe.confirmCardSetup(clientSecret, {payment_method: {card: card, billing_details: {name: 'Ada Lovelace'}}});
      break;
    case 'payment':
      result = await stripe.confirmCardPayment(clientSecret, {payment_method: {card: card}});
      break;
    case 'create':
      result = await stripe.createPaymentMethod({type: 'card', card: card, billing_details: {name: 'Ada Lovelace', email: 'ada@example.com'}});
      break;
    case 'redirect':
      result = await stripe.confirmCardSetup(clientSecret, {payment_method: {card: card}, return_url: {{.ReturnURL}}}, {handleActions: false});
      if (result.setupIntent && result.setupIntent.status === 'requires_action') {
        window.location.assign(result.setupIntent.next_action.redirect_to_url.url);
        return;
      }
      break;
    case 'card-action':
      result = await stripe.handleCardAction(clientSecret);
      break;
    case 'next-action':
      result = await stripe.handleNextAction({clientSecret: clientSecret});
      break;
    }
    show(result);
  });
</script>
</body></html>`))

// returnPage is where a redirect challenge sends the customer back.
var returnPage = template.Must(template.New("return").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Back at the shop</title><script src="{{.Script}}"></script></head>
<body><p id="result"></p>
<script>
  const stripe = Stripe({{.Key}});
  const params = new URLSearchParams(window.location.search);
  stripe.retrieveSetupIntent(params.get('setup_intent_client_secret')).then((result) => {
    document.getElementById('result').textContent = params.get('redirect_status') + ' ' +
      (result.error ? result.error.message : result.setupIntent.status);
    document.body.dataset.done = 'true';
  });
</script></body></html>`))

type checkoutData struct {
	Script, Key, Account, Mode, Secret, ReturnURL string
}

func newCheckoutSite(tb testing.TB, e *env) *checkoutSite {
	s := &checkoutSite{tb: tb, emulator: e.ts.URL}
	s.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dump, _ := httputil.DumpRequest(r, true)
		s.mu.Lock()
		s.requests = append(s.requests, string(dump))
		s.mu.Unlock()
		q := r.URL.Query()
		data := checkoutData{Script: e.ts.URL + "/v3/", Key: emulator.DefaultPublishableKey, Account: q.Get("account"),
			Mode: q.Get("mode"), Secret: q.Get("secret"), ReturnURL: "http://" + r.Host + "/return"}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/checkout":
			_ = checkoutPage.Execute(w, data)
		case "/return":
			_ = returnPage.Execute(w, data)
		default:
			http.NotFound(w, r)
		}
	}))
	tb.Cleanup(s.ts.Close)
	return s
}

// url is the checkout page in mode for the intent's client secret.
func (s *checkoutSite) url(mode, secret, account string) string {
	return s.ts.URL + "/checkout?" + url.Values{"mode": {mode}, "secret": {secret}, "account": {account}}.Encode()
}

// assertNoCardNumbers fails the test if any request the shop received
// carried a test card number, in any spelling a form or URL gives it.
func (s *checkoutSite) assertNoCardNumbers() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		s.tb.Fatal("the shop saw no request at all")
	}
	numbers := []string{"4242424242424242", "4000002760003184", "4000002500003155", "4000000000000002", "4242424242424241"}
	for _, req := range s.requests {
		squeezed := strings.NewReplacer(" ", "", "+", "", "%20", "", "-", "").Replace(req)
		for _, n := range numbers {
			if strings.Contains(squeezed, n) {
				s.tb.Fatalf("the shop's server received card number %s:\n%s", n, req)
			}
		}
	}
}

// openCheckout loads the checkout page and waits for the card Element.
func openCheckout(b *browsertest.Browser, pageURL string) {
	b.Do(chromedp.Navigate(pageURL), chromedp.WaitReady(chromedp.CSS("body[data-ready]")))
}

// inFrame returns a query option for queries inside the iframe matching
// sel, once the iframe holds its page from the emulator: before that its
// document is the initial about:blank, where no query ever matches.
func inFrame(t testing.TB, b *browsertest.Browser, sel string) chromedp.QueryOption {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		nodes := browsertest.Run(b, chromedp.Nodes(chromedp.CSS(sel), chromedp.Populate(1, true)))
		n := nodes[0]
		n.RLock()
		doc := n.ContentDocument
		n.RUnlock()
		if doc != nil {
			doc.RLock()
			loaded := strings.HasPrefix(doc.DocumentURL, "http")
			doc.RUnlock()
			if loaded {
				return chromedp.FromNode(n)
			}
		}
		if time.Now().After(deadline) {
			b.Shot("frame not loaded")
			t.Fatalf("the iframe %s did not load", sel)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// typeCard types a card into the card Element's fields, in its iframe.
func typeCard(t testing.TB, b *browsertest.Browser, number, exp, cvc, postal string) {
	t.Helper()
	in := inFrame(t, b, "#card-element iframe")
	b.Do(
		chromedp.SendKeys(chromedp.CSS("input[name=cardnumber]"), number, in),
		chromedp.SendKeys(chromedp.CSS("input[name=exp-date]"), exp, in),
		chromedp.SendKeys(chromedp.CSS("input[name=cvc]"), cvc, in),
		chromedp.SendKeys(chromedp.CSS("input[name=postal]"), postal, in),
	)
	b.Shot("card element")
}

// pressPay presses Pay, after forgetting any earlier result.
func pressPay(b *browsertest.Browser) {
	b.Do(chromedp.Evaluate[chromedp.Void](`delete document.body.dataset.done`), chromedp.Click(chromedp.ID("pay")))
}

// pageResult waits for the page's result line. It waits by query, which
// survives the navigations of a redirect.
func pageResult(b *browsertest.Browser) string {
	b.Do(chromedp.WaitReady(chromedp.CSS("body[data-done]")))
	return browsertest.Run(b, chromedp.Text(chromedp.ID("result")))
}

// answerChallenge presses Complete or Fail in the 3-D Secure modal.
func answerChallenge(t testing.TB, b *browsertest.Browser, button string) {
	t.Helper()
	in := inFrame(t, b, `iframe[src*="/_emulator/authenticate/"]`)
	b.Do(chromedp.WaitVisible(chromedp.ID(button), in))
	b.Shot("challenge")
	b.Do(chromedp.Click(chromedp.ID(button), in))
}

func newBrowserEnv(t *testing.T) (*env, *checkoutSite, *browsertest.Browser) {
	b := browsertest.New(t)
	e := newEnv(t, realClock)
	return e, newCheckoutSite(t, e), b
}

func newSetupIntent(t *testing.T, e *env) (*stripe.Customer, *stripe.SetupIntent) {
	t.Helper()
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{Email: stripe.String("ada@example.com")})
	mustf(t, err, "customer")
	si, err := e.sc.V1SetupIntents.Create(ctx(), &stripe.SetupIntentCreateParams{Customer: stripe.String(cu.ID)})
	mustf(t, err, "setup intent")
	return cu, si
}

// TestStripeJSConfirmCardSetup: a card typed into the card Element is saved
// to the customer by confirmCardSetup; no card number reaches the shop.
func TestStripeJSConfirmCardSetup(t *testing.T) {
	e, shop, b := newBrowserEnv(t)
	cu, si := newSetupIntent(t, e)
	openCheckout(b, shop.url("setup", si.ClientSecret, ""))
	typeCard(t, b, "4242424242424242", "1234", "123", "10001")
	pressPay(b)
	if got := pageResult(b); got != "setup_intent succeeded" {
		t.Fatalf("page shows %q", got)
	}
	si, err := e.sc.V1SetupIntents.Retrieve(ctx(), si.ID, nil)
	mustf(t, err, "retrieve")
	if si.Status != stripe.SetupIntentStatusSucceeded || si.PaymentMethod == nil {
		t.Fatalf("setup intent %s", si.Status)
	}
	pm, err := e.sc.V1PaymentMethods.Retrieve(ctx(), si.PaymentMethod.ID, nil)
	mustf(t, err, "payment method")
	if pm.Customer == nil || pm.Customer.ID != cu.ID || pm.Card.Last4 != "4242" || pm.Card.ExpMonth != 12 ||
		pm.Card.ExpYear != 2034 || pm.BillingDetails.Name != "Ada Lovelace" {
		t.Fatalf("saved card %+v %+v", pm.Card, pm.BillingDetails)
	}
	shop.assertNoCardNumbers()
}

// TestStripeJSChallengeComplete: a card that always asks for
// authentication shows the challenge in Stripe.js's modal; Complete
// finishes the setup.
func TestStripeJSChallengeComplete(t *testing.T) {
	e, shop, b := newBrowserEnv(t)
	cu, si := newSetupIntent(t, e)
	openCheckout(b, shop.url("setup", si.ClientSecret, ""))
	typeCard(t, b, "4000002760003184", "1234", "123", "10001")
	pressPay(b)
	answerChallenge(t, b, "complete")
	if got := pageResult(b); got != "setup_intent succeeded" {
		t.Fatalf("page shows %q", got)
	}
	pms := all(t, e.sc.V1PaymentMethods.List(ctx(), &stripe.PaymentMethodListParams{Customer: stripe.String(cu.ID)}).All(ctx()))
	if len(pms) != 1 || pms[0].Card.Last4 != "3184" {
		t.Fatalf("customer's cards: %d", len(pms))
	}
	shop.assertNoCardNumbers()
}

// TestStripeJSChallengeFail: Fail leaves the setup needing a new card and
// the page shows Stripe's error.
func TestStripeJSChallengeFail(t *testing.T) {
	e, shop, b := newBrowserEnv(t)
	_, si := newSetupIntent(t, e)
	openCheckout(b, shop.url("setup", si.ClientSecret, ""))
	typeCard(t, b, "4000002760003184", "1234", "123", "10001")
	pressPay(b)
	answerChallenge(t, b, "fail")
	if got := pageResult(b); got != "error setup_intent_authentication_failure" {
		t.Fatalf("page shows %q", got)
	}
	shown := browsertest.Run(b, chromedp.Text(chromedp.ID("error")))
	if !strings.Contains(shown, "authentication failed") {
		t.Fatalf("error shown: %q", shown)
	}
	si, err := e.sc.V1SetupIntents.Retrieve(ctx(), si.ID, nil)
	mustf(t, err, "retrieve")
	if si.Status != stripe.SetupIntentStatusRequiresPaymentMethod || si.LastSetupError == nil {
		t.Fatalf("setup intent %s", si.Status)
	}
	shop.assertNoCardNumbers()
}

// TestStripeJSDecline: a declined card resolves to {error} with the
// decline code, and the page shows the message.
func TestStripeJSDecline(t *testing.T) {
	e, shop, b := newBrowserEnv(t)
	_, si := newSetupIntent(t, e)
	openCheckout(b, shop.url("setup", si.ClientSecret, ""))
	typeCard(t, b, "4000000000000002", "1234", "123", "10001")
	pressPay(b)
	if got := pageResult(b); got != "error card_declined generic_decline" {
		t.Fatalf("page shows %q", got)
	}
	if shown := browsertest.Run(b, chromedp.Text(chromedp.ID("error"))); shown != "Your card was declined." {
		t.Fatalf("error shown: %q", shown)
	}
	b.Shot("declined")
	shop.assertNoCardNumbers()
}

// TestStripeJSConfirmCardPayment: confirmCardPayment pays with a plain
// card, and with one that asks for authentication on the Stripe-Account
// of a connected account.
func TestStripeJSConfirmCardPayment(t *testing.T) {
	e, shop, b := newBrowserEnv(t)
	acct := e.connected()
	for _, c := range []struct {
		number, account string
		challenge       bool
	}{
		{"4242424242424242", "", false},
		{"4000002500003155", acct, true},
	} {
		params := &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(2000), Currency: stripe.String("eur")}
		retrieve := &stripe.PaymentIntentRetrieveParams{Expand: []*string{stripe.String("latest_charge")}}
		if c.account != "" {
			params.Params, retrieve.Params = onAccount(c.account), onAccount(c.account)
		}
		pi, err := e.sc.V1PaymentIntents.Create(ctx(), params)
		mustf(t, err, "payment intent")
		openCheckout(b, shop.url("payment", pi.ClientSecret, c.account))
		typeCard(t, b, c.number, "1234", "123", "10001")
		pressPay(b)
		if c.challenge {
			answerChallenge(t, b, "complete")
		}
		if got := pageResult(b); got != "payment_intent succeeded" {
			t.Fatalf("%s: page shows %q", c.number, got)
		}
		pi, err = e.sc.V1PaymentIntents.Retrieve(ctx(), pi.ID, retrieve)
		mustf(t, err, "retrieve")
		if pi.Status != stripe.PaymentIntentStatusSucceeded || pi.LatestCharge == nil || pi.LatestCharge.Amount != 2000 {
			t.Fatalf("%s: payment %s", c.number, pi.Status)
		}
	}
	shop.assertNoCardNumbers()
}

// TestStripeJSCreatePaymentMethod: createPaymentMethod returns the
// PaymentMethod the card Element's iframe created.
func TestStripeJSCreatePaymentMethod(t *testing.T) {
	e, shop, b := newBrowserEnv(t)
	openCheckout(b, shop.url("create", "", ""))
	typeCard(t, b, "4242424242424242", "1234", "123", "10001")
	pressPay(b)
	got := pageResult(b)
	id, ok := strings.CutPrefix(got, "payment_method ")
	if !ok {
		t.Fatalf("page shows %q", got)
	}
	pm, err := e.sc.V1PaymentMethods.Retrieve(ctx(), id, nil)
	mustf(t, err, "retrieve")
	if pm.Card.Last4 != "4242" || pm.BillingDetails.Email != "ada@example.com" {
		t.Fatalf("created %+v", pm.BillingDetails)
	}
	shop.assertNoCardNumbers()
}

// TestStripeJSChangeEvents: the Element reports brand, completeness and
// validation errors with Stripe.js's codes, and a submit with an invalid
// card is refused in the browser.
func TestStripeJSChangeEvents(t *testing.T) {
	_, shop, b := newBrowserEnv(t)
	openCheckout(b, shop.url("create", "", ""))
	in := inFrame(t, b, "#card-element iframe")
	b.Do(chromedp.SendKeys(chromedp.CSS("input[name=cardnumber]"), "4242424242424241", in))
	if shown := browsertest.Run(b, chromedp.Poll[string](`document.getElementById('error').textContent`)); shown != "Your card number is invalid." {
		t.Fatalf("error shown: %q", shown)
	}
	b.Shot("invalid number")
	last := browsertest.Run(b, chromedp.Evaluate[map[string]any](`changes[changes.length - 1]`))
	errObj, _ := last["error"].(map[string]any)
	if last["elementType"] != "card" || last["brand"] != "visa" || last["complete"] != false || last["empty"] != false ||
		errObj["type"] != "validation_error" || errObj["code"] != "invalid_number" {
		t.Fatalf("change event %v", last)
	}
	invalid := browsertest.Run(b, chromedp.Evaluate[bool](`document.getElementById('card-element').classList.contains('StripeElement--invalid')`))
	if !invalid {
		t.Fatal("the container lacks StripeElement--invalid")
	}

	b.Do(chromedp.Evaluate[chromedp.Void](`card.clear()`),
		chromedp.Poll[chromedp.Void](`changes.length > 0 && changes[changes.length - 1].empty`))
	b.Do(chromedp.SendKeys(chromedp.CSS("input[name=cardnumber]"), "3782822463", in),
		chromedp.SendKeys(chromedp.CSS("input[name=exp-date]"), "12", in))
	last = browsertest.Run(b, chromedp.Poll[map[string]any](`changes.length && changes[changes.length - 1].error && changes[changes.length - 1]`))
	errObj, _ = last["error"].(map[string]any)
	if last["brand"] != "amex" || errObj["code"] != "incomplete_number" {
		t.Fatalf("after leaving an incomplete number: %v", last)
	}
	pressPay(b)
	if got := pageResult(b); got != "error incomplete_number" {
		t.Fatalf("submitting an incomplete card: %q", got)
	}
	b.Do(chromedp.Evaluate[chromedp.Void](`card.clear()`),
		chromedp.SendKeys(chromedp.CSS("input[name=cardnumber]"), "4242424242424242", in),
		chromedp.SendKeys(chromedp.CSS("input[name=exp-date]"), "0120", in))
	last = browsertest.Run(b, chromedp.Poll[map[string]any](`changes.length && changes[changes.length - 1].error && changes[changes.length - 1]`))
	if errObj, _ = last["error"].(map[string]any); errObj["code"] != "invalid_expiry_year_past" ||
		errObj["message"] != "Your card's expiration year is in the past." {
		t.Fatalf("an expiry in the past: %v", last)
	}
	shop.assertNoCardNumbers()
}

// TestStripeJSRedirect: with handleActions false the page follows
// next_action.redirect_to_url itself; after Complete the browser comes back
// to the return_url with Stripe's parameters.
func TestStripeJSRedirect(t *testing.T) {
	e, shop, b := newBrowserEnv(t)
	_, si := newSetupIntent(t, e)
	openCheckout(b, shop.url("redirect", si.ClientSecret, ""))
	typeCard(t, b, "4000002760003184", "1234", "123", "10001")
	pressPay(b)
	b.Do(chromedp.WaitVisible(chromedp.ID("complete")))
	b.Shot("challenge page")
	b.Do(chromedp.Click(chromedp.ID("complete")))
	if got := pageResult(b); got != "succeeded succeeded" {
		t.Fatalf("return page shows %q", got)
	}
	loc := browsertest.Run(b, chromedp.Location())
	u, _ := url.Parse(loc)
	if u.Path != "/return" || u.Query().Get("setup_intent") != si.ID || u.Query().Get("setup_intent_client_secret") != si.ClientSecret {
		t.Fatalf("returned to %s", loc)
	}
	shop.assertNoCardNumbers()
}

// TestStripeJSHandleActions: handleCardAction and handleNextAction show the
// challenge for intents confirmed on the server.
func TestStripeJSHandleActions(t *testing.T) {
	e, shop, b := newBrowserEnv(t)
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000),
		Currency: stripe.String("usd"), ConfirmationMethod: stripe.String("manual"),
		PaymentMethod: stripe.String("pm_card_authenticationRequired"), Confirm: stripe.Bool(true)})
	mustf(t, err, "manual payment")
	openCheckout(b, shop.url("card-action", pi.ClientSecret, ""))
	pressPay(b)
	answerChallenge(t, b, "complete")
	if got := pageResult(b); got != "payment_intent requires_confirmation" {
		t.Fatalf("handleCardAction: page shows %q", got)
	}

	si, err := e.sc.V1SetupIntents.Create(ctx(), &stripe.SetupIntentCreateParams{
		PaymentMethod: stripe.String("pm_card_threeDSecure2Required"), Confirm: stripe.Bool(true)})
	mustf(t, err, "setup")
	openCheckout(b, shop.url("next-action", si.ClientSecret, ""))
	pressPay(b)
	answerChallenge(t, b, "complete")
	if got := pageResult(b); got != "setup_intent succeeded" {
		t.Fatalf("handleNextAction: page shows %q", got)
	}
	pressPay(b)
	if got := pageResult(b); got != "error setup_intent_unexpected_state" {
		t.Fatalf("handleNextAction on a succeeded intent: %q", got)
	}
}

// TestStripeJSServed: the script is at /v3/ and /v3, the card Element's
// frame and its assets on the emulator's origin with a policy that keeps
// card data there.
func TestStripeJSServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct{ path, typ, contains string }{
		{"/v3/", "text/javascript", "confirmCardSetup"},
		{"/v3", "text/javascript", "handleNextAction"},
		{"/_emulator/elements/card?id=x&origin=http%3A%2F%2Fshop.example", "text/html", `name="cardnumber"`},
		{"/_emulator/stripejs/card.js", "text/javascript", "create-payment-method"},
		{"/_emulator/stripejs/challenge.js", "text/javascript", "challenge-done"},
	} {
		resp, err := http.Get(e.ts.URL + c.path)
		mustf(t, err, "GET %s", c.path)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.typ) || !strings.Contains(string(b), c.contains) {
			t.Errorf("%s: %d %s", c.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if strings.Contains(c.path, "elements/card") && resp.Header.Get("Content-Security-Policy") != "default-src 'self'" {
			t.Errorf("%s: policy %q", c.path, resp.Header.Get("Content-Security-Policy"))
		}
	}
	resp, err := http.Get(e.ts.URL + "/_emulator/stripejs/secret.txt")
	mustf(t, err, "unknown asset")
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("unknown asset: %d", resp.StatusCode)
	}
}
