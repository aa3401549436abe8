package wallet_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/wallet"
)

// TestSetupRecordedAtOnce: the platform's call and Stripe's
// setup_intent.succeeded recording the same SetupIntent at the same time
// save one card, with one card.saved, and both get it; the card stays
// attached at Stripe.
func TestSetupRecordedAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		c := f.customer(`{"email":"ann@example.com"}`)
		seti := f.confirmedSetup(c.ID, "pm_card_visa")
		params := &stripe.SetupIntentRetrieveParams{}
		params.AddExpand("payment_method")
		si, err := f.sc.V1SetupIntents.Retrieve(ctx, seti, params)
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		got := make([]*wallet.PaymentMethod, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if i%2 == 0 {
					got[i], errs[i] = f.App.Wallet.RecordSetup(ctx, f.PlatformID, c.ID, seti)
				} else {
					got[i], errs[i] = f.App.Wallet.ObserveSetup(ctx, f.PlatformID, si)
				}
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("recording %d: %v", i, errs[i])
			}
			if got[i].ID != got[0].ID {
				t.Fatalf("recording %d: %s, recording 0: %s", i, got[i].ID, got[0].ID)
			}
		}
		pms, err := f.App.Wallet.PaymentMethods(ctx, f.PlatformID, c.ID)
		if err != nil || len(pms) != 1 {
			t.Fatalf("cards %+v %v", pms, err)
		}
		// Still on the customer at Stripe: no recording took it for another
		// copy of the card to merge and detach.
		at, err := f.sc.V1PaymentMethods.Retrieve(ctx, got[0].StripeID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if at.Customer == nil || at.Customer.ID != *c.StripeCustomer {
			t.Errorf("the card at Stripe is on %+v, want %s", at.Customer, *c.StripeCustomer)
		}
		saved := 0
		for _, e := range events(t, db, f.PlatformID, got[0].ID) {
			if e.Type == wallet.EventCardSaved {
				saved++
			}
		}
		if saved != 1 {
			t.Errorf("%d card.saved", saved)
		}
	})
}
