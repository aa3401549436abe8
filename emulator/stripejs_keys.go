package emulator

import "net/http"

// The API as Stripe.js sees it from a browser: a publishable key, a
// client_secret for each intent, a client-side shape of intents, and CORS,
// because the Stripe object lives in the embedding page's origin and calls
// the API from there, as Stripe.js calls api.stripe.com.

// publishableRoutes are the operations Stripe accepts a publishable key
// for: creating PaymentMethods, and retrieving and confirming an intent with
// its client_secret. Every other operation answers a publishable key with a
// 401. The 3-D Secure challenge under /_emulator/authenticate needs no key.
var publishableRoutes = map[string]bool{
	"POST /v1/payment_methods":              true,
	"GET /v1/setup_intents/{id}":            true,
	"POST /v1/setup_intents/{id}/confirm":   true,
	"GET /v1/payment_intents/{id}":          true,
	"POST /v1/payment_intents/{id}/confirm": true,
}

// clientSecretRoutes are the operations that take an intent's
// client_secret, with the intent's name in Stripe's error message. A
// publishable key must give it; a secret key may.
var clientSecretRoutes = map[string]string{
	"GET /v1/setup_intents/{id}":            "SetupIntent",
	"POST /v1/setup_intents/{id}/confirm":   "SetupIntent",
	"GET /v1/payment_intents/{id}":          "PaymentIntent",
	"POST /v1/payment_intents/{id}/confirm": "PaymentIntent",
}

// handle runs an operation after the check Stripe makes of every
// request that names an intent's client_secret.
func (c *call) handle(h handlerFunc) (any, *Error) {
	if kind, ok := clientSecretRoutes[c.r.Pattern]; ok {
		if err := c.checkClientSecret(kind); err != nil {
			return nil, err
		}
	}
	return h(c)
}

// checkClientSecret compares the client_secret parameter with the intent's.
// An intent that does not exist is left to the handler, which answers
// resource_missing.
func (c *call) checkClientSecret(kind string) *Error {
	given, ok := c.p.str("client_secret")
	if !ok {
		if c.publishable {
			return missingParam("client_secret")
		}
		return nil
	}
	var secret string
	switch kind {
	case "SetupIntent":
		si, err := get[*SetupIntent](c.st, c.acct, c.r.PathValue("id"), "setup_intent", "intent")
		if err != nil {
			return nil
		}
		secret = si.Secret
	default:
		pi, err := get[*PaymentIntent](c.st, c.acct, c.r.PathValue("id"), "payment_intent", "intent")
		if err != nil {
			return nil
		}
		secret = pi.Secret
	}
	if given != secret {
		return invalidRequest("client_secret", "The client_secret provided does not match the client_secret associated with the %s.", kind)
	}
	return nil
}

// clientFields are the fields of an intent a publishable key may read:
// those Stripe's API reference marks "retrievable with publishable key",
// which are the fields of Stripe.js's own PaymentIntent and SetupIntent
// types. Customer, metadata, amounts received, fees and transfers stay on
// the server.
var clientFields = map[string]map[string]bool{
	"payment_intent": setOf("id", "object", "amount", "automatic_payment_methods", "canceled_at",
		"cancellation_reason", "capture_method", "client_secret", "confirmation_method", "created", "currency",
		"description", "last_payment_error", "livemode", "next_action", "payment_method", "payment_method_types",
		"receipt_email", "setup_future_usage", "shipping", "status"),
	"setup_intent": setOf("id", "object", "cancellation_reason", "client_secret", "created", "description",
		"last_setup_error", "livemode", "next_action", "payment_method", "payment_method_types", "status", "usage"),
}

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// clientView reduces every intent inside a rendered value (the object
// itself, or the payment_intent or setup_intent of an error) to the fields
// a publishable key may read.
func clientView(v any) any {
	o, ok := v.(obj)
	if !ok {
		return v
	}
	var keep map[string]bool
	for _, f := range o {
		if f.k == "object" {
			name, _ := f.v.(string)
			keep = clientFields[name]
		}
	}
	out := make(obj, 0, len(o))
	for _, f := range o {
		if keep == nil || keep[f.k] {
			out = append(out, field{f.k, clientView(f.v)})
		}
	}
	return out
}

// errorBody renders an error raised while serving c, in the client-side
// shape for a publishable key. Called with s.mu held.
func (c *call) errorBody(e *Error) []byte {
	var v any = obj{{"error", e.render(c.st)}}
	if c.publishable {
		v = clientView(v)
	}
	return appendJSON(nil, v)
}

// corsHeaders are the request headers Stripe.js and the emulator's
// Stripe.js send across origins.
const corsHeaders = "Authorization, Content-Type, Idempotency-Key, Stripe-Account, Stripe-Version"

// allowCrossOrigin lets a page of any origin call the API and read the
// headers clients use, as api.stripe.com does. No credentials are involved:
// the key is in the Authorization header, never in a cookie.
func allowCrossOrigin(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Request-Id, Stripe-Version, Idempotency-Key, Idempotent-Replayed, Original-Request, Stripe-Should-Retry")
}

// handlePreflight answers the browser's CORS preflight for any /v1 route.
func handlePreflight(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	allowCrossOrigin(h)
	h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Max-Age", "300")
	w.WriteHeader(http.StatusNoContent)
}
