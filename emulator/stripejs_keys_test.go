package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
)

// browser sends a request as Stripe.js does from a page of another origin:
// the platform's publishable key, an Origin header, Stripe-Account when acct
// is set. It returns the status, headers and decoded body.
func (e *env) browser(method, path string, form url.Values, acct string) (int, http.Header, map[string]any) {
	e.tb.Helper()
	return e.browserWithKey(emulator.DefaultPublishableKey, method, path, form, acct)
}

func (e *env) browserWithKey(key, method, path string, form url.Values, acct string) (int, http.Header, map[string]any) {
	e.tb.Helper()
	body := ""
	if method == http.MethodGet {
		if len(form) > 0 {
			path += "?" + form.Encode()
		}
	} else {
		body = form.Encode()
	}
	req, _ := http.NewRequest(method, e.ts.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Origin", "http://shop.example")
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if acct != "" {
		req.Header.Set("Stripe-Account", acct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		e.tb.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if msg := validateClientView(doc); msg != "" {
		e.tb.Errorf("%s %s → %d does not match Stripe's OpenAPI spec: %s\nbody: %s", method, path, resp.StatusCode, msg, truncate(raw))
	}
	return resp.StatusCode, resp.Header, doc
}

// validateClientView checks a response to a publishable key against
// Stripe's spec. Intents come in their client-side shape, which leaves out
// fields the spec requires, so an intent (and the envelope around it) is
// checked field by field: every field it has must be one the spec knows,
// with a valid value. Everything else is checked whole.
func validateClientView(doc map[string]any) string {
	if _, isErr := doc["error"]; isErr {
		return validatePartial(specDoc.Components.Schemas["error"].Value, doc)
	}
	name, _ := doc["object"].(string)
	ref := specDoc.Components.Schemas[name]
	if ref == nil {
		return "unknown object " + name
	}
	return validatePartial(ref.Value, doc)
}

func validatePartial(schema *openapi3.Schema, doc any) string {
	m, isMap := doc.(map[string]any)
	if !isMap || len(schema.Properties) == 0 {
		return visit(schema, doc)
	}
	if name, _ := m["object"].(string); name != "" && name != "payment_intent" && name != "setup_intent" {
		return visit(schema, doc)
	}
	for k, v := range m {
		p := schema.Properties[k]
		if p == nil {
			return "unknown field " + k
		}
		if msg := validatePartial(p.Value, v); msg != "" {
			return k + ": " + msg
		}
	}
	return ""
}

func jsonFieldNames(m map[string]any) []string {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// TestPublishableKeyRefused: everywhere but the operations Stripe.js
// performs, a publishable key gets Stripe's 401.
func TestPublishableKeyRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	si, err := e.sc.V1SetupIntents.Create(ctx(), &stripe.SetupIntentCreateParams{})
	mustf(t, err, "setup intent")
	pm, err := e.sc.V1PaymentMethods.Create(ctx(), &stripe.PaymentMethodCreateParams{Type: stripe.String("card"),
		Card: &stripe.PaymentMethodCreateCardParams{Token: stripe.String("tok_visa")}})
	mustf(t, err, "payment method")
	secret := url.Values{"client_secret": {si.ClientSecret}}
	for _, c := range []struct {
		method, path string
		form         url.Values
	}{
		{"POST", "/v1/customers", url.Values{"email": {"a@example.com"}}},
		{"GET", "/v1/customers", nil},
		{"GET", "/v1/payment_methods/" + pm.ID, nil},
		{"POST", "/v1/payment_methods/" + pm.ID + "/attach", url.Values{"customer": {"cus_x"}}},
		{"POST", "/v1/setup_intents", nil},
		{"GET", "/v1/setup_intents", nil},
		{"POST", "/v1/setup_intents/" + si.ID, secret},
		{"POST", "/v1/setup_intents/" + si.ID + "/cancel", secret},
		{"POST", "/v1/payment_intents", url.Values{"amount": {"1000"}, "currency": {"usd"}}},
		{"GET", "/v1/payment_intents", nil},
		{"GET", "/v1/balance", nil},
		{"GET", "/v1/events", nil},
		{"GET", "/v1/account", nil},
	} {
		status, hdr, doc := e.browser(c.method, c.path, c.form, "")
		errObj, _ := doc["error"].(map[string]any)
		if status != http.StatusUnauthorized || errObj["type"] != "invalid_request_error" ||
			!strings.HasPrefix(errObj["message"].(string), "This API call cannot be made with a publishable API key. Please use a secret API key.") {
			t.Errorf("%s %s with a publishable key: %d %v", c.method, c.path, status, doc)
		}
		if hdr.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s %s: no CORS header on the error", c.method, c.path)
		}
	}
	req, _ := http.NewRequest("GET", e.ts.URL+"/v1/setup_intents/"+si.ID, nil)
	req.Header.Set("Authorization", "Bearer pk_test_unknown_key_000")
	resp, err := http.DefaultClient.Do(req)
	mustf(t, err, "unknown key")
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an unknown publishable key: %d", resp.StatusCode)
	}
}

// TestPublishableKeyCreatesPaymentMethods: Stripe.js creates PaymentMethods
// from raw test card numbers with the publishable key, on the platform or,
// with Stripe-Account, on a connected account.
func TestPublishableKeyCreatesPaymentMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.connected()
	card := url.Values{"type": {"card"}, "card[number]": {"4000002760003184"}, "card[exp_month]": {"12"},
		"card[exp_year]": {"2034"}, "card[cvc]": {"123"}, "billing_details[name]": {"Ada Lovelace"},
		"billing_details[address][postal_code]": {"10001"}}
	status, _, doc := e.browser("POST", "/v1/payment_methods", card, "")
	if status != http.StatusOK || doc["id"] == nil {
		t.Fatalf("create with a publishable key: %d %v", status, doc)
	}
	if msg := visit(specDoc.Components.Schemas["payment_method"].Value, doc); msg != "" {
		t.Fatalf("payment method: %s", msg)
	}
	pm, err := e.sc.V1PaymentMethods.Retrieve(ctx(), doc["id"].(string), nil)
	mustf(t, err, "the secret key sees it")
	if pm.Card.Last4 != "3184" || pm.Card.ExpYear != 2034 || pm.BillingDetails.Name != "Ada Lovelace" {
		t.Fatalf("created %+v", pm.Card)
	}

	status, _, doc = e.browser("POST", "/v1/payment_methods", card, acct)
	if status != http.StatusOK {
		t.Fatalf("create on %s: %d %v", acct, status, doc)
	}
	id := doc["id"].(string)
	_, err = e.sc.V1PaymentMethods.Retrieve(ctx(), id, &stripe.PaymentMethodRetrieveParams{Params: onAccount(acct)})
	mustf(t, err, "the connected account has it")
	if _, err = e.sc.V1PaymentMethods.Retrieve(ctx(), id, nil); stripeErr(t, err).HTTPStatusCode != 404 {
		t.Fatal("the platform sees the connected account's card")
	}

	bad := url.Values{"type": {"card"}, "card[number]": {"4242424242424241"}}
	status, _, doc = e.browser("POST", "/v1/payment_methods", bad, "")
	if errObj, _ := doc["error"].(map[string]any); status != 402 || errObj["code"] != "incorrect_number" {
		t.Fatalf("a number failing Luhn: %d %v", status, doc)
	}
}

// TestPublishableClientSecret: a publishable key reads and confirms an
// intent only with its client_secret, and sees it in its client-side
// shape.
func TestPublishableClientSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "customer")
	si, err := e.sc.V1SetupIntents.Create(ctx(), &stripe.SetupIntentCreateParams{Customer: stripe.String(cu.ID),
		Metadata: map[string]string{"order": "42"}})
	mustf(t, err, "setup intent")
	other, err := e.sc.V1SetupIntents.Create(ctx(), &stripe.SetupIntentCreateParams{})
	mustf(t, err, "another")
	path := "/v1/setup_intents/" + si.ID

	status, _, doc := e.browser("GET", path, nil, "")
	if errObj, _ := doc["error"].(map[string]any); status != 400 || errObj["code"] != "parameter_missing" || errObj["param"] != "client_secret" {
		t.Fatalf("no client_secret: %d %v", status, doc)
	}
	for _, wrong := range []string{si.ID + "_secret_wrong", other.ClientSecret} {
		status, _, doc = e.browser("GET", path, url.Values{"client_secret": {wrong}}, "")
		errObj, _ := doc["error"].(map[string]any)
		if status != 400 || errObj["param"] != "client_secret" ||
			errObj["message"] != "The client_secret provided does not match the client_secret associated with the SetupIntent." {
			t.Fatalf("client_secret %s: %d %v", wrong, status, doc)
		}
	}
	status, _, doc = e.browser("GET", path, url.Values{"client_secret": {si.ClientSecret}}, "")
	if status != 200 || doc["status"] != "requires_payment_method" {
		t.Fatalf("retrieve: %d %v", status, doc)
	}
	want := []string{"cancellation_reason", "client_secret", "created", "description", "id", "last_setup_error",
		"livemode", "next_action", "object", "payment_method", "payment_method_types", "status", "usage"}
	if got := jsonFieldNames(doc); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("client-side SetupIntent has %v, want %v", got, want)
	}

	_, _, pm := e.browser("POST", "/v1/payment_methods", url.Values{"type": {"card"}, "card[number]": {"4242424242424242"},
		"card[exp_month]": {"12"}, "card[exp_year]": {"2034"}}, "")
	status, _, doc = e.browser("POST", path+"/confirm", url.Values{"client_secret": {si.ClientSecret},
		"payment_method": {pm["id"].(string)}}, "")
	if status != 200 || doc["status"] != "succeeded" || doc["customer"] != nil {
		t.Fatalf("confirm: %d %v", status, doc)
	}
	saved, err := e.sc.V1PaymentMethods.Retrieve(ctx(), pm["id"].(string), nil)
	mustf(t, err, "saved card")
	if saved.Customer == nil || saved.Customer.ID != cu.ID {
		t.Fatalf("the card is not attached to %s: %+v", cu.ID, saved.Customer)
	}
}

// TestPublishableDeclineShape: a decline answered to a publishable key
// carries the PaymentIntent in its client-side shape.
func TestPublishableDeclineShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1500),
		Currency: stripe.String("eur"), Metadata: map[string]string{"order": "7"}})
	mustf(t, err, "payment intent")
	_, _, pm := e.browser("POST", "/v1/payment_methods", url.Values{"type": {"card"}, "card[number]": {"4000000000009995"}}, "")
	status, _, doc := e.browser("POST", "/v1/payment_intents/"+pi.ID+"/confirm", url.Values{
		"client_secret": {pi.ClientSecret}, "payment_method": {pm["id"].(string)}}, "")
	errObj, _ := doc["error"].(map[string]any)
	if status != 402 || errObj["type"] != "card_error" || errObj["decline_code"] != "insufficient_funds" {
		t.Fatalf("decline: %d %v", status, doc)
	}
	intent, _ := errObj["payment_intent"].(map[string]any)
	if intent["status"] != "requires_payment_method" || intent["amount"] != float64(1500) {
		t.Fatalf("declined intent %v", intent)
	}
	for _, hidden := range []string{"metadata", "customer", "amount_received", "latest_charge", "application_fee_amount", "transfer_data"} {
		if _, ok := intent[hidden]; ok {
			t.Errorf("a publishable key sees %s", hidden)
		}
	}
	// The secret key still sees everything, and may pass the client_secret.
	full, err := e.sc.V1PaymentIntents.Retrieve(ctx(), pi.ID, &stripe.PaymentIntentRetrieveParams{ClientSecret: stripe.String(pi.ClientSecret)})
	mustf(t, err, "secret key with client_secret")
	if full.Metadata["order"] != "7" {
		t.Fatalf("secret key view %+v", full.Metadata)
	}
	confirm := "/v1/payment_intents/" + pi.ID + "/confirm"
	status, _, body := e.raw("POST", confirm, "client_secret=pi_x_secret_y&payment_method=pm_card_visa", nil)
	if status != 400 || !strings.Contains(string(body), `"param":"client_secret"`) {
		t.Fatalf("a wrong client_secret with the secret key: %d %s", status, body)
	}
	status, _, body = e.raw("POST", confirm, url.Values{"client_secret": {pi.ClientSecret}, "payment_method": {"pm_card_visa"}}.Encode(), nil)
	if status != 200 || !strings.Contains(string(body), `"status":"succeeded"`) {
		t.Fatalf("secret key confirm with client_secret: %d %s", status, body)
	}
}

// TestPublishableCORS: the API answers the browser's preflight, and every
// response lets the page read it.
func TestPublishableCORS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req, _ := http.NewRequest("OPTIONS", e.ts.URL+"/v1/payment_methods", nil)
	req.Header.Set("Origin", "http://shop.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,stripe-account")
	resp, err := http.DefaultClient.Do(req)
	mustf(t, err, "preflight")
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, h)
	}
	for _, name := range []string{"Authorization", "Content-Type", "Stripe-Account"} {
		if !strings.Contains(h.Get("Access-Control-Allow-Headers"), name) {
			t.Fatalf("preflight does not allow %s: %v", name, h)
		}
	}
	status, hdr, _ := e.browser("POST", "/v1/payment_methods", url.Values{"type": {"card"}, "card[number]": {"4242424242424242"}}, "")
	if status != 200 || hdr.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(hdr.Get("Access-Control-Expose-Headers"), "Request-Id") {
		t.Fatalf("response headers %v", hdr)
	}
}

// TestPublishableKeyOfConnectedAccount: the publishable key Connect OAuth
// hands out acts as the connected account, and only as it.
func TestPublishableKeyOfConnectedAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.registerRedirects(callbackURL)
	status, tok := e.token(url.Values{"grant_type": {"authorization_code"}, "code": {e.connectCode("pk")}}, bearer(emulator.DefaultSecretKey))
	pk, _ := tok["stripe_publishable_key"].(string)
	acct, _ := tok["stripe_user_id"].(string)
	if status != 200 || !strings.HasPrefix(pk, "pk_test_") {
		t.Fatalf("token: %d %v", status, tok)
	}
	card := url.Values{"type": {"card"}, "card[number]": {"4242424242424242"}}
	status, _, doc := e.browserWithKey(pk, "POST", "/v1/payment_methods", card, "")
	if status != 200 {
		t.Fatalf("create with the connected account's key: %d %v", status, doc)
	}
	_, err := e.sc.V1PaymentMethods.Retrieve(ctx(), doc["id"].(string), &stripe.PaymentMethodRetrieveParams{Params: onAccount(acct)})
	mustf(t, err, "the card is on %s", acct)
	if status, _, _ = e.browserWithKey(pk, "POST", "/v1/payment_methods", card, emulator.DefaultPlatformAccount); status != 403 {
		t.Fatalf("the connected account's key addressing the platform: %d", status)
	}
}
