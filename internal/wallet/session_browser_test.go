package wallet_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/browsertest"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/wallet"
)

// The hosted wallet in headless Chromium, against the emulator's Stripe.js:
// cards are typed into the card Element's iframe as a customer would. Every
// request Tender's server receives is recorded, and each test ends by
// showing that no card number was among them.

// newWalletBrowser starts Chromium (or skips) and Tender, recording what
// Tender's server receives, and opens a wallet session for a new customer.
func newWalletBrowser(t *testing.T) (*fixture, *browsertest.Browser, wallet.CustomerView) {
	t.Helper()
	b := browsertest.New(t)
	f := newFixture(t, storetest.SQLite(t), apitest.RecordRequests())
	c := f.customer(`{"name":"Ada","email":"ada@example.com"}`)
	t.Cleanup(func() { f.assertNoCardNumbers() })
	return f, b, c
}

// openWallet opens a new session's link in the browser, which lands on the
// page.
func (f *fixture) openWallet(b *browsertest.Browser, customerID string) wallet.SessionView {
	f.t.Helper()
	ws := f.session(customerID)
	b.Do(chromedp.Navigate(ws.URL), chromedp.WaitVisible(chromedp.ID("done")))
	if loc := browsertest.Run(b, chromedp.Location()); loc != f.Server.URL+"/wallet/"+ws.ID {
		f.t.Fatalf("landed on %s, want the page's clean URL", loc)
	}
	return ws
}

// cardNumbers are the test cards typed in these tests.
var cardNumbers = []string{"4242424242424242", "4000002760003184", "4000000000000002"}

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
// sel, once it holds its page from the emulator: before that its document
// is about:blank, where no query matches.
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

// addCard types a card into the page's card Element and presses Save card.
func addCard(t *testing.T, b *browsertest.Browser, number string) {
	t.Helper()
	b.Do(chromedp.WaitReady(chromedp.CSS("#add-card[data-ready]")))
	in := inFrame(t, b, "#card-element iframe")
	b.Do(
		chromedp.SendKeys(chromedp.CSS("input[name=cardnumber]"), number, in),
		chromedp.SendKeys(chromedp.CSS("input[name=exp-date]"), "1234", in),
		chromedp.SendKeys(chromedp.CSS("input[name=cvc]"), "123", in),
		chromedp.SendKeys(chromedp.CSS("input[name=postal]"), "10001", in),
	)
	b.Shot("card typed " + number[len(number)-4:])
	press(b, "#save-card")
}

// press presses a button that changes something, after removing the
// page's notice, so that the next one waited for is the new page's.
func press(b *browsertest.Browser, sel string) {
	b.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById('notice')?.remove()`), chromedp.Click(chromedp.CSS(sel)))
}

// notice waits for the page's notice after a change and returns it.
func notice(b *browsertest.Browser) string {
	b.Do(chromedp.WaitVisible(chromedp.ID("notice")))
	return browsertest.Run(b, chromedp.Text(chromedp.ID("notice")))
}

// cardRows returns the last four digits of the cards the page lists, and
// which one it marks as the default.
func cardRows(b *browsertest.Browser) (last4s []string, def string) {
	rows := browsertest.Run(b, chromedp.Evaluate[[]map[string]any](`[...document.querySelectorAll('#cards li')].map(li =>
		({last4: li.dataset.last4, default: li.querySelector('.default') !== null}))`))
	for _, r := range rows {
		l4, _ := r["last4"].(string)
		last4s = append(last4s, l4)
		if d, _ := r["default"].(bool); d {
			def = l4
		}
	}
	return last4s, def
}

// TestWalletAddCardsInChromium: a card typed into the page is saved and
// listed; one that asks for 3-D Secure is saved once the customer presses
// Complete in Stripe.js's modal; a declined one shows Stripe's message and
// records nothing. No card number reaches Tender.
func TestWalletAddCardsInChromium(t *testing.T) {
	f, b, c := newWalletBrowser(t)
	ctx := context.Background()
	f.openWallet(b, c.ID)
	b.Shot("empty wallet")
	if h := browsertest.Run(b, chromedp.Text(chromedp.CSS("h1"))); h != "Ada, your saved cards" {
		t.Errorf("heading %q", h)
	}

	addCard(t, b, "4242424242424242")
	if got := notice(b); got != "Your card was saved." {
		t.Fatalf("notice %q", got)
	}
	b.Shot("visa saved")
	if last4s, def := cardRows(b); len(last4s) != 1 || last4s[0] != "4242" || def != "4242" {
		t.Fatalf("page lists %v, default %q", last4s, def)
	}
	pms, err := f.App.Wallet.PaymentMethods(ctx, f.PlatformID, c.ID)
	if err != nil || len(pms) != 1 || pms[0].Last4 != "4242" || pms[0].ExpMonth != 12 || pms[0].ExpYear != 2034 {
		t.Fatalf("recorded %+v %v", pms, err)
	}

	addCard(t, b, "4000002760003184")
	in := inFrame(t, b, `iframe[src*="/_emulator/authenticate/"]`)
	b.Do(chromedp.WaitVisible(chromedp.ID("complete"), in))
	b.Shot("3-D Secure challenge")
	b.Do(chromedp.Click(chromedp.ID("complete"), in))
	if got := notice(b); got != "Your card was saved." {
		t.Fatalf("notice after the challenge %q", got)
	}
	b.Shot("authenticated card saved")
	if last4s, def := cardRows(b); len(last4s) != 2 || !strings.Contains(strings.Join(last4s, ","), "3184") || def != "4242" {
		t.Fatalf("page lists %v, default %q", last4s, def)
	}

	addCard(t, b, "4000000000000002")
	shown := browsertest.Run(b, chromedp.Poll[string](`document.getElementById('card-errors').textContent || null`))
	b.Shot("declined")
	if shown != "Your card was declined." {
		t.Fatalf("error shown %q", shown)
	}
	if pms, _ := f.App.Wallet.PaymentMethods(ctx, f.PlatformID, c.ID); len(pms) != 2 {
		t.Fatalf("a declined card was recorded: %d cards", len(pms))
	}
	if enabled := browsertest.Run(b, chromedp.Evaluate[bool](`!document.getElementById('save-card').disabled`)); !enabled {
		t.Error("Save card stays disabled after a decline: the customer cannot try another card")
	}
}

// TestWalletManageInChromium: the customer makes a card the default,
// removes a card whose clone exists on a merchant's account (the clone
// goes at Stripe too), and allows then stops a merchant charging their
// default card off-session; the consent keeps the text shown and the
// browser's address and user agent as evidence.
func TestWalletManageInChromium(t *testing.T) {
	f, b, c := newWalletBrowser(t)
	ctx := context.Background()
	visa := f.saveCard(c.ID, "pm_card_visa")
	mc := f.saveCard(c.ID, "pm_card_mastercard")
	m := f.merchant("Dairy")
	clone, err := f.App.Wallet.CloneFor(ctx, f.PlatformID, visa.ID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.openWallet(b, c.ID)
	b.Shot("two cards")

	press(b, `li[data-card="`+mc.ID+`"] button.make-default`)
	if got := notice(b); got != "Your default card was changed." {
		t.Fatalf("notice %q", got)
	}
	b.Shot("default changed")
	if _, def := cardRows(b); def != "4444" {
		t.Errorf("page marks %q as default, want the Mastercard", def)
	}
	if cu, _ := f.App.Wallet.Customer(ctx, f.PlatformID, c.ID); cu.DefaultPaymentMethodID != mc.ID {
		t.Errorf("default %s, want %s", cu.DefaultPaymentMethodID, mc.ID)
	}

	press(b, `li[data-card="`+visa.ID+`"] button.remove`)
	if got := notice(b); got != "The card was removed." {
		t.Fatalf("notice %q", got)
	}
	b.Shot("card removed")
	if last4s, _ := cardRows(b); len(last4s) != 1 || last4s[0] != "4444" {
		t.Errorf("page lists %v after removing the Visa", last4s)
	}
	onAcct := &stripe.PaymentMethodRetrieveParams{}
	onAcct.SetStripeAccount(clone.AccountID)
	if cpm, err := f.sc.V1PaymentMethods.Retrieve(ctx, clone.ConnectedPaymentMethodID, onAcct); err != nil || cpm.Customer != nil {
		t.Errorf("the clone is still attached on the merchant's account: %+v %v", cpm, err)
	}
	if cl, _ := f.App.Wallet.Clones(ctx, f.PlatformID, visa.ID); len(cl) != 0 {
		t.Errorf("clones left in the registry: %+v", cl)
	}

	allow := `li[data-merchant="` + m.ID + `"] button.allow`
	label := browsertest.Run(b, chromedp.Text(chromedp.CSS(allow)))
	if label != "Allow Dairy to charge my default card when I'm not there" {
		t.Errorf("allow button %q", label)
	}
	press(b, allow)
	if got := notice(b); !strings.HasPrefix(got, "Permission given") {
		t.Fatalf("notice %q", got)
	}
	b.Shot("consent given")
	ua := browsertest.Run(b, chromedp.Evaluate[string](`navigator.userAgent`))
	cs, err := f.App.Wallet.Consents(ctx, f.PlatformID, c.ID)
	if err != nil || len(cs) != 1 {
		t.Fatalf("consents %+v %v", cs, err)
	}
	ev := cs[0].Evidence
	if cs[0].MerchantID != m.ID || cs[0].PaymentMethodID != "" || !cs[0].Revoked.IsZero() || ev.Text != label ||
		ev.TextVersion == "" || ev.IPAddress != "127.0.0.1" || ev.UserAgent != ua {
		t.Fatalf("consent %+v; want Dairy, the default card, the label as text, 127.0.0.1 and %q", cs[0], ua)
	}
	if _, err := f.App.Wallet.ActiveConsent(ctx, f.PlatformID, c.ID, m.ID, mc.ID); err != nil {
		t.Errorf("the default card's consent is not active: %v", err)
	}

	press(b, `li[data-merchant="`+m.ID+`"] button.withdraw`)
	if got := notice(b); !strings.HasPrefix(got, "Permission withdrawn") {
		t.Fatalf("notice %q", got)
	}
	b.Shot("consent withdrawn")
	cs, _ = f.App.Wallet.Consents(ctx, f.PlatformID, c.ID)
	if len(cs) != 1 || cs[0].Revoked.IsZero() || cs[0].RevokedReason != "customer_revoked" {
		t.Errorf("consent after withdrawing: %+v", cs)
	}
	if n := browsertest.Run(b, chromedp.Evaluate[int](`document.querySelectorAll('li[data-merchant] button.allow').length`)); n != 1 {
		t.Errorf("%d allow buttons after withdrawing, want Dairy's again", n)
	}

	if href := browsertest.Run(b, chromedp.AttributeValue(chromedp.ID("done"), "href")); href.Value != returnURL {
		t.Errorf("Done leads to %q, want the return_url %q", href.Value, returnURL)
	}
}
