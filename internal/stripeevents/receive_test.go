package stripeevents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/stripeevents"
)

// fixture is Tender on an emulator, with its endpoints at the emulator set
// up and its jobs running, on a clock the emulator shares.
type fixture struct {
	*apitest.Env
	t     *testing.T
	clock *apitest.Clock
	sc    *stripe.Client
	// merchantAccount is the connected account of the test's merchant.
	merchantAccount string
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	c := apitest.NewClock(time.Now())
	env := apitest.NewWithEmulator(t, db, app.Config{Now: c.Now, PollInterval: 20 * time.Millisecond},
		emulator.Options{NowFunc: c.Now})
	ctx, cancel := context.WithCancel(context.Background())
	if err := env.App.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		env.App.Stop(context.Background())
	})
	f := &fixture{Env: env, t: t, clock: c, sc: env.StripeClient()}
	f.Post("/v1/platform/stripe/webhook_endpoints", nil, 200, nil)
	return f
}

// secret is the newest secret of the platform's endpoint of scope.
func (f *fixture) secrets(scope stripeevents.Scope) []string {
	f.t.Helper()
	s, err := f.App.StripeEvents.SecretsOf(context.Background(), f.PlatformID, scope, f.clock.Now())
	if err != nil || len(s) == 0 {
		f.t.Fatalf("secrets of %s: %v %v", scope, s, err)
	}
	return s
}

// deliver posts body to the platform's endpoint of scope with header as
// its Stripe-Signature, as Stripe would, and returns the answer.
func (f *fixture) deliver(scope stripeevents.Scope, body []byte, header string) *apitest.Response {
	f.t.Helper()
	req, err := http.NewRequest("POST", f.Server.URL+stripeevents.Path(f.PlatformID, scope), bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if header != "" {
		req.Header.Set("Stripe-Signature", header)
	}
	return apitest.Send(f.t, req)
}

func sign(body []byte, secret string, at time.Time) string {
	return emulator.Sign(body, secret, at)
}

// eventBody is an event as Stripe sends it, about object.
func eventBody(id, typ, account string, livemode bool, object map[string]any) []byte {
	ev := map[string]any{"id": id, "object": "event", "type": typ, "livemode": livemode, "api_version": stripe.APIVersion,
		"created": time.Now().Unix(), "data": map[string]any{"object": object}, "pending_webhooks": 1}
	if account != "" {
		ev["account"] = account
	}
	b, _ := json.Marshal(ev)
	return b
}

func (f *fixture) inbox(query string) []stripeevents.View {
	f.t.Helper()
	var l struct{ Data []stripeevents.View }
	r := f.Do("GET", "/v1/stripe_events?limit=100"+query, nil)
	if r.Status != 200 {
		f.t.Fatalf("list stripe events: %d %s", r.Status, r.Body)
	}
	r.Decode(f.t, &l)
	return l.Data
}

// waitFor polls cond until it holds, for at most 30 seconds: an event
// that came before what it is about waits 5 s, then 10 s, for it.
func (f *fixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSetupIsOneStepAndIdempotent: setting up makes both endpoints at
// Stripe, at Tender's URLs, with exactly the types Tender handles, the
// Connect one for connected accounts; setting up again makes none.
func TestSetupIsOneStepAndIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		var l struct{ Data []stripeevents.Endpoint }
		f.Post("/v1/platform/stripe/webhook_endpoints", nil, 200, &l)
		if len(l.Data) != 2 {
			t.Fatalf("endpoints %+v", l.Data)
		}
		var ats []*stripe.WebhookEndpoint
		for we, err := range f.sc.V1WebhookEndpoints.List(context.Background(), &stripe.WebhookEndpointListParams{}).All(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			ats = append(ats, we)
		}
		if len(ats) != 2 {
			t.Fatalf("%d endpoints at Stripe after two setups, want 2", len(ats))
		}
		for _, e := range l.Data {
			i := slices.IndexFunc(ats, func(we *stripe.WebhookEndpoint) bool { return we.ID == e.StripeID })
			if i < 0 {
				t.Fatalf("endpoint %s not at Stripe", e.StripeID)
			}
			we := ats[i]
			want := f.Server.URL + stripeevents.Path(f.PlatformID, e.Scope)
			types := slices.Sorted(slices.Values(we.EnabledEvents))
			if we.URL != want || e.URL != want || !slices.Equal(types, stripeevents.HandledTypes()) || e.Status != "active" {
				t.Errorf("endpoint %+v at Stripe %+v", e, we)
			}
			if strings.Contains(string(f.Do("GET", "/v1/platform/stripe/webhook_endpoints", nil).Body), "whsec_") {
				t.Error("the API shows a signing secret")
			}
		}
	})
}

// TestDeliveriesAreVerified: only a delivery signed with the endpoint's
// secret, over the body as sent, within 300 seconds of Tender's clock, in
// the platform's mode and at the endpoint of its scope is taken; anything
// else is refused, stores nothing and is counted.
func TestDeliveriesAreVerified(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		own, conn := f.secrets(stripeevents.ScopeAccount)[0], f.secrets(stripeevents.ScopeConnect)[0]
		now := f.clock.Now()
		obj := map[string]any{"id": "pi_unknown", "object": "payment_intent"}
		good := eventBody("evt_good", "payment_intent.succeeded", "", false, obj)
		tampered := bytes.Replace(good, []byte("pi_unknown"), []byte("pi_unknowx"), 1)
		live := eventBody("evt_live", "payment_intent.succeeded", "", true, obj)
		connectEv := eventBody("evt_conn", "payment_intent.succeeded", "acct_1Other", false, obj)
		for _, tt := range []struct {
			name   string
			scope  stripeevents.Scope
			body   []byte
			header string
			status int
			reason string
		}{
			{"unsigned", stripeevents.ScopeAccount, good, "", 400, "signature_invalid"},
			{"forged", stripeevents.ScopeAccount, good, sign(good, "whsec_forged0000000000", now), 400, "signature_invalid"},
			{"tampered", stripeevents.ScopeAccount, tampered, sign(good, own, now), 400, "signature_invalid"},
			{"stale", stripeevents.ScopeAccount, good, sign(good, own, now.Add(-301*time.Second)), 400, "signature_invalid"},
			{"from the future", stripeevents.ScopeAccount, good, sign(good, own, now.Add(301*time.Second)), 400, "signature_invalid"},
			{"the other endpoint's secret", stripeevents.ScopeAccount, good, sign(good, conn, now), 400, "signature_invalid"},
			{"unreadable header", stripeevents.ScopeAccount, good, "v1=abc", 400, "signature_invalid"},
			{"live event, test key", stripeevents.ScopeAccount, live, sign(live, own, now), 400, "livemode_mismatch"},
			{"a Connect event at the platform's endpoint", stripeevents.ScopeAccount, connectEv, sign(connectEv, own, now), 400, "wrong_endpoint"},
			{"a platform event at the Connect endpoint", stripeevents.ScopeConnect, good, sign(good, conn, now), 400, "wrong_endpoint"},
			{"not an event", stripeevents.ScopeAccount, []byte(`{"id":"x"}`), sign([]byte(`{"id":"x"}`), own, now), 400, "event_malformed"},
		} {
			r := f.deliver(tt.scope, tt.body, tt.header)
			if r.Status != tt.status || r.Err().Code != tt.reason {
				t.Errorf("%s: %d %s, want %d %s", tt.name, r.Status, r.Body, tt.status, tt.reason)
			}
		}
		if got := f.inbox(""); len(got) != 0 {
			t.Errorf("refused deliveries stored: %+v", got)
		}
		ref := f.coverage().Refused
		if ref.NotSigned != 1 || ref.BadSignature != 3 || ref.Stale != 2 || ref.BadHeader != 1 || ref.Livemode != 1 || ref.WrongEndpoint != 2 || ref.Malformed != 1 {
			t.Errorf("refusals counted %+v", ref)
		}
		for _, r := range []*apitest.Response{
			f.deliver("other", good, sign(good, own, now)),
		} {
			if r.Status != 404 {
				t.Errorf("unknown scope: %d %s", r.Status, r.Body)
			}
		}
		req, _ := http.NewRequest("POST", f.Server.URL+"/webhooks/stripe/plt_00000000000000000000000000/account", bytes.NewReader(good))
		req.Header.Set("Stripe-Signature", sign(good, own, now))
		if r := apitest.Send(t, req); r.Status != 404 {
			t.Errorf("unknown platform: %d %s", r.Status, r.Body)
		}

		// The good one is taken once: a second delivery is acknowledged
		// and counted, not applied again.
		for i, want := range []bool{false, true} {
			r := f.deliver(stripeevents.ScopeAccount, good, sign(good, own, now))
			var rc struct {
				Received, Duplicate bool
				ID                  string
			}
			r.Decode(t, &rc)
			if r.Status != 200 || !rc.Received || rc.Duplicate != want {
				t.Errorf("delivery %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		got := f.inbox("")
		if len(got) != 1 || got[0].StripeID != "evt_good" || got[0].WebhookDeliveries != 2 || got[0].Source != "webhook" {
			t.Fatalf("inbox %+v", got)
		}
		// pi_unknown is not at Stripe: applying it fails, bounded, and says
		// why.
		f.waitFor("the event to be applied", func() bool { return f.inbox("")[0].State != stripeevents.StateReceived })
		var full stripeevents.View
		r := f.Do("GET", "/v1/stripe_events/"+got[0].ID, nil)
		r.Decode(t, &full)
		if full.State != stripeevents.StateFailed || full.LastError == nil || full.Attempts != 1 || full.Request == nil ||
			full.Request.Headers.Get("Stripe-Signature") == "" || !bytes.Equal(full.Payload, good) {
			t.Errorf("event %+v", full)
		}
	})
}

// TestRolledSecrets: after a roll both secrets verify until the old one
// expires; then only the new one does, and the old endpoints are deleted
// at Stripe.
func TestRolledSecrets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		old := f.secrets(stripeevents.ScopeConnect)[0]
		var l struct{ Data []stripeevents.Endpoint }
		f.Post("/v1/platform/stripe/webhook_endpoints/roll", map[string]int{"expires_in": 3600}, 200, &l)
		if len(l.Data) != 4 {
			t.Fatalf("endpoints after a roll %+v", l.Data)
		}
		secrets := f.secrets(stripeevents.ScopeConnect)
		if len(secrets) != 2 || !slices.Contains(secrets, old) {
			t.Fatalf("%d secrets verify during the overlap", len(secrets))
		}
		fresh := secrets[0]
		if fresh == old {
			t.Fatal("the newest secret is the old one")
		}
		deliver := func(n int, secret string) int {
			body := eventBody(fmt.Sprintf("evt_roll%d", n), "account.updated", "acct_1Nobody", false,
				map[string]any{"id": "acct_1Nobody", "object": "account"})
			return f.deliver(stripeevents.ScopeConnect, body, sign(body, secret, f.clock.Now())).Status
		}
		if a, b := deliver(1, old), deliver(2, fresh); a != 200 || b != 200 {
			t.Errorf("during the overlap: old %d, new %d", a, b)
		}
		// Stripe delivers each event to both endpoints meanwhile: each
		// verifies, and the inbox keeps the event once, delivered twice.
		during := f.ConnectedMerchant("Florist")
		f.waitFor("the emulator's deliveries to both endpoints", func() bool {
			evs := f.inbox("&account=" + *during.Connection.AccountID)
			for _, e := range evs {
				if e.WebhookDeliveries != 2 {
					return false
				}
			}
			return len(evs) > 0
		})
		f.clock.Advance(time.Hour + time.Second)
		if a, b := deliver(3, old), deliver(4, fresh); a != 400 || b != 200 {
			t.Errorf("after the overlap: old %d, new %d", a, b)
		}
		if n, err := f.App.StripeEvents.RetireExpired(context.Background()); err != nil || n != 2 {
			t.Fatalf("retired %d: %v", n, err)
		}
		n := 0
		for _, err := range f.sc.V1WebhookEndpoints.List(context.Background(), &stripe.WebhookEndpointListParams{}).All(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 2 {
			t.Errorf("%d endpoints at Stripe after the old ones retired, want 2", n)
		}
		after := f.ConnectedMerchant("Bakery")
		f.waitFor("the emulator's deliveries to the new endpoint", func() bool {
			return len(f.inbox("&account="+*after.Connection.AccountID)) > 0
		})
		for _, e := range f.inbox("&account=" + *after.Connection.AccountID) {
			if e.WebhookDeliveries != 1 || e.Source != "webhook" {
				t.Errorf("after the roll: %+v", e)
			}
		}
	})
}

// TestConcurrentDeliveriesKeptOnce: deliveries arriving together are
// committed in shared transactions; the same event delivered twenty
// times at once is one event of the inbox, applied once, counted twenty
// times, beside fifty others each kept once.
func TestConcurrentDeliveriesKeptOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		secret := f.secrets(stripeevents.ScopeAccount)[0]
		body := func(i int) []byte {
			return eventBody(fmt.Sprintf("evt_same%03d", i), "account.updated", "", false, map[string]any{"id": "acct_1Own", "object": "account"})
		}
		var wg sync.WaitGroup
		statuses := make(chan int, 70)
		for i := range 70 {
			b := body(i)
			if i < 20 {
				b = body(0)
			}
			wg.Go(func() { statuses <- f.deliver(stripeevents.ScopeAccount, b, sign(b, secret, f.clock.Now())).Status })
		}
		wg.Wait()
		close(statuses)
		for s := range statuses {
			if s != 200 {
				t.Errorf("a delivery got %d", s)
			}
		}
		evs := f.inbox("")
		if len(evs) != 51 {
			t.Fatalf("%d events in the inbox, want 51", len(evs))
		}
		var jobs int
		if err := f.App.DB.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM river_job WHERE kind = 'stripeevents.apply'`).Scan(&jobs); err != nil {
			t.Fatal(err)
		}
		if jobs != 51 {
			t.Errorf("%d jobs for 51 events", jobs)
		}
		for _, e := range evs {
			want := 1
			if e.StripeID == "evt_same000" {
				want = 20
			}
			if e.WebhookDeliveries != want {
				t.Errorf("%s: %d deliveries, want %d", e.StripeID, e.WebhookDeliveries, want)
			}
		}
	})
}

// TestSecretsSetByHand: a platform whose endpoints were made in Stripe's
// Dashboard gives their secrets in its settings (TENDER_STRIPE_WEBHOOK_SECRETS);
// each verifies deliveries to either endpoint, and no other secret does.
func TestSecretsSetByHand(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const mine, other = "whsec_setbyhandsetbyhand0001", "whsec_setbyhandsetbyhand0002"
		env := apitest.New(t, db, app.Config{Stripe: &platform.Stripe{SecretKey: emulator.DefaultSecretKey,
			WebhookSecrets: []string{other, mine}, Source: platform.StripeFromEnvironment}})
		f := &fixture{Env: env, t: t, clock: apitest.NewClock(time.Now())}
		now := time.Now()
		own := eventBody("evt_hand1", "account.updated", "", false, map[string]any{"id": "acct_1Own", "object": "account"})
		conn := eventBody("evt_hand2", "account.updated", "acct_1Someone", false, map[string]any{"id": "acct_1Someone", "object": "account"})
		for _, tt := range []struct {
			scope  stripeevents.Scope
			body   []byte
			secret string
			want   int
		}{
			{stripeevents.ScopeAccount, own, mine, 200},
			{stripeevents.ScopeConnect, conn, mine, 200},
			{stripeevents.ScopeConnect, conn, other, 200},
			{stripeevents.ScopeAccount, own, "whsec_setbyhandsetbyhand0003", 400},
		} {
			if r := f.deliver(tt.scope, tt.body, sign(tt.body, tt.secret, now)); r.Status != tt.want {
				t.Errorf("%s signed with %s: %d %s, want %d", tt.scope, tt.secret, r.Status, r.Body, tt.want)
			}
		}
	})
}

// TestEndpointRefusals: rolling before setting up is a conflict naming
// why, a bad overlap is refused naming the field, and neither makes an
// endpoint at Stripe.
func TestEndpointRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		env := apitest.NewWithEmulator(t, db, app.Config{}, emulator.Options{})
		if r := env.Do("POST", "/v1/platform/stripe/webhook_endpoints/roll", nil); r.Status != 409 || r.Err().Code != "webhook_endpoints_missing" {
			t.Errorf("roll before setup: %d %s", r.Status, r.Body)
		}
		env.Post("/v1/platform/stripe/webhook_endpoints", nil, 200, nil)
		for _, body := range []string{`{"expires_in":-1}`, `{"expires_in":604801}`, `{"expires_in":"1h"}`, `{"overlap":60}`} {
			if r := env.Do("POST", "/v1/platform/stripe/webhook_endpoints/roll", body); r.Status != 400 || r.Err().Param == "" {
				t.Errorf("roll %s: %d %s", body, r.Status, r.Body)
			}
		}
		n := 0
		sc := env.StripeClient()
		for _, err := range sc.V1WebhookEndpoints.List(context.Background(), &stripe.WebhookEndpointListParams{}).All(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 2 {
			t.Errorf("%d endpoints at Stripe after refused rolls, want 2", n)
		}
	})
}
