package httpapi_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/wallet"
)

// hygiene is a platform with a connected merchant and a customer with a
// saved card, so that the bodies below are valid but for the one fault
// each case puts in.
type hygiene struct {
	*apitest.Env
	tb       testing.TB
	merchant connect.MerchantView
	customer wallet.CustomerView
}

func newHygiene(tb testing.TB, db *store.DB) *hygiene {
	tb.Helper()
	h := &hygiene{Env: apitest.NewWithEmulator(tb, db, app.Config{}, emulator.Options{}), tb: tb}
	h.merchant = h.ConnectedMerchant("Baker")
	h.Post("/v1/customers", `{"email":"ann@example.com","name":"Ann"}`, 200, &h.customer)
	h.saveCard(h.customer.ID)
	return h
}

// saveCard saves a test card as a front end would, through a SetupIntent.
func (h *hygiene) saveCard(customerID string) {
	h.tb.Helper()
	var si wallet.SetupIntentView
	h.Post("/v1/customers/"+customerID+"/setup_intents", `{}`, 200, &si)
	if _, err := h.StripeClient().V1SetupIntents.Confirm(context.Background(), si.ID,
		&stripe.SetupIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa")}); err != nil {
		h.tb.Fatal(err)
	}
	h.Post("/v1/customers/"+customerID+"/payment_methods", map[string]string{"setup_intent": si.ID}, 200, nil)
}

// state is what a refused request must leave as it was: the rows of every
// table a request can write, and how many requests reached Stripe.
type state struct {
	rows   map[string]int
	stripe int64
}

var writtenTables = []string{"merchants", "connect_links", "customers", "payment_methods", "consents", "wallet_sessions",
	"payments", "refunds", "checkout_links", "fee_policies", "events", "idempotency_keys"}

func (h *hygiene) state() state {
	h.tb.Helper()
	s := state{rows: map[string]int{}, stripe: h.EmulatorRequests.Load()}
	for _, table := range writtenTables {
		var n int
		if err := h.App.DB.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			h.tb.Fatal(err)
		}
		s.rows[table] = n
	}
	return s
}

// unchanged fails unless nothing was written and Stripe was not called
// since before.
func (h *hygiene) unchanged(name string, before state) {
	h.tb.Helper()
	after := h.state()
	for table, n := range before.rows {
		if after.rows[table] != n {
			h.tb.Errorf("%s: %s went from %d to %d rows", name, table, n, after.rows[table])
		}
	}
	if after.stripe != before.stripe {
		h.tb.Errorf("%s: %d requests reached Stripe", name, after.stripe-before.stripe)
	}
}

// stripeCustomers counts the Customers at Stripe.
func (h *hygiene) stripeCustomers() int {
	h.tb.Helper()
	n := 0
	for _, err := range h.StripeClient().V1Customers.List(context.Background(), &stripe.CustomerListParams{}).All(context.Background()) {
		if err != nil {
			h.tb.Fatal(err)
		}
		n++
	}
	return n
}

type badRequest struct {
	name, method, path, body string
	status                   int
	code, param              string
}

// refuse sends each request and checks the answer names the field at
// fault and that nothing was written anywhere.
func (h *hygiene) refuse(tests []badRequest, opts ...apitest.Option) {
	h.tb.Helper()
	for _, tt := range tests {
		before := h.state()
		r := h.Do(tt.method, tt.path, tt.body, opts...)
		if e := r.Err(); r.Status != tt.status || e.Param != tt.param || tt.code != "" && e.Code != tt.code {
			h.tb.Errorf("%s: %d %s; want %d %s param %q", tt.name, r.Status, r.Body, tt.status, tt.code, tt.param)
		}
		h.unchanged(tt.name, before)
	}
}

// payment is a valid payment body with extra fields merged in, as JSON
// text so that a case can carry bytes JSON encoding would not.
func (h *hygiene) payment(extra string) string {
	return `{"merchant":"` + h.merchant.ID + `","customer":"` + h.customer.ID + `","amount":1000,"currency":"usd"` + extra + `}`
}

func (h *hygiene) checkout(extra string) string {
	return `{"merchant":"` + h.merchant.ID + `","amount":1000,"currency":"usd"` + extra + `}`
}

func (h *hygiene) consent(evidence string) string {
	return `{"merchant":"` + h.merchant.ID + `","evidence":{` + evidence + `}}`
}

// TestTextRefused: the hostile user's reports, and their kin: control
// characters and invalid UTF-8 in text fields, metadata and nested fields
// are refused with a 400 naming the field by its path, and nothing is
// created, in Tender or at Stripe.
func TestTextRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHygiene(t, db)
		cst := "/v1/customers/" + h.customer.ID
		customersAtStripe := h.stripeCustomers()
		h.refuse([]badRequest{
			{"NUL in customer name", "POST", "/v1/customers", `{"name":"Ann\u0000Evil"}`, 400, "parameter_invalid", "name"},
			{"escape in customer name", "POST", "/v1/customers", `{"name":"Ann\u001b[31m"}`, 400, "parameter_invalid", "name"},
			{"invalid UTF-8 in customer name", "POST", "/v1/customers", "{\"name\":\"Ann\xff\"}", 400, "parameter_invalid", "name"},
			{"NUL in customer update", "POST", cst, `{"name":"Ann\u0000"}`, 400, "parameter_invalid", "name"},
			{"NUL in customer external_id", "POST", "/v1/customers", `{"external_id":"\u0000"}`, 400, "parameter_invalid", "external_id"},
			{"newline in customer email", "POST", "/v1/customers", `{"email":"a@example.com\nBcc: b@example.com"}`, 400, "parameter_invalid", "email"},
			{"NUL in metadata key", "POST", "/v1/customers", `{"metadata":{"a\u0000":"x"}}`, 400, "parameter_invalid", "metadata"},
			{"NUL in metadata value", "POST", "/v1/customers", `{"metadata":{"k":"x\u0000"}}`, 400, "parameter_invalid", "metadata[k]"},
			{"invalid UTF-8 in metadata value", "POST", "/v1/customers", "{\"metadata\":{\"k\":\"\xc3\"}}", 400, "parameter_invalid", "metadata[k]"},
			{"NUL in merchant name", "POST", "/v1/merchants", `{"name":"Baker\u0000"}`, 400, "parameter_invalid", "name"},
			{"tab in merchant name", "POST", "/v1/merchants", `{"name":"Baker\tand sons"}`, 400, "parameter_invalid", "name"},
			{"NUL in merchant update", "POST", "/v1/merchants/" + h.merchant.ID, `{"name":"\u0000"}`, 400, "parameter_invalid", "name"},
			{"NUL in payment description", "POST", "/v1/payments", h.payment(`,"description":"Bread\u0000"`), 400, "parameter_invalid", "description"},
			{"NUL in payment reference", "POST", "/v1/payments", h.payment(`,"reference":"order-1\u0000"`), 400, "parameter_invalid", "reference"},
			{"newline in payment reference", "POST", "/v1/payments", h.payment(`,"reference":"order\n1"`), 400, "parameter_invalid", "reference"},
			{"NUL in a split's merchant", "POST", "/v1/payments", h.payment(`,"splits":[{"merchant":"` + h.merchant.ID + `","amount":500},{"merchant":"mer_\u0000","amount":500}]`),
				400, "parameter_invalid", "splits[1][merchant]"},
			{"NUL in payment metadata", "POST", "/v1/payments", h.payment(`,"metadata":{"order":"\u0000"}`), 400, "parameter_invalid", "metadata[order]"},
			{"NUL in payment_method", "POST", "/v1/payments", h.payment(`,"payment_method":"pmt_\u0000"`), 400, "parameter_invalid", "payment_method"},
			{"NUL in consent text", "POST", cst + "/consents", h.consent(`"text":"I agree\u0000","text_version":"1"`), 400, "parameter_invalid", "evidence[text]"},
			{"escape in consent text", "POST", cst + "/consents", h.consent(`"text":"I agree\u001b","text_version":"1"`), 400, "parameter_invalid", "evidence[text]"},
			{"newline in consent text_version", "POST", cst + "/consents", h.consent(`"text":"I agree","text_version":"1\n2"`), 400, "parameter_invalid", "evidence[text_version]"},
			{"NUL in checkout description", "POST", "/v1/checkout_links", h.checkout(`,"description":"\u0000"`), 400, "parameter_invalid", "description"},
			{"NUL in checkout reference", "POST", "/v1/checkout_links", h.checkout(`,"reference":"\u0000"`), 400, "parameter_invalid", "reference"},
			{"NUL in platform name", "POST", "/v1/platform", `{"name":"Hub\u0000"}`, 400, "parameter_invalid", "name"},
			{"NUL in a webhook secret", "POST", "/v1/platform/stripe", `{"secret_key":"sk_test_0123456789abcdef","webhook_secrets":["whsec_ok0123456","whsec_\u0000"]}`,
				400, "parameter_invalid", "webhook_secrets[1]"},
			{"NUL in a return_url", "POST", "/v1/wallet_sessions", `{"customer":"` + h.customer.ID + `","return_url":"https://platform.example/\u0000"}`,
				400, "parameter_invalid", "return_url"},
			{"NUL in refund metadata", "POST", "/v1/payments/pay_000000000000000000000000/refunds", `{"metadata":{"k":"\u0000"}}`, 400, "parameter_invalid", "metadata[k]"},
		})
		if n := h.stripeCustomers(); n != customersAtStripe {
			t.Errorf("%d Customers at Stripe, want %d: a refused customer left one", n, customersAtStripe)
		}
	})
}

// TestTextLengths: every text field has its maximum, counted in
// characters, the platform name among them (900,000 characters were once
// accepted).
func TestTextLengths(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHygiene(t, db)
		long := func(n int) string { return strings.Repeat("a", n) }
		h.refuse([]badRequest{
			{"platform name of 900,000 characters", "POST", "/v1/platform", `{"name":"` + long(900_000) + `"}`, 400, "parameter_invalid", "name"},
			{"platform name of 256 characters", "POST", "/v1/platform", `{"name":"` + long(256) + `"}`, 400, "parameter_invalid", "name"},
			{"customer name", "POST", "/v1/customers", `{"name":"` + long(256) + `"}`, 400, "parameter_invalid", "name"},
			{"merchant email", "POST", "/v1/merchants", `{"email":"` + long(250) + `@x.io"}`, 400, "parameter_invalid", "email"},
			{"payment description", "POST", "/v1/payments", h.payment(`,"description":"` + long(1001) + `"`), 400, "parameter_invalid", "description"},
			{"statement descriptor suffix", "POST", "/v1/payments", h.payment(`,"statement_descriptor_suffix":"` + long(23) + `"`), 400, "parameter_invalid", "statement_descriptor_suffix"},
			{"consent text", "POST", "/v1/customers/" + h.customer.ID + "/consents", h.consent(`"text":"` + long(5001) + `","text_version":"1"`), 400, "parameter_invalid", "evidence[text]"},
			{"metadata key", "POST", "/v1/merchants", `{"metadata":{"` + long(41) + `":"x"}}`, 400, "parameter_invalid", "metadata"},
			{"metadata value", "POST", "/v1/merchants", `{"metadata":{"k":"` + long(501) + `"}}`, 400, "parameter_invalid", "metadata[k]"},
			{"connect link return_url", "POST", "/v1/merchants/" + h.merchant.ID + "/connect_links",
				`{"type":"express","return_url":"https://p.example/` + long(2048) + `","refresh_url":"https://p.example/"}`, 400, "parameter_invalid", "return_url"},
		})
		// At the limit, counted in characters: 255 two-byte letters are a
		// name.
		name := strings.Repeat("é", 255)
		var p struct{ Name string }
		h.Post("/v1/platform", map[string]string{"name": name}, 200, &p)
		if p.Name != name {
			t.Fatalf("platform name %q", p.Name)
		}
	})
}

// TestMultilineText: the fields where a line break makes sense keep it.
func TestMultilineText(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHygiene(t, db)
		var pay struct{ Description string }
		h.Post("/v1/payments", h.payment(`,"description":"Bread\nCake\tx2","metadata":{"address":"1 Main St\r\nTown"}`), 200, &pay)
		if pay.Description != "Bread\nCake\tx2" {
			t.Errorf("description %q", pay.Description)
		}
		h.Post("/v1/customers/"+h.customer.ID+"/consents", h.consent(`"text":"I allow Baker\nto charge my card.","text_version":"1"`), 200, nil)
	})
}

// TestBodyShape: a body that is not an object, a value of the wrong type
// or an unknown field is refused naming the field by its full path.
func TestBodyShape(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHygiene(t, db)
		consents := "/v1/customers/" + h.customer.ID + "/consents"
		h.refuse([]badRequest{
			{"null", "POST", "/v1/customers", `null`, 400, "json_invalid", ""},
			{"null with spaces", "POST", "/v1/payments", " \n null ", 400, "json_invalid", ""},
			{"array", "POST", "/v1/customers", `[]`, 400, "json_invalid", ""},
			{"number", "POST", "/v1/merchants", `5`, 400, "json_invalid", ""},
			{"string", "POST", "/v1/platform", `"name"`, 400, "json_invalid", ""},
			{"null on an action", "POST", "/v1/merchants/" + h.merchant.ID + "/archive", `null`, 400, "json_invalid", ""},
			{"expires_at as a word", "POST", "/v1/checkout_links", h.checkout(`,"expires_at":"tomorrow"`), 400, "parameter_invalid", "expires_at"},
			{"expires_at as a number", "POST", "/v1/checkout_links", h.checkout(`,"expires_at":1767225600`), 400, "parameter_invalid", "expires_at"},
			{"amount as a string", "POST", "/v1/payments", `{"amount":"1000"}`, 400, "parameter_invalid", "amount"},
			{"amount too large for int64", "POST", "/v1/payments", h.payment(`,"application_fee":9223372036854775808`), 400, "parameter_invalid", "application_fee"},
			{"a split's amount as a string", "POST", "/v1/payments", h.payment(`,"splits":[{"merchant":"m","amount":1},{"merchant":"n","amount":"2"}]`),
				400, "parameter_invalid", "splits[1][amount]"},
			{"evidence text as a number", "POST", consents, h.consent(`"text":5,"text_version":"1"`), 400, "parameter_invalid", "evidence[text]"},
			{"evidence as a string", "POST", consents, `{"merchant":"m","evidence":"yes"}`, 400, "parameter_invalid", "evidence"},
			{"fee rule field as a string", "POST", "/v1/fee_policy", `{"rules":{"usd":{"basis_points":"290"}}}`, 400, "parameter_invalid", "rules[usd][basis_points]"},
			{"unknown nested field", "POST", consents, h.consent(`"text":"ok","text_version":"1","colour":"red"`), 400, "parameter_unknown", "evidence[colour]"},
			{"unknown field in a split", "POST", "/v1/payments", h.payment(`,"splits":[{"merchant":"m","amount":1000,"note":"x"}]`), 400, "parameter_unknown", "splits[0][note]"},
		})
		r := h.Do("POST", "/v1/checkout_links", h.checkout(`,"expires_at":"tomorrow"`))
		if !strings.Contains(r.Err().Message, "RFC 3339") {
			t.Errorf("expires_at's message does not say what is expected: %s", r.Body)
		}
	})
}

// TestCountsRangeChecked: a duration is checked as the number sent, before
// any arithmetic: 9223372037 seconds once overflowed into an expiry in 1734.
func TestCountsRangeChecked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHygiene(t, db)
		link := func(expiresIn string) string {
			return `{"type":"express","return_url":"https://p.example/","refresh_url":"https://p.example/","expires_in":` + expiresIn + `}`
		}
		session := func(expiresIn string) string {
			return `{"customer":"` + h.customer.ID + `","return_url":"https://p.example/","expires_in":` + expiresIn + `}`
		}
		links := "/v1/merchants/" + h.merchant.ID + "/connect_links"
		var tests []badRequest
		for _, n := range []string{"9223372037", "9223372036854775807", "-9223372036854775808", "-1", "59", "604801"} {
			tests = append(tests, badRequest{"connect link expires_in " + n, "POST", links, link(n), 400, "parameter_invalid", "expires_in"})
		}
		for _, n := range []string{"9223372037", "9223372036854775807", "-1", "59", "86401"} {
			tests = append(tests, badRequest{"wallet session expires_in " + n, "POST", "/v1/wallet_sessions", session(n), 400, "parameter_invalid", "expires_in"})
		}
		for _, at := range []string{"9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", time.Now().Add(8 * 24 * time.Hour).UTC().Format(time.RFC3339)} {
			tests = append(tests, badRequest{"checkout expires_at " + at, "POST", "/v1/checkout_links", h.checkout(`,"expires_at":"` + at + `"`), 400, "parameter_invalid", "expires_at"})
		}
		h.refuse(tests)
		// The longest allowed lifetime still works and ends when it says.
		var l struct {
			ExpiresAt time.Time `json:"expires_at"`
		}
		h.Post(links, link("604800"), 200, &l)
		if d := time.Until(l.ExpiresAt); d < 6*24*time.Hour || d > 7*24*time.Hour+time.Minute {
			t.Errorf("a link of 604800 seconds expires at %s", l.ExpiresAt)
		}
	})
}

// TestIDsRefused: an id that cannot be one is a 404 in a path and a 400
// naming the parameter in a query, never a 500 (PostgreSQL refuses a NUL
// in a query's text), and nothing is written.
func TestIDsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHygiene(t, db)
		cst := "/v1/customers/" + h.customer.ID
		var tests []badRequest
		for _, bad := range []string{"%00", "cst_%00", url.PathEscape(h.merchant.ID), strings.ToUpper(h.customer.ID), h.customer.ID + "0", "%FF", "cst_" + strings.Repeat("u", 24)} {
			tests = append(tests, badRequest{"customer " + bad, "GET", "/v1/customers/" + bad, "", 404, "resource_missing", "customer"})
		}
		nul := "x%00"
		for _, route := range []struct{ method, path, param string }{
			{"GET", "/v1/api_keys/" + nul, "id"},
			{"POST", "/v1/api_keys/" + nul + "/revoke", "id"},
			{"GET", "/v1/merchants/" + nul, "merchant"},
			{"POST", "/v1/merchants/" + nul, "merchant"},
			{"POST", "/v1/merchants/" + nul + "/archive", "merchant"},
			{"POST", "/v1/merchants/" + nul + "/connect_links", "merchant"},
			{"POST", "/v1/merchants/" + nul + "/refresh", "merchant"},
			{"POST", "/v1/merchants/" + nul + "/disconnect", "merchant"},
			{"GET", "/v1/merchants/" + nul + "/fee_policy", "merchant"},
			{"POST", "/v1/merchants/" + nul + "/fee_policy", "merchant"},
			{"DELETE", "/v1/merchants/" + nul + "/fee_policy", "merchant"},
			{"POST", "/v1/customers/" + nul, "customer"},
			{"POST", "/v1/customers/" + nul + "/archive", "customer"},
			{"POST", "/v1/customers/" + nul + "/setup_intents", "customer"},
			{"POST", "/v1/customers/" + nul + "/payment_methods", "customer"},
			{"GET", "/v1/customers/" + nul + "/payment_methods", "customer"},
			{"GET", cst + "/payment_methods/" + nul, "payment_method"},
			{"POST", cst + "/payment_methods/" + nul + "/default", "payment_method"},
			{"POST", cst + "/payment_methods/" + nul + "/detach", "payment_method"},
			{"POST", "/v1/customers/" + nul + "/consents", "customer"},
			{"GET", "/v1/customers/" + nul + "/consents", "customer"},
			{"DELETE", cst + "/consents/" + nul, "consent"},
			{"GET", "/v1/payments/" + nul, "id"},
			{"POST", "/v1/payments/" + nul + "/capture", "id"},
			{"POST", "/v1/payments/" + nul + "/cancel", "id"},
			{"POST", "/v1/payments/" + nul + "/refunds", "id"},
			{"GET", "/v1/payments/" + nul + "/refunds", "id"},
			{"GET", "/v1/refunds/" + nul, "id"},
			{"GET", "/v1/checkout_links/" + nul, "id"},
			{"POST", "/v1/checkout_links/" + nul + "/cancel", "id"},
		} {
			tests = append(tests, badRequest{route.method + " " + route.path, route.method, route.path, "", 404, "resource_missing", route.param})
		}
		for _, q := range []struct{ path, param string }{
			{"/v1/payments?merchant=mer_%00", "merchant"},
			{"/v1/payments?merchant=" + h.customer.ID, "merchant"},
			{"/v1/payments?customer=cst_short", "customer"},
			{"/v1/payments?reference=order%00", "reference"},
			{"/v1/payments?reference=order%FF", "reference"},
			{"/v1/payments?status=%00", "status"},
			{"/v1/payments?starting_after=pay_%00", "starting_after"},
			{"/v1/payments?ending_before=" + h.merchant.ID, "ending_before"},
			{"/v1/customers?external_id=%00", "external_id"},
			{"/v1/customers?email=a%00@example.com", "email"},
			{"/v1/customers?starting_after=%00", "starting_after"},
			{"/v1/merchants?external_id=%00", "external_id"},
			{"/v1/merchants?account_id=acct_%00", "account_id"},
			{"/v1/merchants?status=%00", "status"},
			{"/v1/merchants?ending_before=%00", "ending_before"},
			{"/v1/api_keys?starting_after=key_%00", "starting_after"},
			{"/v1/payments/pay_000000000000000000000000/refunds?starting_after=%00", "starting_after"},
			{"/v1/payments?reference=" + strings.Repeat("r", 256), "reference"},
		} {
			tests = append(tests, badRequest{"GET " + q.path, "GET", q.path, "", 400, "parameter_invalid", q.param})
		}
		h.refuse(tests)
		// A well-formed id of an object that exists is still found.
		if r := h.Do("GET", "/v1/payments?merchant="+h.merchant.ID+"&customer="+h.customer.ID, nil); r.Status != 200 {
			t.Errorf("list by real ids: %d %s", r.Status, r.Body)
		}
	})
}

// TestIdempotencyKeyText: the key is text like any other: no tab, no
// bytes that are not UTF-8 (HTTP itself refuses the other controls).
func TestIdempotencyKeyText(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHygiene(t, db)
		for _, key := range []string{"key\twith tab", "key\xff", strings.Repeat("k", 256)} {
			h.refuse([]badRequest{{fmt.Sprintf("Idempotency-Key %q", key), "POST", "/v1/customers", `{"name":"Ann"}`, 400, "parameter_invalid", "Idempotency-Key"}},
				apitest.WithIdempotencyKey(key))
		}
		h.Post("/v1/customers", `{"name":"Ann"}`, 200, nil)
	})
}
