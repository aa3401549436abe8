package emulator_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/tenderpay/tender/emulator"
)

func restricted(o *emulator.Options) { o.AccountsStartRestricted = true }

// accountLink makes an onboarding link for acct.
func (e *env) accountLink(acct, typ string) *stripe.AccountLink {
	e.tb.Helper()
	l, err := e.sc.V1AccountLinks.Create(ctx(), &stripe.AccountLinkCreateParams{Account: stripe.String(acct), Type: stripe.String(typ),
		RefreshURL: stripe.String("https://platform.example/refresh"), ReturnURL: stripe.String("https://platform.example/return")})
	mustf(e.tb, err, "account link")
	return l
}

// fetchPage requests u without following redirects and returns status,
// location and body.
func fetchPage(tb testing.TB, method, u string, form url.Values) (int, string, string) {
	tb.Helper()
	var resp *http.Response
	var err error
	if method == "POST" {
		resp, err = noRedirect.PostForm(u, form)
	} else {
		resp, err = noRedirect.Get(u)
	}
	mustf(tb, err, "%s %s", method, u)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// TestRestrictedAccountOnboarding: with Options.AccountsStartRestricted a
// new account has requirements due and can take no charge, direct or as
// destination, and has no login link; its account link's form meets the
// requirements, redirects to return_url and announces account.updated with
// previous_attributes and capability.updated. A used or expired link goes
// to refresh_url.
func TestRestrictedAccountOnboarding(t *testing.T) {
	t.Parallel()
	e := newEnv(t, restricted, realClock)
	rc := newReceiver(t, 0)
	we := e.endpoint(rc.ts.URL, true, "account.updated", "capability.updated")
	a, err := e.sc.V1Accounts.Create(ctx(), &stripe.AccountCreateParams{Type: stripe.String("express"), Email: stripe.String("rider@example.com")})
	mustf(t, err, "create")
	if a.ChargesEnabled || a.PayoutsEnabled || a.DetailsSubmitted || len(a.Requirements.CurrentlyDue) == 0 ||
		a.Requirements.DisabledReason != "requirements.past_due" || a.Capabilities.CardPayments != "inactive" {
		t.Fatalf("restricted account %+v", a)
	}
	_, err = e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true), Params: onAccount(a.ID)})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || !strings.Contains(se.Msg, "card_payments capability") {
		t.Fatalf("direct charge on a restricted account: %+v", se)
	}
	_, err = e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true),
		TransferData: &stripe.PaymentIntentCreateTransferDataParams{Destination: stripe.String(a.ID)}})
	if se := stripeErr(t, err); se.HTTPStatusCode != 403 || se.Code != "insufficient_capabilities_for_transfer" ||
		se.Param != "transfer_data[destination]" {
		t.Fatalf("destination charge to a restricted account: %+v", se)
	}
	_, err = e.sc.V1LoginLinks.Create(ctx(), &stripe.LoginLinkCreateParams{Account: stripe.String(a.ID)})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || !strings.Contains(se.Msg, "not completed onboarding") {
		t.Fatalf("login link before onboarding: %+v", se)
	}

	l := e.accountLink(a.ID, "account_onboarding")
	if l.ExpiresAt-l.Created != 300 || !strings.HasPrefix(l.URL, e.ts.URL+"/_emulator/connect/onboarding/") {
		t.Fatalf("link %+v", l)
	}
	status, _, page := fetchPage(t, "GET", l.URL, nil)
	if status != 200 || !strings.Contains(page, `value="rider@example.com"`) || !strings.Contains(page, `id="submit"`) {
		t.Fatalf("onboarding form %d\n%s", status, page)
	}
	if status, loc, _ := fetchPage(t, "GET", l.URL, nil); status != 302 || loc != "https://platform.example/refresh" {
		t.Fatalf("second visit %d %s", status, loc)
	}
	status, loc, _ := fetchPage(t, "POST", l.URL, url.Values{"business_name": {"Rider Co"}, "email": {"rider@example.com"}})
	if status != 303 || loc != "https://platform.example/return" {
		t.Fatalf("submit %d %s", status, loc)
	}
	if status, loc, _ := fetchPage(t, "POST", l.URL, url.Values{}); status != 303 || loc != "https://platform.example/refresh" {
		t.Fatalf("second submit %d %s", status, loc)
	}
	a, err = e.sc.V1Accounts.GetByID(ctx(), a.ID, nil)
	mustf(t, err, "retrieve")
	if !a.ChargesEnabled || !a.PayoutsEnabled || !a.DetailsSubmitted || len(a.Requirements.CurrentlyDue) != 0 ||
		a.Requirements.DisabledReason != "" || a.Capabilities.Transfers != "active" || a.BusinessProfile.Name != "Rider Co" {
		t.Fatalf("onboarded account %+v", a)
	}
	_, err = e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true),
		TransferData: &stripe.PaymentIntentCreateTransferDataParams{Destination: stripe.String(a.ID)}})
	mustf(t, err, "destination charge after onboarding")
	ll, err := e.sc.V1LoginLinks.Create(ctx(), &stripe.LoginLinkCreateParams{Account: stripe.String(a.ID)})
	mustf(t, err, "login link")
	if status, _, page := fetchPage(t, "GET", ll.URL, nil); status != 200 || !strings.Contains(page, a.ID) {
		t.Fatalf("login link page %d %s", status, page)
	}

	expired := e.accountLink(a.ID, "account_onboarding")
	e.srv.Advance(301 * time.Second)
	if status, loc, _ := fetchPage(t, "GET", expired.URL, nil); status != 302 || loc != "https://platform.example/refresh" {
		t.Fatalf("expired link %d %s", status, loc)
	}
	_, err = e.sc.V1AccountLinks.Create(ctx(), &stripe.AccountLinkCreateParams{Account: stripe.String(a.ID), Type: stripe.String("account_update"),
		RefreshURL: stripe.String("https://platform.example/refresh"), ReturnURL: stripe.String("https://platform.example/return")})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Param != "type" {
		t.Fatalf("account_update for an Express account: %+v", se)
	}

	var updated, capabilities int
	for _, d := range rc.waitDeliveries(t, 4) {
		validateEventBody(t, d.body)
		ev, err := webhook.ConstructEvent(d.body, d.sig, we.Secret)
		mustf(t, err, "ConstructEvent")
		if ev.Account != a.ID {
			t.Fatalf("%s for %q", ev.Type, ev.Account)
		}
		switch ev.Type {
		case "account.updated":
			if prev := ev.Data.PreviousAttributes; prev != nil {
				if prev["charges_enabled"] != false || prev["details_submitted"] != false {
					t.Fatalf("previous_attributes %v", prev)
				}
				updated++
			}
		case "capability.updated":
			if ev.Data.Object["status"] != "active" {
				t.Fatalf("capability %v", ev.Data.Object)
			}
			capabilities++
		}
	}
	if updated != 1 || capabilities != 2 {
		t.Fatalf("%d account.updated with previous_attributes, %d capability.updated", updated, capabilities)
	}
}

// TestAccountLinkRefusals: links only for the platform's own accounts,
// with the parameters Stripe requires; account_update for Custom accounts.
func TestAccountLinkRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	custom, err := e.sc.V1Accounts.Create(ctx(), &stripe.AccountCreateParams{Type: stripe.String("custom")})
	mustf(t, err, "custom")
	if l := e.accountLink(custom.ID, "account_update"); l.URL == "" {
		t.Fatal("no account_update link for a Custom account")
	}
	for name, p := range map[string]*stripe.AccountLinkCreateParams{
		"unknown account": {Account: stripe.String("acct_unknown"), Type: stripe.String("account_onboarding"),
			RefreshURL: stripe.String("https://x.example/r"), ReturnURL: stripe.String("https://x.example/r")},
		"no type":       {Account: stripe.String(custom.ID), RefreshURL: stripe.String("https://x.example/r"), ReturnURL: stripe.String("https://x.example/r")},
		"no return_url": {Account: stripe.String(custom.ID), Type: stripe.String("account_onboarding"), RefreshURL: stripe.String("https://x.example/r")},
	} {
		if _, err := e.sc.V1AccountLinks.Create(ctx(), p); err == nil {
			t.Fatalf("%s: accepted", name)
		}
	}
	if status, _, _ := fetchPage(t, "GET", e.ts.URL+"/_emulator/connect/onboarding/nosuchtoken", nil); status != 404 {
		t.Fatalf("unknown link %d", status)
	}
	_, err = e.sc.V1LoginLinks.Create(ctx(), &stripe.LoginLinkCreateParams{Account: stripe.String(custom.ID)})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || !strings.Contains(se.Msg, "Express Dashboard") {
		t.Fatalf("login link for a Custom account: %+v", se)
	}
}
