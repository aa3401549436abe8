package webhooks_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/webhooks"
)

// got is one request a receiver answered.
type got struct {
	ID             string
	Type           event.Type
	ObjectID       string
	ObjectSequence int64
	Sequence       int64
	Status         int // what the receiver answered
	Verified       []bool
}

// receiver is a platform's endpoint: it verifies each delivery with the
// Standard Webhooks reference library against each secret it knows and
// answers what answer says.
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	got    []got
	hooks  []*standardwebhooks.Webhook
	public []ed25519.PublicKey
	answer func(n int, g got) int
	// ignoreTime verifies without the library's 5-minute tolerance, for
	// tests whose clock is not the wall clock.
	ignoreTime bool
}

func newReceiver(t testing.TB, answer func(n int, g got) int) *receiver {
	rc := &receiver{t: t, answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) trust(secrets ...string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.hooks = nil
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			rc.t.Fatal(err)
		}
		rc.hooks = append(rc.hooks, wh)
	}
}

// trustPublic makes the receiver verify v1a signatures with these public
// keys too (after the secrets of trust), as the spec describes: the
// reference Go library verifies only v1.
func (rc *receiver) trustPublic(keys ...string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.public = nil
	for _, k := range keys {
		pub, err := webhooks.ParsePublicKey(k)
		if err != nil {
			rc.t.Fatal(err)
		}
		rc.public = append(rc.public, pub)
	}
}

// verifyV1a reports whether any v1a signature in h verifies under pub.
func verifyV1a(pub ed25519.PublicKey, raw []byte, h http.Header) bool {
	signed := h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "." + string(raw)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		b64, ok := strings.CutPrefix(sig, "v1a,")
		if !ok {
			continue
		}
		if s, err := base64.StdEncoding.DecodeString(b64); err == nil && ed25519.Verify(pub, []byte(signed), s) {
			return true
		}
	}
	return false
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var b struct {
		Type      event.Type `json:"type"`
		Timestamp time.Time  `json:"timestamp"`
		Data      event.View `json:"data"`
	}
	if err := json.Unmarshal(raw, &b); err != nil || b.Type != b.Data.Type || r.Header.Get("webhook-id") != b.Data.ID {
		rc.t.Errorf("delivery %s: body %s, %v", r.Header.Get("webhook-id"), raw, err)
	}
	g := got{ID: b.Data.ID, Type: b.Type, ObjectID: b.Data.ObjectID, ObjectSequence: b.Data.ObjectSequence, Sequence: b.Data.Sequence}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, wh := range rc.hooks {
		verify := wh.Verify
		if rc.ignoreTime {
			verify = wh.VerifyIgnoringTimestamp
		}
		g.Verified = append(g.Verified, verify(raw, r.Header) == nil)
	}
	for _, pub := range rc.public {
		g.Verified = append(g.Verified, verifyV1a(pub, raw, r.Header))
	}
	g.Status = rc.answer(len(rc.got), g)
	rc.got = append(rc.got, g)
	w.WriteHeader(g.Status)
	fmt.Fprintf(w, "answer %d", g.Status)
}

func (rc *receiver) received() []got {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// delivered returns the deliveries answered 2xx.
func (rc *receiver) delivered() []got {
	var out []got
	for _, g := range rc.received() {
		if g.Status/100 == 2 {
			out = append(out, g)
		}
	}
	return out
}

func ok(int, got) int { return http.StatusOK }

// env is Tender on db with jobs and the dispatcher running, delivering to
// loopback, fanning out every 10 ms.
func env(t testing.TB, db *store.DB, clock *apitest.Clock, tweak ...func(*app.Config)) *apitest.Env {
	t.Helper()
	keys, err := secret.ParseKeyring(secret.NewKey(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.Config{MasterKeys: keys, WebhookAllowPrivate: true, WebhookPollInterval: 10 * time.Millisecond,
		PollInterval: 20 * time.Millisecond}
	if clock != nil {
		cfg.Now = clock.Now
	}
	for _, f := range tweak {
		f(&cfg)
	}
	e := apitest.New(t, db, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := e.App.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

func createEndpoint(t testing.TB, e *apitest.Env, url string, events ...string) webhooks.EndpointView {
	t.Helper()
	var v webhooks.EndpointView
	e.Post("/v1/webhook_endpoints", map[string]any{"url": url, "enabled_events": events}, 200, &v)
	if v.Secret == "" {
		t.Fatalf("endpoint %s made without a secret in its answer", v.ID)
	}
	return v
}

// record writes events as a feature package does, each in its own
// transaction: typ on each of objects, n rounds.
func record(t *testing.T, e *apitest.Env, at time.Time, typ event.Type, objects []string, rounds int) {
	t.Helper()
	ctx := context.Background()
	for r := range rounds {
		for _, obj := range objects {
			err := e.App.DB.InTx(ctx, func(tx *sql.Tx) error {
				_, err := event.Record(ctx, tx, at, e.PlatformID, typ, obj, map[string]any{"id": obj, "round": r})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inOrder fails unless, per object, the deliveries answered 2xx are its
// events in order, each once, and there are want in all.
func inOrder(t *testing.T, deliveries []got, want int) {
	t.Helper()
	seen := map[string]bool{}
	last := map[string]int64{}
	for _, g := range deliveries {
		if seen[g.ID] {
			t.Errorf("%s delivered twice after a 2xx", g.ID)
		}
		seen[g.ID] = true
		if g.ObjectSequence != last[g.ObjectID]+1 {
			t.Errorf("%s: object_sequence %d delivered after %d", g.ObjectID, g.ObjectSequence, last[g.ObjectID])
		}
		last[g.ObjectID] = g.ObjectSequence
	}
	if len(seen) != want {
		t.Errorf("%d events delivered, want %d", len(seen), want)
	}
}

func TestDeliversSignedInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := env(t, db, nil)
		rc := newReceiver(t, ok)
		ep := createEndpoint(t, e, rc.srv.URL+"/hooks", "payment.*")
		rc.trust(ep.Secret)
		objects := []string{"pay_a", "pay_b", "pay_c"}
		record(t, e, time.Now(), "payment.created", objects, 1)
		record(t, e, time.Now(), "payment.succeeded", objects, 1)
		record(t, e, time.Now(), "refund.created", objects, 1) // not subscribed
		waitFor(t, "six deliveries", 10*time.Second, func() bool { return len(rc.delivered()) >= 6 })
		time.Sleep(100 * time.Millisecond) // a seventh would arrive by now
		inOrder(t, rc.delivered(), 6)
		for _, g := range rc.received() {
			if !g.Verified[0] {
				t.Errorf("%s: the reference library refused the signature", g.ID)
			}
			if g.Type == "refund.created" {
				t.Errorf("delivered %s, which the endpoint does not subscribe to", g.ID)
			}
		}

		var attempts struct{ Data []webhooks.AttemptView }
		e.Do("GET", "/v1/webhook_endpoints/"+ep.ID+"/attempts?limit=100", nil).Decode(t, &attempts)
		if len(attempts.Data) != 6 {
			t.Fatalf("%d attempts listed, want 6", len(attempts.Data))
		}
		for _, a := range attempts.Data {
			if !a.Succeeded || a.Status == nil || *a.Status != 200 || a.Attempt != 1 || a.Response == nil || *a.Response != "answer 200" {
				t.Errorf("attempt %+v", a)
			}
		}
	})
}

func TestRotationSignsWithBoth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := env(t, db, nil)
		rc := newReceiver(t, ok)
		ep := createEndpoint(t, e, rc.srv.URL, "*")
		var rotated webhooks.EndpointView
		e.Post("/v1/webhook_endpoints/"+ep.ID+"/rotate", map[string]any{}, 200, &rotated)
		if rotated.Secret == "" || rotated.Secret == ep.Secret || rotated.PreviousSecretExpiresAt == nil {
			t.Fatalf("rotated: %+v", rotated)
		}
		unrelated, _ := webhooks.NewSecret()
		rc.trust(ep.Secret, rotated.Secret, unrelated)
		record(t, e, time.Now(), "payment.created", []string{"pay_a"}, 1)
		waitFor(t, "a delivery during the overlap", 10*time.Second, func() bool { return len(rc.delivered()) == 1 })
		if v := rc.delivered()[0].Verified; !v[0] || !v[1] || v[2] {
			t.Fatalf("during the overlap old/new/unrelated verified %v, want true true false", v)
		}

		// Ending the overlap at once: only the newest secret signs.
		var again webhooks.EndpointView
		e.Post("/v1/webhook_endpoints/"+ep.ID+"/rotate", map[string]any{"expires_in": 0}, 200, &again)
		rc.trust(rotated.Secret, again.Secret)
		record(t, e, time.Now(), "payment.created", []string{"pay_b"}, 1)
		waitFor(t, "a delivery after the overlap", 10*time.Second, func() bool { return len(rc.delivered()) == 2 })
		if v := rc.delivered()[1].Verified; v[0] || !v[1] {
			t.Fatalf("after the overlap previous/new verified %v, want false true", v)
		}
		// The secret is never shown again.
		var shown map[string]any
		e.Do("GET", "/v1/webhook_endpoints/"+ep.ID, nil).Decode(t, &shown)
		if _, ok := shown["secret"]; ok {
			t.Fatal("GET shows the secret")
		}
	})
}

func TestAsymmetricSigning(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := env(t, db, nil)
		rc := newReceiver(t, ok)
		var ep webhooks.EndpointView
		e.Post("/v1/webhook_endpoints", map[string]any{"url": rc.srv.URL, "enabled_events": []string{"*"},
			"signature_scheme": "asymmetric"}, 200, &ep)
		if ep.Secret != "" || ep.PublicKey == nil || ep.SignatureScheme != webhooks.Asymmetric {
			t.Fatalf("asymmetric endpoint %+v: want a public key and no secret", ep)
		}
		_, stranger, _ := webhooks.NewSigningKey()
		rc.trustPublic(*ep.PublicKey, stranger)
		record(t, e, time.Now(), "payment.created", []string{"pay_a"}, 1)
		waitFor(t, "a v1a delivery", 10*time.Second, func() bool { return len(rc.delivered()) == 1 })
		if v := rc.delivered()[0].Verified; !v[0] || v[1] {
			t.Fatalf("own/stranger's public key verified %v, want true false", v)
		}

		// Rotating to a symmetric secret: during the overlap both sign, so
		// the receiver can move from one scheme to the other.
		var rotated webhooks.EndpointView
		e.Post("/v1/webhook_endpoints/"+ep.ID+"/rotate", map[string]any{"signature_scheme": "symmetric"}, 200, &rotated)
		if rotated.Secret == "" || rotated.PublicKey != nil || rotated.PreviousPublicKey == nil || *rotated.PreviousPublicKey != *ep.PublicKey {
			t.Fatalf("rotated to symmetric: %+v", rotated)
		}
		rc.trust(rotated.Secret)
		rc.trustPublic(*ep.PublicKey)
		record(t, e, time.Now(), "payment.created", []string{"pay_b"}, 1)
		waitFor(t, "a delivery signed both ways", 10*time.Second, func() bool { return len(rc.delivered()) == 2 })
		if v := rc.delivered()[1].Verified; !v[0] || !v[1] {
			t.Fatalf("v1 with the new secret / v1a with the old key verified %v, want both", v)
		}
		for _, c := range []struct {
			path  string
			body  map[string]any
			param string
		}{
			{"/v1/webhook_endpoints", map[string]any{"url": rc.srv.URL, "enabled_events": []string{"*"}, "signature_scheme": "rsa"}, "signature_scheme"},
			{"/v1/webhook_endpoints/" + ep.ID, map[string]any{"signature_scheme": "asymmetric"}, "signature_scheme"},
			{"/v1/webhook_endpoints/" + ep.ID + "/rotate", map[string]any{"signature_scheme": "rsa"}, "signature_scheme"},
		} {
			if r := e.Do("POST", c.path, c.body); r.Status != 400 || r.Err().Param != c.param {
				t.Errorf("POST %s %v = %d %s; want 400 naming %s", c.path, c.body, r.Status, r.Body, c.param)
			}
		}
	})
}

// settle moves the clock on in steps, sweeping after each, until cond
// holds: retries become due as the clock passes them.
func settle(t *testing.T, e *apitest.Env, clock *apitest.Clock, step time.Duration, steps int, cond func() bool) {
	t.Helper()
	for range steps {
		if cond() {
			return
		}
		clock.Advance(step)
		if _, err := e.App.Webhooks.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, "deliveries to settle", 10*time.Second, cond)
}

func TestConsumerDownForAnHour(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		clock := apitest.NewClock(start)
		rc := newReceiver(t, func(_ int, _ got) int {
			if clock.Now().Before(start.Add(time.Hour)) {
				return http.StatusServiceUnavailable
			}
			return http.StatusNoContent
		})
		rc.ignoreTime = true
		e := env(t, db, clock)
		ep := createEndpoint(t, e, rc.srv.URL, "payment.*")
		rc.trust(ep.Secret)
		objects := []string{"pay_a", "pay_b", "pay_c", "pay_d"}
		record(t, e, clock.Now(), "payment.created", objects, 1)
		record(t, e, clock.Now(), "payment.succeeded", objects, 2)
		waitFor(t, "first attempts", 10*time.Second, func() bool { return len(rc.received()) >= len(objects) })

		// Retries pending when it came back wait out their step (up to 2 h
		// after the 4th attempt): five hours of clock.
		settle(t, e, clock, 10*time.Minute, 30, func() bool { return len(rc.delivered()) == 12 })
		inOrder(t, rc.delivered(), 12)
		for _, g := range rc.received() {
			if !g.Verified[0] {
				t.Errorf("%s: signature refused", g.ID)
			}
		}
		// Only heads were tried while it was down: never a newer event of
		// an object before its older one succeeded.
		for _, g := range rc.received() {
			if g.Status != http.StatusNoContent && g.ObjectSequence != 1 {
				t.Errorf("%s (object_sequence %d) was tried before its object's first event was delivered", g.ID, g.ObjectSequence)
			}
		}
		var got webhooks.EndpointView
		e.Do("GET", "/v1/webhook_endpoints/"+ep.ID, nil).Decode(t, &got)
		if got.Status != webhooks.StatusEnabled || got.FailingSince != nil || got.LastFailure == nil {
			t.Fatalf("after recovering, endpoint %+v", got)
		}
	})
}

func TestGoneDisablesAndEnablingResumes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var mu sync.Mutex
		status := http.StatusGone
		rc := newReceiver(t, func(int, got) int { mu.Lock(); defer mu.Unlock(); return status })
		e := env(t, db, nil)
		ep := createEndpoint(t, e, rc.srv.URL, "payment.*")
		rc.trust(ep.Secret)
		other := newReceiver(t, ok)
		createEndpoint(t, e, other.srv.URL, "webhook_endpoint.*")

		record(t, e, time.Now(), "payment.created", []string{"pay_a", "pay_b"}, 1)
		var disabled webhooks.EndpointView
		waitFor(t, "the endpoint disabled by 410", 10*time.Second, func() bool {
			e.Do("GET", "/v1/webhook_endpoints/"+ep.ID, nil).Decode(t, &disabled)
			return disabled.Status == webhooks.StatusDisabled
		})
		if disabled.DisabledReason == nil || *disabled.DisabledReason != "gone" || disabled.LastFailure == nil ||
			disabled.LastFailure.Status == nil || *disabled.LastFailure.Status != 410 {
			t.Fatalf("disabled endpoint %+v", disabled)
		}
		// The platform hears of it, with the event that failed.
		waitFor(t, "webhook_endpoint.disabled delivered elsewhere", 10*time.Second, func() bool { return len(other.delivered()) == 1 })
		if g := other.delivered()[0]; g.Type != webhooks.EventEndpointDisabled || g.ObjectID != ep.ID {
			t.Fatalf("other endpoint got %+v", g)
		}
		// The other object's first event may have been on its way when the
		// first 410 came (senders work in parallel); once no delivery is
		// leased, nothing more is sent.
		waitFor(t, "no send in flight", 10*time.Second, func() bool {
			var leased int
			err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM webhook_deliveries WHERE lease_owner IS NOT NULL`).Scan(&leased)
			return err == nil && leased == 0
		})
		tried := len(rc.received())

		// While disabled, events accumulate and nothing is sent.
		record(t, e, time.Now(), "payment.succeeded", []string{"pay_a", "pay_b", "pay_c"}, 1)
		time.Sleep(200 * time.Millisecond)
		if n := len(rc.received()); n != tried {
			t.Fatalf("%d requests to a disabled endpoint", n-tried)
		}

		mu.Lock()
		status = http.StatusOK
		mu.Unlock()
		var enabled webhooks.EndpointView
		e.Post("/v1/webhook_endpoints/"+ep.ID, map[string]any{"status": "enabled"}, 200, &enabled)
		if enabled.Status != webhooks.StatusEnabled || enabled.DisabledReason != nil {
			t.Fatalf("enabled: %+v", enabled)
		}
		waitFor(t, "everything after enabling", 10*time.Second, func() bool { return len(rc.delivered()) == 5 })
		inOrder(t, rc.delivered(), 5)
	})
}

func TestFlappingConsumerGetsEachEventOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := apitest.NewClock(time.Now())
		// Each event's first try fails, with a mix of statuses, a redirect
		// included (only 2xx counts), and its second succeeds; every
		// other request fails too, so the endpoint flaps between up and
		// down while events of other objects come and go.
		failures := []int{500, 302, 429, 503, 400}
		tries := map[string]int{}
		rc := newReceiver(t, func(n int, g got) int {
			tries[g.ID]++
			if tries[g.ID] == 1 || (tries[g.ID] > 2 && n%2 == 0) {
				return failures[n%len(failures)]
			}
			return http.StatusAccepted
		})
		rc.ignoreTime = true
		e := env(t, db, clock)
		ep := createEndpoint(t, e, rc.srv.URL, "*")
		rc.trust(ep.Secret)
		objects := []string{"pay_a", "pay_b", "pay_c", "cst_a", "mer_a"}
		record(t, e, clock.Now(), "payment.created", objects, 4)
		settle(t, e, clock, 25*time.Hour, 40, func() bool { return len(rc.delivered()) == 20 })
		inOrder(t, rc.delivered(), 20)
	})
}

func TestRecoverSendsWhatFailed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		start := time.Now().Add(-time.Hour).UTC()
		clock := apitest.NewClock(start)
		var mu sync.Mutex
		up := false
		rc := newReceiver(t, func(int, got) int {
			mu.Lock()
			defer mu.Unlock()
			if up {
				return http.StatusOK
			}
			return http.StatusInternalServerError
		})
		rc.ignoreTime = true
		// One attempt only, so deliveries fail for good at once.
		e := env(t, db, clock, func(c *app.Config) { c.WebhookSchedule = []time.Duration{} })
		record(t, e, clock.Now(), "payment.created", []string{"pay_early"}, 1) // before the endpoint
		clock.Advance(time.Minute)
		ep := createEndpoint(t, e, rc.srv.URL, "payment.*")
		rc.trust(ep.Secret)
		record(t, e, clock.Now(), "payment.created", []string{"pay_a", "pay_b"}, 1)
		waitFor(t, "the failed attempts", 10*time.Second, func() bool { return len(rc.received()) == 2 })
		time.Sleep(100 * time.Millisecond)
		if n := len(rc.received()); n != 2 {
			t.Fatalf("%d attempts with no retries in the schedule", n)
		}
		mu.Lock()
		up = true
		mu.Unlock()

		var rec struct {
			Events int `json:"events"`
		}
		e.Post("/v1/webhook_endpoints/"+ep.ID+"/recover", map[string]any{"since": start.Add(-time.Minute)}, 200, &rec)
		if rec.Events != 3 {
			t.Fatalf("recovery queued %d events, want the 2 failed and the 1 from before the endpoint", rec.Events)
		}
		waitFor(t, "the recovered events", 10*time.Second, func() bool { return len(rc.delivered()) == 3 })

		// Recovering again sends nothing: all were delivered.
		e.Post("/v1/webhook_endpoints/"+ep.ID+"/recover", map[string]any{"since": start.Add(-time.Minute)}, 200, &rec)
		if rec.Events != 0 {
			t.Fatalf("second recovery queued %d", rec.Events)
		}
		// A redelivery sends one again even so.
		first := rc.delivered()[0]
		var redo struct {
			Endpoints []string `json:"webhook_endpoints"`
		}
		e.Post("/v1/events/"+first.ID+"/redeliver", map[string]any{}, 200, &redo)
		if !slices.Equal(redo.Endpoints, []string{ep.ID}) {
			t.Fatalf("redelivered to %v", redo.Endpoints)
		}
		waitFor(t, "the redelivery", 10*time.Second, func() bool { return len(rc.delivered()) == 4 })
		if g := rc.delivered()[3]; g.ID != first.ID {
			t.Fatalf("redelivered %s, want %s", g.ID, first.ID)
		}
	})
}

// TestTwoNodesDeliverEachEventOnce runs two Tenders on one PostgreSQL, each
// with its own connections, job client and dispatcher, both fanning out and
// draining the same endpoint: every event arrives once with a 2xx, each
// object's in order.
func TestTwoNodesDeliverEachEventOnce(t *testing.T) {
	schemaURL := storetest.PostgresSchemaURL(t, storetest.PostgresURL(t))
	ctx := context.Background()
	open := func() *store.DB {
		db, err := store.Open(ctx, schemaURL, store.Options{MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := app.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		return db
	}
	rc := newReceiver(t, ok)
	keys, err := secret.ParseKeyring(secret.NewKey(), nil)
	if err != nil {
		t.Fatal(err)
	}
	first := env(t, open(), nil, func(c *app.Config) { c.MasterKeys = keys })
	second, err := app.New(open(), app.Config{MasterKeys: keys, WebhookAllowPrivate: true,
		WebhookPollInterval: 10 * time.Millisecond, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	if err := second.Start(runCtx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Jobs.Stop(context.Background()) })
	ep := createEndpoint(t, first, rc.srv.URL, "*")
	rc.trust(ep.Secret)
	var objects []string
	for i := range 20 {
		objects = append(objects, fmt.Sprintf("pay_%02d", i))
	}
	record(t, first, time.Now(), "payment.created", objects, 5)
	waitFor(t, "100 deliveries", 30*time.Second, func() bool { return len(rc.delivered()) >= 100 })
	time.Sleep(200 * time.Millisecond) // a duplicate would arrive by now
	inOrder(t, rc.delivered(), 100)
}

// TestGuardRefusesAtConnect: an endpoint named by a host name is accepted,
// but when the name resolves to loopback the delivery is refused at
// connect, recorded as a failed attempt, and nothing reaches the address.
func TestGuardRefusesAtConnect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rc := newReceiver(t, ok)
		e := env(t, db, nil, func(c *app.Config) { c.WebhookAllowPrivate = false })
		port := rc.srv.URL[strings.LastIndex(rc.srv.URL, ":"):]
		ep := createEndpoint(t, e, "https://localhost"+port+"/hooks", "*")
		record(t, e, time.Now(), "payment.created", []string{"pay_a"}, 1)
		var attempts struct{ Data []webhooks.AttemptView }
		waitFor(t, "the refused attempt", 10*time.Second, func() bool {
			e.Do("GET", "/v1/webhook_endpoints/"+ep.ID+"/attempts", nil).Decode(t, &attempts)
			return len(attempts.Data) > 0
		})
		a := attempts.Data[0]
		if a.Succeeded || a.Status != nil || a.Error == nil || !strings.Contains(*a.Error, "not public") {
			t.Fatalf("attempt %+v; want a refusal before connecting", a)
		}
		if n := len(rc.received()); n != 0 {
			t.Fatalf("the loopback receiver got %d requests", n)
		}
	})
}

// TestDeadSenderIsReplaced: a node that leased a delivery and died (its
// lease left in the row, no job) holds it only until the lease runs out;
// then the sweep sends it. (The row's lease is a second, where a real one
// is the send timeout and 15 s.)
func TestDeadSenderIsReplaced(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := apitest.NewClock(time.Now())
		rc := newReceiver(t, ok)
		rc.ignoreTime = true
		// No fan-out of its own: the delivery is written below as a dead
		// node left it.
		e := env(t, db, clock, func(c *app.Config) { c.WebhookPollInterval = time.Hour })
		ep := createEndpoint(t, e, rc.srv.URL, "*")
		record(t, e, clock.Now(), "payment.created", []string{"pay_a"}, 1)
		ctx := context.Background()
		evs, _, _ := e.App.Events.List(ctx, e.PlatformID, event.Query{Page: store.Page{Limit: 1}})
		_, err := db.ExecContext(ctx, `INSERT INTO webhook_deliveries (platform_id, endpoint_id, event_id, event_seq, object_id, state,
			attempts, next_attempt_at, lease_owner, lease_until, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, 'dead-node', $7, $6, $6)`,
			e.PlatformID, ep.ID, evs[0].ID, evs[0].Sequence, "pay_a", store.TimeOf(clock.Now()), store.TimeOf(time.Now().Add(time.Second)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `UPDATE webhook_endpoints SET cursor_seq = $1`, evs[0].Sequence); err != nil {
			t.Fatal(err)
		}
		if n, _ := e.App.Webhooks.Sweep(ctx); n != 0 {
			t.Fatalf("swept %d heads under a live lease", n)
		}
		// Leases are in wall-clock time: moving the service's clock on
		// does not end one, its running out does.
		clock.Advance(time.Hour)
		if n, _ := e.App.Webhooks.Sweep(ctx); n != 0 {
			t.Fatalf("swept %d heads under a live lease after the clock moved", n)
		}
		time.Sleep(1100 * time.Millisecond)
		if n, _ := e.App.Webhooks.Sweep(ctx); n != 1 {
			t.Fatalf("swept %d heads after the lease ran out, want 1", n)
		}
		waitFor(t, "the delivery", 10*time.Second, func() bool { return len(rc.delivered()) == 1 })
	})
}

// TestFailingForDaysDisables: an endpoint that fails every delivery, with
// events still coming, is disabled once its failures span DisableAfter
// (5 days), with webhook_endpoint.disabled carrying the failing event.
func TestFailingForDaysDisables(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := apitest.NewClock(time.Now())
		rc := newReceiver(t, func(int, got) int { return http.StatusInternalServerError })
		e := env(t, db, clock)
		ep := createEndpoint(t, e, rc.srv.URL, "payment.*")
		start := clock.Now()
		var got webhooks.EndpointView
		for day := 0; day < 14; day++ {
			record(t, e, clock.Now(), "payment.created", []string{fmt.Sprintf("pay_%d", day)}, 1)
			waitFor(t, "an attempt", 10*time.Second, func() bool { return len(rc.received()) > 0 })
			clock.Advance(12 * time.Hour)
			if _, err := e.App.Webhooks.Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			e.Do("GET", "/v1/webhook_endpoints/"+ep.ID, nil).Decode(t, &got)
			if got.Status == webhooks.StatusDisabled {
				break
			}
		}
		if got.Status != webhooks.StatusDisabled || got.DisabledReason == nil || *got.DisabledReason != "failing" {
			t.Fatalf("after %v of failures: %+v", clock.Now().Sub(start), got)
		}
		if got.DisabledAt.Sub(*got.FailingSince) < webhooks.DefaultDisableAfter {
			t.Fatalf("disabled %v after failing began, before %v", got.DisabledAt.Sub(*got.FailingSince), webhooks.DefaultDisableAfter)
		}
		var feed struct{ Data []event.View }
		e.Do("GET", "/v1/events?type=webhook_endpoint.disabled", nil).Decode(t, &feed)
		if len(feed.Data) != 1 || feed.Data[0].ObjectID != ep.ID {
			t.Fatalf("webhook_endpoint.disabled events: %+v", feed.Data)
		}
		var data webhooks.EndpointView
		if err := json.Unmarshal(feed.Data[0].Data.Object, &data); err != nil || data.LastFailure == nil ||
			data.LastFailure.Status == nil || *data.LastFailure.Status != 500 || data.LastFailure.Event == "" {
			t.Fatalf("the event's endpoint carries no failure: %+v %v", data, err)
		}
	})
}

// TestConcurrentRotationsChain: two rotations at once both take effect, one
// after the other: the later one's previous secret is the earlier one's
// new secret, so every secret an answer showed signs for its overlap. Read
// without the row's lock, both would rotate from the same old secret and
// the first answer's secret would never sign.
func TestConcurrentRotationsChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := env(t, db, nil)
		rc := newReceiver(t, ok)
		ep := createEndpoint(t, e, rc.srv.URL, "*")
		ctx := context.Background()
		var wg sync.WaitGroup
		secrets := make([]string, 2)
		for i := range secrets {
			wg.Go(func() {
				r, err := e.App.Webhooks.RotateSecret(ctx, e.PlatformID, ep.ID, time.Hour, "")
				if err != nil {
					t.Error(err)
					return
				}
				secrets[i] = r.View().Secret
			})
		}
		wg.Wait()
		// Both secrets now sign: the latest as current, the other as previous.
		rc.trust(secrets[0])
		record(t, e, time.Now(), "payment.created", []string{"pay_a"}, 1)
		waitFor(t, "a delivery", 10*time.Second, func() bool { return len(rc.delivered()) == 1 })
		rc.trust(secrets[1])
		record(t, e, time.Now(), "payment.created", []string{"pay_b"}, 1)
		waitFor(t, "a second delivery", 10*time.Second, func() bool { return len(rc.delivered()) == 2 })
		for i, g := range rc.delivered() {
			if !g.Verified[0] {
				t.Errorf("rotation %d's secret does not sign: its rotation was lost", i+1)
			}
		}
	})
}
