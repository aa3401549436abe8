package payment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/checkout"
	"github.com/tenderpay/tender/internal/dispute"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/stripeevents"
)

// killAfterHandler makes the first request with each Idempotency-Key that
// starts with "kill-" end as if Tender's process died right after its
// handler returned: whatever the handler committed stays, nothing else is
// written and the client gets no answer.
func (f *fixture) killAfterHandler() {
	var killed sync.Map
	f.App.Idempotency.DieAfterHandlerFunc = func(req idempotency.Request) bool {
		_, again := killed.LoadOrStore(req.Key, true)
		return strings.HasPrefix(req.Key, "kill-") && !again
	}
}

// postKilled sends a POST that dies after its handler, and checks that the
// client got no answer.
func (f *fixture) postKilled(path, key string, body any) {
	f.t.Helper()
	b, err := json.Marshal(body)
	if s, ok := body.(string); ok {
		b, err = []byte(s), nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", f.Server.URL+path, bytes.NewReader(b))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.Key)
	req.Header.Set("Idempotency-Key", key)
	// A new connection: on a reused one Go's client would resend a request
	// with an Idempotency-Key by itself when the connection drops unanswered.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		f.t.Fatalf("POST %s with a kill after its handler answered %d", path, resp.StatusCode)
	}
}

// TestKilledPaymentRequest is the reproduction of a double charge for one
// Idempotency-Key, on both databases: a process killed after the payment's
// transaction committed leaves its answer committed with it, so the
// client's retry with the same key replays that payment rather than
// making a second; one killed before it committed leaves the key held by
// a lease that runs out, after which the retry makes exactly one.
func TestKilledPaymentRequest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		m := f.merchant("Green Grocer")
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		f.consent(c.ID, m.ID)
		f.killAfterHandler()
		body := map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1500, "currency": "usd", "off_session": true}
		countPayments := func() int {
			return f.count(`SELECT COUNT(*) FROM payments WHERE platform_id = $1`, f.PlatformID)
		}

		// Killed after the work committed.
		f.postKilled("/v1/payments", "kill-after-commit", body)
		if n := countPayments(); n != 1 {
			t.Fatalf("%d payments after the killed request, want 1", n)
		}
		var state string
		if err := db.QueryRowContext(context.Background(), `SELECT state FROM idempotency_keys WHERE platform_id = $1 AND idempotency_key = $2`,
			f.PlatformID, "kill-after-commit").Scan(&state); err != nil || state != "complete" {
			t.Fatalf("the key is %q (%v) after its payment committed, want complete", state, err)
		}
		r := f.Do("POST", "/v1/payments", body, apitest.WithIdempotencyKey("kill-after-commit"))
		var first payment.View
		r.Decode(t, &first)
		if r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry: %d %v %s; want the first payment replayed", r.Status, r.Header, r.Body)
		}
		if n := countPayments(); n != 1 {
			t.Fatalf("%d payments after the retry, want 1", n)
		}
		if err := f.process(first.ID); err != nil {
			t.Fatal(err)
		}
		if p := f.payment(first.ID); p.Status != payment.StatusSucceeded || len(f.intents(*m.Connection.AccountID)) != 1 {
			t.Fatalf("payment %s is %s with %d PaymentIntents; want succeeded with one", p.ID, p.Status, len(f.intents(*m.Connection.AccountID)))
		}

		// Killed before the work committed: only the key's claim is left.
		raw, _ := json.Marshal(body)
		req := idempotency.Request{PlatformID: f.PlatformID, Key: "before-commit", Method: "POST", Path: "/v1/payments",
			Fingerprint: idempotency.Fingerprint("", raw)}
		if _, _, err := f.App.Idempotency.Begin(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		if r := f.Do("POST", "/v1/payments", body, apitest.WithIdempotencyKey("before-commit")); r.Status != 409 {
			t.Fatalf("retry while the dead request's lease runs: %d %s; want 409", r.Status, r.Body)
		}
		f.clock.Advance(idempotency.Lease + 1)
		var second payment.View
		r = f.Do("POST", "/v1/payments", body, apitest.WithIdempotencyKey("before-commit"))
		r.Decode(t, &second)
		if r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "" || second.ID == first.ID {
			t.Fatalf("retry after the lease: %d %v %s; want a new payment", r.Status, r.Header, r.Body)
		}
		again := f.Do("POST", "/v1/payments", body, apitest.WithIdempotencyKey("before-commit"))
		if again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.Body, r.Body) {
			t.Fatalf("second retry: %v %s; want the replay of %s", again.Header, again.Body, r.Body)
		}
		if n := countPayments(); n != 2 {
			t.Fatalf("%d payments, want 2 (one per key)", n)
		}
	})
}

// killCase is one idempotent POST killed after its handler.
type killCase struct {
	name, path string
	body       any
	// table gains one row for a create (rows, if more), none otherwise.
	table   string
	creates bool
	rows    int
	// committed: the handler's work commits its answer, so the retry is a
	// replay. Otherwise the work is an action a rerun repeats the same
	// way (capture what is captured, archive what is archived), and the
	// retry runs it again and gives the same answer.
	committed bool
}

// TestEveryIdempotentPOSTSurvivesAKill kills every idempotent POST of the
// API after its handler, then retries it with the same key: a create makes
// one object, not two; an update or a create is replayed (its answer
// committed with it); an action answers again with the same object. The
// table must cover every POST of the OpenAPI document.
func TestEveryIdempotentPOSTSurvivesAKill(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		// Tender's endpoints at the emulator, so that Stripe's events of
		// what follows reach the inbox, one of which is replayed.
		f.Post("/v1/platform/stripe/webhook_endpoints", nil, 200, nil)
		m := f.merchant("Green Grocer")
		spare := f.merchant("Spare")
		idle := f.unconnectedMerchant("Idle")
		toLink := f.unconnectedMerchant("To link")
		c := f.customer()
		pm := f.saveCard(c.ID, "pm_card_visa")
		f.consent(c.ID, m.ID)
		other := f.customer()
		otherCard := f.saveCard(other.ID, "pm_card_visa")
		f.saveCard(other.ID, "pm_card_mastercard")
		gone := f.customer()
		authorized := f.authorize(m.ID, c.ID, "direct", 2000)
		toCancel := f.authorize(m.ID, c.ID, "direct", 2100)
		paid := f.paid(map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 3000, "currency": "usd"})
		var link checkout.LinkView
		f.Post("/v1/checkout_links", map[string]any{"merchant": m.ID, "amount": 1200, "currency": "usd"}, 200, &link)
		key, _, err := f.App.Platforms.CreateKey(context.Background(), f.PlatformID, platform.ModeTest, "spare")
		if err != nil {
			t.Fatal(err)
		}
		var si struct {
			ID string `json:"id"`
		}
		f.Post("/v1/customers/"+other.ID+"/setup_intents", `{}`, 200, &si)
		f.confirmSetup(si.ID, "pm_card_amex")
		// An endpoint that hears only of endpoints being disabled: no
		// event here is delivered to it, so redeliver and recover have
		// nothing to send and answer the same on a retry.
		var ep struct {
			ID string `json:"id"`
		}
		f.Post("/v1/webhook_endpoints", map[string]any{"url": "https://platform.example/hooks",
			"enabled_events": []string{"webhook_endpoint.disabled"}}, 200, &ep)
		evs, _, err := f.App.Events.List(context.Background(), f.PlatformID, event.Query{Page: store.Page{Limit: 1}})
		if err != nil || len(evs) != 1 {
			t.Fatalf("no event to redeliver: %v", err)
		}
		var inbox []*stripeevents.Event
		for deadline := time.Now().Add(5 * time.Second); len(inbox) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if inbox, _, err = f.App.StripeEvents.List(context.Background(), f.PlatformID, stripeevents.Filter{}, store.Page{Limit: 1}); err != nil {
				t.Fatal(err)
			}
		}
		if len(inbox) == 0 {
			t.Fatal("no Stripe event in the inbox to replay")
		}
		toAnswer, toClose := f.disputed(m.ID, 1300), f.disputed(m.ID, 1400)
		sub := f.customer() // its own card: another case detaches c's
		f.saveCard(sub.ID, "pm_card_visa")
		f.consent(sub.ID, m.ID)
		standingOrder := map[string]any{"merchant": m.ID, "customer": sub.ID, "amount": 2500, "currency": "usd",
			"time_zone": "Europe/London", "schedule": map[string]any{"interval": "week", "weekdays": []string{"thursday"}}}
		var toUpdate, toPause, toResume, toEnd struct {
			ID string `json:"id"`
		}
		for _, o := range []any{&toUpdate, &toPause, &toResume, &toEnd} {
			f.Post("/v1/standing_orders", standingOrder, 200, o)
		}
		f.Post("/v1/standing_orders/"+toResume.ID+"/pause", nil, 200, nil)

		cases := []killCase{
			{name: "platform update", path: "/v1/platform", body: map[string]any{"name": "Renamed hub"}, table: "platforms", committed: true},
			{name: "stripe settings (configured by the environment: refused)", path: "/v1/platform/stripe", body: map[string]any{"client_id": "ca_x"}, table: "platforms"},
			{name: "api key revoke", path: "/v1/api_keys/" + key.ID + "/revoke", table: "api_keys"},
			{name: "merchant create", path: "/v1/merchants", body: map[string]any{"name": "New Shop"}, table: "merchants", creates: true, committed: true},
			{name: "merchant update", path: "/v1/merchants/" + m.ID, body: map[string]any{"name": "Green Grocer Ltd"}, table: "merchants", committed: true},
			{name: "merchant archive", path: "/v1/merchants/" + idle.ID + "/archive", table: "merchants"},
			{name: "connect link", path: "/v1/merchants/" + toLink.ID + "/connect_links", body: map[string]any{"type": "express",
				"return_url": "https://platform.example/done", "refresh_url": "https://platform.example/again"}, table: "connect_links", creates: true, committed: true},
			{name: "merchant refresh", path: "/v1/merchants/" + m.ID + "/refresh", table: "merchants"},
			{name: "merchant disconnect", path: "/v1/merchants/" + spare.ID + "/disconnect", table: "merchants"},
			{name: "customer create", path: "/v1/customers", body: map[string]any{"email": "new@example.com"}, table: "customers", creates: true, committed: true},
			{name: "customer update", path: "/v1/customers/" + c.ID, body: map[string]any{"name": "Ann"}, table: "customers", committed: true},
			{name: "customer archive", path: "/v1/customers/" + gone.ID + "/archive", table: "customers"},
			{name: "setup intent", path: "/v1/customers/" + c.ID + "/setup_intents", table: "payment_methods"},
			{name: "card record", path: "/v1/customers/" + other.ID + "/payment_methods", body: map[string]any{"setup_intent": si.ID}, table: "payment_methods", creates: true},
			{name: "card default", path: "/v1/customers/" + other.ID + "/payment_methods/" + otherCard.ID + "/default", table: "customers", committed: true},
			{name: "card detach", path: "/v1/customers/" + c.ID + "/payment_methods/" + pm.ID + "/detach", table: "payment_methods"},
			{name: "consent", path: "/v1/customers/" + other.ID + "/consents", body: map[string]any{"merchant": m.ID,
				"evidence": map[string]string{"text": "I allow it.", "text_version": "1"}}, table: "consents", creates: true, committed: true},
			{name: "wallet session", path: "/v1/wallet_sessions", body: map[string]any{"customer": other.ID,
				"return_url": "https://platform.example/account"}, table: "wallet_sessions", creates: true, committed: true},
			{name: "fee policy", path: "/v1/fee_policy", body: `{"rules":{"usd":{"basis_points":250,"fixed":20}}}`, table: "fee_policies", creates: true, committed: true},
			{name: "merchant fee policy", path: "/v1/merchants/" + m.ID + "/fee_policy", body: `{"rules":{"usd":{"basis_points":100,"fixed":0}}}`,
				table: "fee_policies", creates: true, committed: true},
			{name: "payment", path: "/v1/payments", body: map[string]any{"merchant": m.ID, "customer": other.ID, "amount": 1000, "currency": "usd"},
				table: "payments", creates: true, committed: true},
			{name: "capture", path: "/v1/payments/" + authorized.ID + "/capture", body: map[string]any{"amount_to_capture": 1500}, table: "payments"},
			{name: "cancel", path: "/v1/payments/" + toCancel.ID + "/cancel", table: "payments"},
			{name: "refund", path: "/v1/payments/" + paid.ID + "/refunds", body: map[string]any{"amount": 700}, table: "refunds", creates: true, committed: true},
			{name: "checkout link", path: "/v1/checkout_links", body: map[string]any{"merchant": m.ID, "amount": 900, "currency": "usd"},
				table: "checkout_links", creates: true, committed: true},
			{name: "checkout link cancel", path: "/v1/checkout_links/" + link.ID + "/cancel", table: "checkout_links"},
			{name: "webhook endpoint", path: "/v1/webhook_endpoints", body: map[string]any{"url": "https://platform.example/other",
				"enabled_events": []string{"payment.*"}}, table: "webhook_endpoints", creates: true, committed: true},
			{name: "webhook endpoint update", path: "/v1/webhook_endpoints/" + ep.ID, body: map[string]any{"description": "Disabled alerts"},
				table: "webhook_endpoints", committed: true},
			{name: "webhook secret rotation", path: "/v1/webhook_endpoints/" + ep.ID + "/rotate", table: "webhook_endpoints", committed: true},
			{name: "webhook recover", path: "/v1/webhook_endpoints/" + ep.ID + "/recover", body: map[string]any{"since": "2026-01-01T00:00:00Z"},
				table: "webhook_deliveries"},
			{name: "event redeliver", path: "/v1/events/" + evs[0].ID + "/redeliver", table: "webhook_deliveries"},
			// Set up already: setting up again changes nothing.
			{name: "stripe webhook setup", path: "/v1/platform/stripe/webhook_endpoints", table: "stripe_webhook_endpoints"},
			{name: "stripe webhook roll", path: "/v1/platform/stripe/webhook_endpoints/roll", table: "stripe_webhook_endpoints",
				committed: true, creates: true, rows: 2},
			{name: "stripe event replay", path: "/v1/stripe_events/" + inbox[0].ID + "/replay", table: "stripe_events"},
			{name: "dispute evidence", path: "/v1/disputes/" + toAnswer.ID + "/evidence", body: map[string]any{"evidence": map[string]string{
				"uncategorized_text": "winning_evidence"}}, table: "disputes", committed: true},
			{name: "dispute close", path: "/v1/disputes/" + toClose.ID + "/close", table: "disputes", committed: true},
			{name: "standing order", path: "/v1/standing_orders", body: standingOrder, table: "standing_orders", creates: true, committed: true},
			{name: "standing order update", path: "/v1/standing_orders/" + toUpdate.ID, body: map[string]any{"amount": 3000},
				table: "standing_orders", committed: true},
			{name: "standing order pause", path: "/v1/standing_orders/" + toPause.ID + "/pause", table: "standing_orders", committed: true},
			{name: "standing order resume", path: "/v1/standing_orders/" + toResume.ID + "/resume", table: "standing_orders", committed: true},
			{name: "standing policy", path: "/v1/standing_policy", body: map[string]any{"retry_days": []int{1, 3}}, table: "standing_policies",
				creates: true, committed: true},
			{name: "standing order cancel", path: "/v1/standing_orders/" + toEnd.ID + "/cancel", table: "standing_orders", committed: true},
		}
		checkCovered(t, cases)
		f.killAfterHandler()
		for i, tc := range cases {
			f.killAndRetry(tc, fmt.Sprintf("kill-%d", i))
		}
	})
}

// disputed makes a direct payment with the emulator's dispute card and
// records Stripe's dispute of it in Tender (as its webhook would).
func (f *fixture) disputed(merchantID string, amount int64) *dispute.Dispute {
	f.t.Helper()
	c := f.customer()
	f.saveCard(c.ID, "pm_card_createDispute")
	f.consent(c.ID, merchantID)
	p := f.paid(map[string]any{"merchant": merchantID, "customer": c.ID, "amount": amount, "currency": "usd"})
	ctx := context.Background()
	params := &stripe.DisputeListParams{PaymentIntent: p.StripePaymentIntent}
	params.SetStripeAccount(p.StripeAccount)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for sd, err := range f.sc.V1Disputes.List(ctx, params).All(ctx) {
			if err != nil {
				f.t.Fatal(err)
			}
			d, err := f.App.Disputes.Observe(ctx, f.PlatformID, p.StripeAccount, sd)
			if err != nil {
				f.t.Fatal(err)
			}
			return d
		}
	}
	f.t.Fatalf("payment %s was not disputed", p.ID)
	return nil
}

// killAndRetry runs one case: the killed request, then its retry and a
// second retry, which must agree.
func (f *fixture) killAndRetry(tc killCase, key string) {
	t := f.t
	if tc.body == nil {
		tc.body = `{}`
	}
	rows := func() int {
		return f.count(`SELECT COUNT(*) FROM ` + tc.table)
	}
	before := rows()
	f.postKilled(tc.path, key, tc.body)
	if !tc.committed {
		// The dead request still holds the key until its lease runs out.
		if r := f.Do("POST", tc.path, tc.body, apitest.WithIdempotencyKey(key)); r.Status != 409 || r.Err().Code != "idempotency_key_in_use" {
			t.Errorf("%s: retry during the dead request's lease: %d %s; want 409 idempotency_key_in_use", tc.name, r.Status, r.Body)
		}
		f.clock.Advance(idempotency.Lease + time.Second)
	}
	retry := f.Do("POST", tc.path, tc.body, apitest.WithIdempotencyKey(key))
	again := f.Do("POST", tc.path, tc.body, apitest.WithIdempotencyKey(key))
	want := before
	if tc.creates {
		want += max(tc.rows, 1)
	}
	switch {
	case rows() != want:
		t.Errorf("%s: %s has %d rows after the kill and retries, want %d", tc.name, tc.table, rows(), want)
	case retry.Status >= 500:
		t.Errorf("%s: retry %d %s", tc.name, retry.Status, retry.Body)
	case tc.committed && retry.Header.Get("Idempotent-Replayed") != "true":
		t.Errorf("%s: retry was run again (%d %s); its answer should have committed with its work", tc.name, retry.Status, retry.Body)
	case again.Status != retry.Status || !bytes.Equal(again.Body, retry.Body) || again.Header.Get("Idempotent-Replayed") != "true":
		t.Errorf("%s: the second retry (%d %s) does not replay the first (%d %s)", tc.name, again.Status, again.Body, retry.Status, retry.Body)
	}
}

// checkCovered fails unless every POST of the OpenAPI document has a case.
func checkCovered(t *testing.T, cases []killCase) {
	t.Helper()
	doc, _, err := apitest.Document()
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[templateOf(tc.path)] = true
	}
	var missing []string
	for path, item := range doc.Paths.Map() {
		// Stripe's deliveries carry no Idempotency-Key: each is kept once
		// by its event's id (see package stripeevents).
		if item.Post != nil && !covered[path] && strings.HasPrefix(path, "/v1/") {
			missing = append(missing, path)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("no kill case for POST %s", strings.Join(missing, ", POST "))
	}
}

// templateOf turns a concrete path into the OpenAPI document's template:
// each id segment becomes the parameter the document names there.
func templateOf(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if j := strings.IndexByte(s, '_'); j > 0 && len(s) == j+1+24 {
			segs[i] = "{" + paramOf(segs, i) + "}"
		}
	}
	return strings.Join(segs, "/")
}

func paramOf(segs []string, i int) string {
	if i >= 2 && segs[i-1] == "payment_methods" {
		return "pm"
	}
	return "id"
}

// TestStripeObjectsOfARetriedRequest: a request killed after its Stripe
// call took effect and before its own commit is retried by the client with
// the same key; the retry asks Stripe with the same derived key and
// records the object the first try made, so none is left orphaned at
// Stripe and none is made twice: the Stripe Customer of a new customer,
// and a SetupIntent (which has no row in Tender).
func TestStripeObjectsOfARetriedRequest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		stripeCustomers := func() int {
			n := 0
			for _, err := range f.sc.V1Customers.List(ctx, &stripe.CustomerListParams{}).All(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			return n
		}
		before := stripeCustomers()
		f.killAfterHandler()

		// The customer's row cannot be written: the process "dies" between
		// Stripe's answer and the commit.
		failInserts(t, db, "customers")
		body := map[string]any{"email": "lost@example.com"}
		f.postKilled("/v1/customers", "kill-customer", body)
		if n := stripeCustomers(); n != before+1 {
			t.Fatalf("%d Stripe Customers after the killed request, want %d", n, before+1)
		}
		allowInserts(t, db, "customers")
		f.clock.Advance(idempotency.Lease + time.Second)
		var c struct {
			ID string `json:"id"`
		}
		r := f.Do("POST", "/v1/customers", body, apitest.WithIdempotencyKey("kill-customer"))
		if r.Status != 200 {
			t.Fatalf("retry: %d %s", r.Status, r.Body)
		}
		r.Decode(t, &c)
		if n := stripeCustomers(); n != before+1 {
			t.Fatalf("%d Stripe Customers after the retry, want %d", n, before+1)
		}
		var stripeID string
		if err := db.QueryRowContext(ctx, `SELECT stripe_customer_id FROM customers WHERE id = $1`, c.ID).Scan(&stripeID); err != nil {
			t.Fatal(err)
		}
		if sc, err := f.sc.V1Customers.Retrieve(ctx, stripeID, nil); err != nil || sc.Metadata["tender_customer"] != c.ID || sc.Deleted {
			t.Fatalf("the recorded Stripe Customer %s: %+v, %v", stripeID, sc, err)
		}

		// The database failing after Stripe answered (no kill): the client
		// is told to retry, and the retry records the same Customer.
		failInserts(t, db, "customers")
		down := map[string]any{"email": "down@example.com"}
		if r := f.Do("POST", "/v1/customers", down, apitest.WithIdempotencyKey("db-down")); r.Status != 503 {
			t.Fatalf("customer with its insert failing: %d %s; want 503", r.Status, r.Body)
		}
		allowInserts(t, db, "customers")
		f.clock.Advance(time.Minute) // the retry comes later: it must still be the same request
		if r := f.Do("POST", "/v1/customers", down, apitest.WithIdempotencyKey("db-down")); r.Status != 200 {
			t.Fatalf("retry after the database came back: %d %s", r.Status, r.Body)
		}
		if n := stripeCustomers(); n != before+2 {
			t.Fatalf("%d Stripe Customers after two customers, want %d", n, before+2)
		}

		path := "/v1/customers/" + c.ID + "/setup_intents"
		f.postKilled(path, "kill-setup", `{}`)
		f.clock.Advance(idempotency.Lease + time.Second)
		var si struct {
			ID string `json:"id"`
		}
		f.Do("POST", path, `{}`, apitest.WithIdempotencyKey("kill-setup")).Decode(t, &si)
		n := 0
		for s, err := range f.sc.V1SetupIntents.List(ctx, &stripe.SetupIntentListParams{Customer: stripe.String(stripeID)}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if s.ID != si.ID {
				t.Errorf("SetupIntent %s made besides the one answered, %s", s.ID, si.ID)
			}
			n++
		}
		if n != 1 {
			t.Fatalf("%d SetupIntents for the customer, want 1", n)
		}
	})
}

// failInserts makes every insert into table fail, standing for a process
// that dies before it commits one; allowInserts undoes it.
func failInserts(t *testing.T, db *store.DB, table string) {
	t.Helper()
	stmts := []string{`CREATE TRIGGER fail_` + table + ` BEFORE INSERT ON ` + table + ` BEGIN SELECT RAISE(ABORT, 'killed before commit'); END`}
	if db.Dialect == store.Postgres {
		stmts = []string{
			`CREATE OR REPLACE FUNCTION fail_insert() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'killed before commit'; END $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER fail_` + table + ` BEFORE INSERT ON ` + table + ` FOR EACH ROW EXECUTE FUNCTION fail_insert()`,
		}
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

func allowInserts(t *testing.T, db *store.DB, table string) {
	t.Helper()
	q := `DROP TRIGGER fail_` + table
	if db.Dialect == store.Postgres {
		q += ` ON ` + table
	}
	if _, err := db.ExecContext(context.Background(), q); err != nil {
		t.Fatal(err)
	}
}
