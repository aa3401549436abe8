package emulator_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/browsertest"
)

// TestOnboardingInBrowser: a merchant opens an account link, sees the
// onboarding form prefilled, submits it and lands on the platform's
// return_url; the account is then enabled.
func TestOnboardingInBrowser(t *testing.T) {
	t.Parallel()
	b := browsertest.New(t)
	e := newEnv(t, restricted)
	a, err := e.sc.V1Accounts.Create(ctx(), &stripe.AccountCreateParams{Type: stripe.String("express"), Email: stripe.String("potter@example.com"),
		BusinessProfile: &stripe.AccountCreateBusinessProfileParams{Name: stripe.String("Clay Works")}})
	mustf(t, err, "create")
	site := newPlatformSite(t, func(string) string { return "" })
	l, err := e.sc.V1AccountLinks.Create(ctx(), &stripe.AccountLinkCreateParams{Account: stripe.String(a.ID), Type: stripe.String("account_onboarding"),
		RefreshURL: stripe.String(site.ts.URL + "/callback?state=refresh"), ReturnURL: stripe.String(site.ts.URL + "/callback?state=return")})
	mustf(t, err, "account link")

	b.Do(chromedp.Navigate(l.URL), chromedp.WaitVisible(chromedp.ID("submit")))
	b.Shot("onboarding form")
	name := browsertest.Run(b, chromedp.Value(chromedp.ID("business_name")))
	email := browsertest.Run(b, chromedp.Value(chromedp.ID("email")))
	if name != "Clay Works" || email != "potter@example.com" {
		t.Fatalf("form prefilled with %q, %q", name, email)
	}
	b.Do(chromedp.Click(chromedp.ID("submit")), chromedp.WaitVisible(chromedp.ID("result")))
	hits := site.callbacks()
	if len(hits) != 1 || hits[0].Get("state") != "return" {
		t.Fatalf("landed on %v", hits)
	}
	a, err = e.sc.V1Accounts.GetByID(ctx(), a.ID, nil)
	mustf(t, err, "retrieve")
	if !a.ChargesEnabled || !a.PayoutsEnabled || !a.DetailsSubmitted || len(a.Requirements.CurrentlyDue) != 0 {
		t.Fatalf("account after onboarding %+v", a)
	}
	// Opening the used link again leads to refresh_url.
	b.Do(chromedp.Navigate(l.URL), chromedp.WaitVisible(chromedp.ID("result")))
	if hits := site.callbacks(); len(hits) != 2 || hits[1].Get("state") != "refresh" {
		t.Fatalf("reopened link landed on %v", hits)
	}
}
