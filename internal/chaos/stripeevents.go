package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/stripeevents"
)

// setUpStripeHooks makes Tender's endpoints at the emulator, before any
// kill, so that Stripe's events of the run reach Tender's inbox; it
// returns when it did, from which on every event must be there.
func setUpStripeHooks(ctx context.Context, c *client, rng *rand.Rand) (time.Time, error) {
	at := time.Now().Add(-time.Second)
	return at, c.must(ctx, rng, "setup", "POST", "/v1/platform/stripe/webhook_endpoints", "setup-stripe-webhooks", nil, nil)
}

// InboxStats are Tender's inbox against the events the emulator holds of
// the types Tender handles, for the platform and each connected account.
type InboxStats struct {
	// AtStripe is how many events the emulator holds; InInbox how many of
	// them Tender's inbox holds, ByWebhook and OnlyByBackfill how they
	// came; Missing how many it lacks by the end of the wait.
	AtStripe, InInbox, ByWebhook, OnlyByBackfill, Missing int
	// Unfinished are events of the inbox not applied or ignored: still
	// received, or failed.
	Unfinished []string
	// Settled is how long after the last restart the inbox was complete.
	Settled time.Duration
}

type inboxEvent struct {
	ID                string  `json:"id"`
	StripeID          string  `json:"stripe_id"`
	Type              string  `json:"type"`
	Account           *string `json:"account"`
	State             string  `json:"state"`
	Source            string  `json:"source"`
	WebhookDeliveries int     `json:"webhook_deliveries"`
	LastError         *string `json:"last_error"`
}

// awaitInbox waits until every event the emulator holds since since is in
// Tender's inbox and applied (or ignored), or until deadline. Kills cut
// deliveries off; the backfill that runs at each start recovers them.
func (r *runner) awaitInbox(ctx context.Context, rng *rand.Rand, sc *stripe.Client, accounts []string, since, deadline time.Time) (InboxStats, error) {
	for {
		st, err := r.inboxStats(ctx, rng, sc, accounts, since)
		if err != nil {
			return st, err
		}
		if (st.Missing == 0 && len(st.Unfinished) == 0) || time.Now().After(deadline) {
			st.Settled = time.Since(r.lastRun)
			return st, nil
		}
		if !sleep(ctx, time.Second) {
			return st, ctx.Err()
		}
	}
}

func (r *runner) inboxStats(ctx context.Context, rng *rand.Rand, sc *stripe.Client, accounts []string, since time.Time) (InboxStats, error) {
	var st InboxStats
	inbox, err := listAll(ctx, r.c, rng, "/v1/stripe_events", func(e inboxEvent) string { return e.ID })
	if err != nil {
		return st, fmt.Errorf("read the inbox: %w", err)
	}
	held := map[string]inboxEvent{}
	for _, e := range inbox {
		acct := ""
		if e.Account != nil {
			acct = *e.Account
		}
		held[acct+"/"+e.StripeID] = e
		if e.State != "applied" && e.State != "ignored" {
			why := ""
			if e.LastError != nil {
				why = ": " + *e.LastError
			}
			st.Unfinished = append(st.Unfinished, fmt.Sprintf("%s %s %s%s", e.StripeID, e.Type, e.State, why))
		}
	}
	handled := stripeevents.HandledTypes()
	for _, acct := range append([]string{""}, accounts...) {
		params := &stripe.EventListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: since.Unix()}}
		params.Limit = stripe.Int64(100)
		if acct != "" {
			params.SetStripeAccount(acct)
		}
		for ev, err := range sc.V1Events.List(ctx, params).All(ctx) {
			if err != nil {
				return st, fmt.Errorf("read the emulator's events: %w", err)
			}
			if _, ok := slices.BinarySearch(handled, string(ev.Type)); !ok {
				continue
			}
			st.AtStripe++
			e, ok := held[acct+"/"+ev.ID]
			switch {
			case !ok:
				st.Missing++
			case e.WebhookDeliveries > 0:
				st.InInbox++
				st.ByWebhook++
			default:
				st.InInbox++
				st.OnlyByBackfill++
			}
		}
	}
	return st, nil
}
