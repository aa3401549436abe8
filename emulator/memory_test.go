package emulator_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
)

// TestEventsKeepTheirVersion: events share an intent or charge with the
// store until it changes (see version.go); every event still shows the
// object as it was when it happened, after later changes and after the
// oldest events were dropped.
func TestEventsKeepTheirVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *emulator.Options) { o.EventRetention = 6 })
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000),
		Currency: stripe.String("usd"), CaptureMethod: stripe.String("manual"), PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true)})
	mustf(t, err, "authorize")
	first := all(t, e.sc.V1Events.List(ctx(), &stripe.EventListParams{}).All(ctx()))
	_, err = e.sc.V1PaymentIntents.Capture(ctx(), pi.ID, &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(800)})
	mustf(t, err, "capture")
	for range 2 {
		_, err = e.sc.V1Refunds.Create(ctx(), &stripe.RefundCreateParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(100)})
		mustf(t, err, "refund")
	}
	type seen struct {
		typ, status  string
		refunded     int64
		capturable   int64
		amountRecvd  int64
		latestCharge bool
	}
	var got []seen
	var ids []string
	for _, ev := range all(t, e.sc.V1Events.List(ctx(), &stripe.EventListParams{}).All(ctx())) {
		ids = append(ids, ev.ID)
		var o struct {
			Status           string `json:"status"`
			AmountRefunded   int64  `json:"amount_refunded"`
			AmountCapturable int64  `json:"amount_capturable"`
			AmountReceived   int64  `json:"amount_received"`
			LatestCharge     string `json:"latest_charge"`
		}
		mustf(t, json.Unmarshal(ev.Data.Raw, &o), "decode %s", ev.Type)
		got = append(got, seen{string(ev.Type), o.Status, o.AmountRefunded, o.AmountCapturable, o.AmountReceived, o.LatestCharge != ""})
	}
	// Nine events were made, newest first; retention keeps six. Capturing
	// 800 of 1,000 released 200, which counts as refunded.
	want := []seen{
		{"charge.refunded", "succeeded", 400, 0, 0, false},
		{"refund.created", "succeeded", 0, 0, 0, false},
		{"charge.refunded", "succeeded", 300, 0, 0, false},
		{"refund.created", "succeeded", 0, 0, 0, false},
		{"payment_intent.succeeded", "succeeded", 0, 0, 800, true},
		{"charge.captured", "succeeded", 200, 0, 0, false},
	}
	if len(got) != len(want) {
		t.Fatalf("events %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if st, _, body := e.raw("GET", "/v1/events/"+ids[len(ids)-1], "", nil); st != http.StatusOK {
		t.Errorf("GET the oldest event kept: %d %s", st, body)
	}
	dropped := first[len(first)-1].ID // payment_intent.created
	if st, _, body := e.raw("GET", "/v1/events/"+dropped, "", nil); st != http.StatusNotFound {
		t.Errorf("GET a dropped event: %d %s", st, body)
	}
}

// TestSnapshotKeepsEventsAndVersions: after a restart every event and
// intent reads back byte for byte, whether its version was shared with
// the store or copied.
func TestSnapshotKeepsEventsAndVersions(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "emulator.snapshot")
	base := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	e, stop := snapshotEnv(t, file, base)
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000),
		Currency: stripe.String("usd"), CaptureMethod: stripe.String("manual"), PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true)})
	mustf(t, err, "authorize")
	_, err = e.sc.V1PaymentIntents.Capture(ctx(), pi.ID, nil)
	mustf(t, err, "capture")
	pending, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000),
		Currency: stripe.String("usd"), PaymentMethod: stripe.String("pm_card_authenticationRequired"), Confirm: stripe.Bool(true),
		ReturnURL: stripe.String("https://shop.example/back")})
	mustf(t, err, "3-D Secure")
	if pending.Status != stripe.PaymentIntentStatusRequiresAction || pending.NextAction == nil {
		t.Fatalf("intent %s, next_action %v; want requires_action", pending.Status, pending.NextAction)
	}
	paths := []string{"/v1/payment_intents/" + pi.ID, "/v1/payment_intents/" + pending.ID}
	for _, ev := range all(t, e.sc.V1Events.List(ctx(), nil).All(ctx())) {
		paths = append(paths, "/v1/events/"+ev.ID)
	}
	before := map[string][]byte{}
	for _, p := range paths {
		st, _, body := e.raw("GET", p, "", nil)
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, st, body)
		}
		before[p] = body
	}
	stop()

	e, stop = snapshotEnv(t, file, base)
	defer stop()
	for _, p := range paths {
		if st, _, body := e.raw("GET", p, "", nil); st != http.StatusOK || !bytes.Equal(body, before[p]) {
			t.Errorf("GET %s after a restart: %d\n%s\nwant\n%s", p, st, body, before[p])
		}
	}
}

// TestIdempotentReplayOfAnIntentThatChanged: a stored response of a
// PaymentIntent is rendered again from the version its event keeps, and
// replays byte for byte after the intent has moved on, with a secret or a
// publishable key, and after a restart; so does one kept as sent (an
// intent with its charge expanded), deflated.
func TestIdempotentReplayOfAnIntentThatChanged(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "emulator.snapshot")
	base := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	e, stop := snapshotEnv(t, file, base)
	post := func(path, body, key string, hdr map[string]string) []byte {
		t.Helper()
		h := map[string]string{"Idempotency-Key": key}
		for k, v := range hdr {
			h[k] = v
		}
		st, _, b := e.raw("POST", path, body, h)
		if st != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, st, b)
		}
		return b
	}
	first := map[string][]byte{}
	const create = "amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true&capture_method=manual&payment_method_types%5B%5D=card"
	first["authorized"] = post("/v1/payment_intents", create, "k-authorize", nil)
	var pi struct {
		ID           string `json:"id"`
		ClientSecret string `json:"client_secret"`
	}
	mustf(t, json.Unmarshal(first["authorized"], &pi), "decode")
	const draft = "amount=1500&currency=usd&payment_method=pm_card_visa&payment_method_types%5B%5D=card"
	first["draft"] = post("/v1/payment_intents", draft, "k-draft", nil)
	var d struct {
		ID           string `json:"id"`
		ClientSecret string `json:"client_secret"`
	}
	mustf(t, json.Unmarshal(first["draft"], &d), "decode")
	// Stripe.js confirms with the publishable key and the client secret.
	confirm := "client_secret=" + d.ClientSecret
	first["confirmed"] = post("/v1/payment_intents/"+d.ID+"/confirm", confirm, "k-confirm",
		map[string]string{"Authorization": "Bearer " + emulator.DefaultPublishableKey})
	first["captured"] = post("/v1/payment_intents/"+pi.ID+"/capture", "amount_to_capture=1000", "k-capture", nil)
	// An expanded response is kept as it was sent, deflated: its charge
	// and balance transaction are not versioned with the intent.
	const expanded = create + "&expand%5B%5D=latest_charge.balance_transaction"
	first["expanded"] = post("/v1/payment_intents", expanded, "k-expanded", nil)
	post("/v1/payment_intents/"+pi.ID, "metadata%5Border%5D=42", "k-update", nil)

	replays := func(run string) {
		t.Helper()
		for _, r := range []struct{ name, path, body, key, auth string }{
			{"authorized", "/v1/payment_intents", create, "k-authorize", ""},
			{"draft", "/v1/payment_intents", draft, "k-draft", ""},
			{"confirmed", "/v1/payment_intents/" + d.ID + "/confirm", confirm, "k-confirm", "Bearer " + emulator.DefaultPublishableKey},
			{"captured", "/v1/payment_intents/" + pi.ID + "/capture", "amount_to_capture=1000", "k-capture", ""},
			{"expanded", "/v1/payment_intents", expanded, "k-expanded", ""},
		} {
			h := map[string]string{"Idempotency-Key": r.key}
			if r.auth != "" {
				h["Authorization"] = r.auth
			}
			st, hdr, b := e.raw("POST", r.path, r.body, h)
			if st != http.StatusOK || hdr.Get("Idempotent-Replayed") != "true" || !bytes.Equal(b, first[r.name]) {
				t.Errorf("%s: replay of %s: %d %q\n%s\nwant\n%s", run, r.name, st, hdr.Get("Idempotent-Replayed"), b, first[r.name])
			}
		}
	}
	replays("before the restart")
	stop()
	e, stop = snapshotEnv(t, file, base)
	defer stop()
	replays("after the restart")
}

// TestSnapshotFromBeforeTheSplit: testdata/snapshot-2026-11.gob was written
// by the emulator before objects kept their rarely set fields apart
// (wire.go), the events their versions shared (version.go) and intents
// only the base of their challenge URL; testdata/snapshot-2026-11.json
// holds what that emulator answered for each of its payments, charges,
// disputes and events. Loaded now, they read back byte for byte.
func TestSnapshotFromBeforeTheSplit(t *testing.T) {
	t.Parallel()
	loadSpec(t)
	old, err := os.ReadFile("testdata/snapshot-2026-11.gob")
	mustf(t, err, "read the snapshot")
	file := filepath.Join(t.TempDir(), "emulator.snapshot")
	mustf(t, os.WriteFile(file, old, 0o600), "copy the snapshot")
	var golden map[string]string
	b, err := os.ReadFile("testdata/snapshot-2026-11.json")
	mustf(t, err, "read the bodies")
	mustf(t, json.Unmarshal(b, &golden), "decode the bodies")
	base := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for run := range 2 { // as loaded, then as saved again by this version
		e, stop := snapshotEnv(t, file, base)
		for key, want := range golden {
			path, acct, _ := strings.Cut(key, " ")
			var hdr map[string]string
			if acct != "" {
				hdr = map[string]string{"Stripe-Account": acct}
			}
			if st, _, got := e.raw("GET", path, "", hdr); st != http.StatusOK || string(got) != want {
				t.Errorf("run %d: GET %s: %d\n%s\nwant\n%s", run, key, st, got, want)
			}
		}
		stop()
	}
}
