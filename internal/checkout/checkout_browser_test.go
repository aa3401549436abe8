package checkout_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/browsertest"
	"github.com/tenderpay/tender/internal/checkout"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/storetest"
)

// The payer's pages in headless Chromium, against the emulator's
// Stripe.js: cards are typed into the card Element's iframe and 3-D Secure
// challenges answered in Stripe.js's modal, as a payer would. Every
// request Tender's server receives is recorded, and each test ends by
// showing that no card number was among them.

// newPayBrowser starts Chromium (or skips) and Tender, recording what
// Tender's server receives.
func newPayBrowser(t *testing.T) (*fixture, *browsertest.Browser) {
	t.Helper()
	b := browsertest.New(t)
	f := newFixture(t, storetest.SQLite(t), apitest.RecordRequests())
	t.Cleanup(func() { f.assertNoCardNumbers() })
	return f, b
}

// cardNumbers are the test cards typed in these tests.
var cardNumbers = []string{"4242424242424242", "4000000000000002", "4000000000003220", "4000002760003184"}

// assertNoCardNumbers fails if any request Tender's server received
// carried a card number, in any spelling a form, JSON or URL gives it.
func (f *fixture) assertNoCardNumbers() {
	f.t.Helper()
	got := f.Received()
	if len(got) == 0 {
		f.t.Fatal("Tender's server received no request at all")
	}
	squeeze := strings.NewReplacer(" ", "", "+", "", "%20", "", "-", "", "\\u0020", "")
	for _, r := range got {
		all := r.String()
		for _, n := range cardNumbers {
			if strings.Contains(squeeze.Replace(all), n) {
				f.t.Errorf("Tender's server received card number %s:\n%s", n, all)
			}
		}
	}
}

// inFrame returns a query option for queries inside the iframe matching
// sel, once it holds its page from the emulator.
func inFrame(t *testing.T, b *browsertest.Browser, sel string) chromedp.QueryOption {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
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
	}
}

// pay types a card into the page's card Element and presses Pay.
func pay(t *testing.T, b *browsertest.Browser, number string) {
	t.Helper()
	b.Do(chromedp.WaitReady(chromedp.CSS("#pay[data-ready]")))
	in := inFrame(t, b, "#card-element iframe")
	b.Do(
		chromedp.SendKeys(chromedp.CSS("input[name=cardnumber]"), number, in),
		chromedp.SendKeys(chromedp.CSS("input[name=exp-date]"), "1234", in),
		chromedp.SendKeys(chromedp.CSS("input[name=cvc]"), "123", in),
		chromedp.SendKeys(chromedp.CSS("input[name=postal]"), "10001", in),
	)
	b.Shot("card typed " + number[len(number)-4:])
	b.Do(chromedp.Click(chromedp.ID("pay-button")))
}

// challenge answers the 3-D Secure challenge in Stripe.js's modal.
func challenge(t *testing.T, b *browsertest.Browser, button string) {
	t.Helper()
	in := inFrame(t, b, `iframe[src*="/_emulator/authenticate/"]`)
	b.Do(chromedp.WaitVisible(chromedp.ID(button), in))
	b.Shot("3-D Secure challenge")
	b.Do(chromedp.Click(chromedp.ID(button), in))
}

// cardError waits for the page's error under the card field.
func cardError(b *browsertest.Browser) string {
	return browsertest.Run(b, chromedp.Poll[string](`document.getElementById('card-errors').textContent || null`))
}

// receipt waits for the receipt and returns its heading.
func receipt(b *browsertest.Browser) string {
	b.Do(chromedp.WaitVisible(chromedp.ID("receipt")))
	return browsertest.Run(b, chromedp.Text(chromedp.ID("title")))
}

// TestCheckoutInChromium: a declined card shows the bank's reason and
// leaves the page ready for another; a 3-D Secure card whose challenge
// fails likewise; completing the challenge pays, and the page becomes the
// receipt. One PaymentIntent served every try.
func TestCheckoutInChromium(t *testing.T) {
	f, b := newPayBrowser(t)
	m := f.merchant("Bakery")
	l := f.link(map[string]any{"merchant": m.ID, "amount": 1250, "currency": "usd", "description": "Sourdough"})
	b.Do(chromedp.Navigate(*l.URL), chromedp.WaitVisible(chromedp.ID("pay-button")))
	b.Shot("checkout page")
	if h := browsertest.Run(b, chromedp.Text(chromedp.ID("amount"))); h != "12.50 USD" {
		t.Errorf("amount shown %q", h)
	}

	pay(t, b, "4000000000000002")
	if got := cardError(b); got != "Your card was declined." {
		t.Fatalf("error shown %q", got)
	}
	b.Shot("declined")
	if enabled := browsertest.Run(b, chromedp.Evaluate[bool](`!document.getElementById('pay-button').disabled`)); !enabled {
		t.Fatal("Pay stays disabled after a decline")
	}

	b.Do(chromedp.Navigate(*l.URL), chromedp.WaitVisible(chromedp.ID("pay-button")))
	pay(t, b, "4000000000003220")
	challenge(t, b, "fail")
	if got := cardError(b); !strings.Contains(got, "bank could not confirm") {
		t.Fatalf("error after a failed challenge %q", got)
	}
	b.Shot("challenge failed")

	b.Do(chromedp.Navigate(*l.URL), chromedp.WaitVisible(chromedp.ID("pay-button")))
	pay(t, b, "4000000000003220")
	challenge(t, b, "complete")
	if got := receipt(b); got != "Payment received" {
		t.Fatalf("after paying: %q", got)
	}
	b.Shot("receipt")
	if card := browsertest.Run(b, chromedp.Text(chromedp.ID("card"))); card != "Visa ending in 3220" {
		t.Errorf("receipt's card %q", card)
	}
	l = f.getLink(l.ID)
	if p := f.payment(*l.Payment); l.Status != checkout.StatusPaid || p.Status != payment.StatusSucceeded || p.Amount != 1250 {
		t.Fatalf("link %+v, payment %+v", l, p)
	}
	if pis := f.intents(acct(m)); len(pis) != 1 {
		t.Errorf("%d PaymentIntents; the same one serves every try", len(pis))
	}
}

// TestCheckoutSaveCardInChromium: the payer ticks the box to save the
// card (the card field is made again on the platform's account), pays,
// and the card is in the customer's wallet with the merchant's consent,
// whose evidence is the box's text and the browser's address and user
// agent.
func TestCheckoutSaveCardInChromium(t *testing.T) {
	f, b := newPayBrowser(t)
	ctx := context.Background()
	m := f.merchant("Dairy")
	c := f.customer()
	l := f.link(map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 800, "currency": "usd"})
	b.Do(chromedp.Navigate(*l.URL), chromedp.WaitVisible(chromedp.ID("pay-button")), chromedp.WaitReady(chromedp.CSS("#pay[data-ready]")))
	label := browsertest.Run(b, chromedp.Text(chromedp.ID("consent-text")))
	if label != "Save this card, and allow Dairy to charge it when I'm not there" {
		t.Errorf("consent label %q", label)
	}
	b.Do(chromedp.Click(chromedp.ID("save-card")))
	pay(t, b, "4242424242424242")
	if got := receipt(b); got != "Payment received" {
		t.Fatalf("after paying: %q", got)
	}
	b.Shot("saved and paid")
	pms, err := f.App.Wallet.PaymentMethods(ctx, f.PlatformID, c.ID)
	if err != nil || len(pms) != 1 || pms[0].Last4 != "4242" {
		t.Fatalf("wallet %+v %v", pms, err)
	}
	ua := browsertest.Run(b, chromedp.Evaluate[string](`navigator.userAgent`))
	cs, err := f.App.Wallet.Consents(ctx, f.PlatformID, c.ID)
	if err != nil || len(cs) != 1 || cs[0].PaymentMethodID != pms[0].ID || cs[0].Evidence.Text != label ||
		cs[0].Evidence.IPAddress != "127.0.0.1" || cs[0].Evidence.UserAgent != ua {
		t.Fatalf("consents %+v %v", cs, err)
	}
	if p := f.payment(*f.getLink(l.ID).Payment); p.ChargeType != payment.ChargeDestination || p.PaymentMethod == nil || *p.PaymentMethod != pms[0].ID {
		t.Errorf("payment %+v", p)
	}
}

// TestAuthenticationLinkInChromium: an off-session payment the bank held
// for authentication is completed by the customer on its link's page:
// Stripe.js shows the challenge, the payment succeeds, and the page says
// so.
func TestAuthenticationLinkInChromium(t *testing.T) {
	f, b := newPayBrowser(t)
	ctx := context.Background()
	m := f.merchant("Grocer")
	c := f.customer()
	pm := f.saveCard(c.ID, "pm_card_authenticationRequired")
	f.Post("/v1/customers/"+c.ID+"/consents", map[string]any{"merchant": m.ID,
		"evidence": map[string]string{"text": "I allow it.", "text_version": "1"}}, 200, nil)
	var p payment.View
	f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "payment_method": pm.ID, "amount": 3100,
		"currency": "usd", "off_session": true}, 200, &p)
	if err := f.App.Payments.Process(ctx, f.PlatformID, p.ID); err != nil {
		t.Fatal(err)
	}
	if p = f.payment(p.ID); p.NextAction == nil {
		t.Fatalf("payment %+v", p)
	}
	b.Do(chromedp.Navigate(p.NextAction.URL), chromedp.WaitVisible(chromedp.ID("confirm-button")),
		chromedp.WaitReady(chromedp.CSS("#authenticate[data-ready]")))
	b.Shot("authentication page")
	b.Do(chromedp.Click(chromedp.ID("confirm-button")))
	challenge(t, b, "complete")
	b.Do(chromedp.WaitVisible(chromedp.ID("outcome")))
	b.Shot("confirmed")
	if got := browsertest.Run(b, chromedp.Text(chromedp.ID("outcome"))); got != "Thank you: your payment is confirmed." {
		t.Errorf("outcome %q", got)
	}
	if p = f.payment(p.ID); p.Status != payment.StatusSucceeded {
		t.Fatalf("payment %+v", p)
	}
}
