package stripeevents_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/stripeevents"
)

// TestInboxOverTheAPI: the inbox lists by type, account and state, shows
// one event with what came and what was done, refuses bad filters naming
// them, and forgets processed events past their retention, never one
// still to apply.
func TestInboxOverTheAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		own, conn := f.secrets(stripeevents.ScopeAccount)[0], f.secrets(stripeevents.ScopeConnect)[0]
		for i := range 3 {
			b := eventBody(fmt.Sprintf("evt_own%d", i), "account.updated", "", false, map[string]any{"id": "acct_1Own", "object": "account"})
			f.deliver(stripeevents.ScopeAccount, b, sign(b, own, f.clock.Now()))
		}
		b := eventBody("evt_conn", "capability.updated", "acct_1Somebody", false, map[string]any{"id": "card_payments", "object": "capability"})
		f.deliver(stripeevents.ScopeConnect, b, sign(b, conn, f.clock.Now()))
		// The connected account's event waits for a merchant of that
		// account, saying so; the others are processed.
		f.waitFor("the events processed", func() bool {
			got := f.inbox("&state=received")
			return len(got) == 1 && got[0].LastError != nil
		})
		if got := f.inbox("&state=received")[0]; got.StripeID != "evt_conn" || got.Attempts != 1 ||
			!strings.Contains(*got.LastError, "no merchant is connected to acct_1Somebody") {
			t.Errorf("waiting event %+v, %s", got, *got.LastError)
		}
		if got := f.inbox("&type=account.updated"); len(got) != 3 {
			t.Errorf("by type: %d", len(got))
		}
		if got := f.inbox("&account=acct_1Somebody"); len(got) != 1 || got[0].Type != "capability.updated" {
			t.Errorf("by account: %+v", got)
		}
		if got := f.inbox("&state=ignored"); len(got) != 3 {
			t.Errorf("ignored: %d (the platform's own account.updated is not Tender's)", len(got))
		}
		for q, param := range map[string]string{"state=done": "state", "limit=0": "limit", "starting_after=evt_1": "starting_after"} {
			if r := f.Do("GET", "/v1/stripe_events?"+q, nil); r.Status != 400 || r.Err().Param != param {
				t.Errorf("%s: %d %s", q, r.Status, r.Body)
			}
		}
		if r := f.Do("GET", "/v1/stripe_events/sevt_00000000000000000000000000", nil); r.Status != 404 {
			t.Errorf("unknown event: %d %s", r.Status, r.Body)
		}
		if r := f.Do("POST", "/v1/stripe_events/sevt_00000000000000000000000000/replay", nil); r.Status != 404 {
			t.Errorf("replay of an unknown event: %d %s", r.Status, r.Body)
		}

		// One still to apply, received long ago, stays; processed ones go.
		ctx := context.Background()
		if _, err := f.App.DB.ExecContext(ctx, `UPDATE stripe_events SET state = 'received' WHERE stripe_id = 'evt_own0'`); err != nil {
			t.Fatal(err)
		}
		n, err := f.App.StripeEvents.Prune(ctx, f.clock.Now().Add(time.Second))
		if err != nil || n != 2 {
			t.Fatalf("pruned %d: %v", n, err)
		}
		if got := f.inbox(""); len(got) != 2 {
			t.Errorf("left after pruning: %+v", got)
		}
	})
}
