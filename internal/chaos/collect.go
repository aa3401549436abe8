package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"

	"github.com/stripe/stripe-go/v85"
)

// page is one page of a Tender list.
type page[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"has_more"`
}

// listAll reads every page of a Tender list at path.
func listAll[T any](ctx context.Context, c *client, rng *rand.Rand, path string, idOf func(T) string) ([]T, error) {
	var all []T
	after := ""
	for {
		q := url.Values{"limit": {"100"}}
		if after != "" {
			q.Set("starting_after", after)
		}
		var pg page[T]
		if err := c.must(ctx, rng, "read", "GET", path+"?"+q.Encode(), "", nil, &pg); err != nil {
			return nil, err
		}
		all = append(all, pg.Data...)
		if !pg.HasMore || len(pg.Data) == 0 {
			return all, nil
		}
		after = idOf(pg.Data[len(pg.Data)-1])
	}
}

// tenderPayments reads every payment through Tender's API, with the
// refunds of those that took money.
func tenderPayments(ctx context.Context, c *client, rng *rand.Rand) ([]TenderPayment, error) {
	ps, err := listAll(ctx, c, rng, "/v1/payments", func(p TenderPayment) string { return p.ID })
	if err != nil {
		return nil, err
	}
	for i := range ps {
		if ps[i].AmountCaptured == 0 {
			continue
		}
		if ps[i].Refunds, err = listAll(ctx, c, rng, "/v1/payments/"+ps[i].ID+"/refunds", func(r TenderRefund) string { return r.ID }); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// allFinal says whether Tender has finished with every payment, refund
// and transfer, and how many it has not.
func allFinal(ps []TenderPayment) (bool, int) {
	open := 0
	for i := range ps {
		r := newReport()
		checkFinal(r, &ps[i])
		open += r.Counts[KindFinal].Mismatch
	}
	return open == 0, open
}

// stripeData reads what the emulator holds through Stripe's API: the
// platform's PaymentIntents, refunds, transfers and application fees, and
// each merchant's PaymentIntents and refunds (direct charges live on the
// merchant's account).
func stripeData(ctx context.Context, sc *stripe.Client, accounts []string) (StripeData, error) {
	var st StripeData
	for _, acct := range append([]string{""}, accounts...) {
		pis, err := stripeIntents(ctx, sc, acct)
		if err != nil {
			return st, err
		}
		res, err := stripeRefunds(ctx, sc, acct)
		if err != nil {
			return st, err
		}
		st.Intents, st.Refunds = append(st.Intents, pis...), append(st.Refunds, res...)
	}
	var err error
	if st.Transfers, err = stripeTransfers(ctx, sc); err != nil {
		return st, err
	}
	st.Fees, err = stripeFees(ctx, sc)
	return st, err
}

func listParams(acct string) stripe.ListParams {
	lp := stripe.ListParams{Limit: stripe.Int64(100)}
	if acct != "" {
		lp.SetStripeAccount(acct)
	}
	return lp
}

func stripeIntents(ctx context.Context, sc *stripe.Client, acct string) ([]StripeIntent, error) {
	var out []StripeIntent
	for pi, err := range sc.V1PaymentIntents.List(ctx, &stripe.PaymentIntentListParams{ListParams: listParams(acct)}).All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("list PaymentIntents on %q: %w", acct, err)
		}
		si := StripeIntent{ID: pi.ID, Account: acct, TenderPayment: pi.Metadata["tender_payment"], Key: pi.Metadata["chaos_key"],
			Status: string(pi.Status), Amount: pi.Amount, AmountReceived: pi.AmountReceived, ApplicationFee: pi.ApplicationFeeAmount}
		if pi.TransferData != nil && pi.TransferData.Destination != nil {
			si.Destination = pi.TransferData.Destination.ID
		}
		if pi.LatestCharge != nil {
			si.Charge = pi.LatestCharge.ID
		}
		out = append(out, si)
	}
	return out, nil
}

func stripeRefunds(ctx context.Context, sc *stripe.Client, acct string) ([]StripeRefund, error) {
	var out []StripeRefund
	for re, err := range sc.V1Refunds.List(ctx, &stripe.RefundListParams{ListParams: listParams(acct)}).All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("list refunds on %q: %w", acct, err)
		}
		sr := StripeRefund{ID: re.ID, Account: acct, TenderRefund: re.Metadata["tender_refund"], Key: re.Metadata["chaos_key"],
			Amount: re.Amount, Status: string(re.Status)}
		if re.PaymentIntent != nil {
			sr.Intent = re.PaymentIntent.ID
		}
		out = append(out, sr)
	}
	return out, nil
}

func stripeTransfers(ctx context.Context, sc *stripe.Client) ([]StripeTransfer, error) {
	var out []StripeTransfer
	for tr, err := range sc.V1Transfers.List(ctx, &stripe.TransferListParams{ListParams: listParams("")}).All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("list transfers: %w", err)
		}
		st := StripeTransfer{ID: tr.ID, TenderTransfer: tr.Metadata["tender_transfer"], TenderPayment: tr.Metadata["tender_payment"],
			Amount: tr.Amount, AmountReversed: tr.AmountReversed}
		if tr.Destination != nil {
			st.Destination = tr.Destination.ID
		}
		out = append(out, st)
	}
	return out, nil
}

func stripeFees(ctx context.Context, sc *stripe.Client) ([]StripeFee, error) {
	var out []StripeFee
	for f, err := range sc.V1ApplicationFees.List(ctx, &stripe.ApplicationFeeListParams{ListParams: listParams("")}).All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("list application fees: %w", err)
		}
		sf := StripeFee{ID: f.ID, Amount: f.Amount, AmountRefunded: f.AmountRefunded}
		if f.Account != nil {
			sf.Account = f.Account.ID
		}
		if f.Charge != nil {
			sf.Charge = f.Charge.ID
		}
		if f.OriginatingTransaction != nil {
			sf.Originating = f.OriginatingTransaction.ID
		}
		out = append(out, sf)
	}
	return out, nil
}
