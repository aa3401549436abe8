package stripeapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/stripeapi"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	header := func(k, v string) *stripe.APIResponse {
		return &stripe.APIResponse{Header: http.Header{k: {v}}}
	}
	urlErr := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://api.stripe.com/v1/customers", Err: err}
	}
	cases := []struct {
		name      string
		err       error
		kind      stripeapi.Kind
		retryable bool
		unknown   bool
		code      errs.Code
		reason    string
		check     func(t *testing.T, o stripeapi.Outcome)
	}{
		{name: "nil", err: nil, kind: stripeapi.KindNone},
		{
			name: "decline",
			err: &stripe.Error{HTTPStatusCode: 402, Type: stripe.ErrorTypeCard, Code: "card_declined", DeclineCode: "insufficient_funds",
				Msg: "Your card has insufficient funds.", ChargeID: "ch_1", RequestID: "req_1",
				PaymentIntent: &stripe.PaymentIntent{ID: "pi_1", Status: stripe.PaymentIntentStatusRequiresPaymentMethod}},
			kind: stripeapi.KindDeclined, code: errs.Unprocessable, reason: "card_declined",
			check: func(t *testing.T, o stripeapi.Outcome) {
				if o.DeclineCode != "insufficient_funds" || o.PaymentIntentID != "pi_1" || o.PaymentIntentStatus != "requires_payment_method" ||
					o.ChargeID != "ch_1" || o.RequestID != "req_1" || o.Message != "Your card has insufficient funds." {
					t.Errorf("details %+v", o)
				}
			},
		},
		{
			name: "expired card",
			err:  &stripe.Error{HTTPStatusCode: 402, Type: stripe.ErrorTypeCard, Code: "expired_card", DeclineCode: "expired_card"},
			kind: stripeapi.KindDeclined, code: errs.Unprocessable, reason: "expired_card",
		},
		{
			name: "setup intent decline",
			err: &stripe.Error{HTTPStatusCode: 402, Type: stripe.ErrorTypeCard, Code: "card_declined", DeclineCode: "generic_decline",
				SetupIntent: &stripe.SetupIntent{ID: "seti_1"}},
			kind: stripeapi.KindDeclined, code: errs.Unprocessable, reason: "card_declined",
			check: func(t *testing.T, o stripeapi.Outcome) {
				if o.SetupIntentID != "seti_1" {
					t.Errorf("setup intent %q", o.SetupIntentID)
				}
			},
		},
		{
			name: "authentication required off session",
			err: &stripe.Error{HTTPStatusCode: 402, Type: stripe.ErrorTypeCard, Code: "authentication_required", DeclineCode: "authentication_required",
				PaymentIntent: &stripe.PaymentIntent{ID: "pi_2", Status: stripe.PaymentIntentStatusRequiresPaymentMethod}},
			kind: stripeapi.KindAuthenticationRequired, code: errs.Unprocessable, reason: "authentication_required",
			check: func(t *testing.T, o stripeapi.Outcome) {
				if o.PaymentIntentID != "pi_2" {
					t.Errorf("payment intent %q", o.PaymentIntentID)
				}
			},
		},
		{
			name: "authentication required as decline code",
			err:  &stripe.Error{HTTPStatusCode: 402, Type: stripe.ErrorTypeCard, Code: "card_declined", DeclineCode: "authentication_required"},
			kind: stripeapi.KindAuthenticationRequired, code: errs.Unprocessable, reason: "authentication_required",
		},
		{
			name: "unknown parameter is Tender's bug",
			err:  &stripe.Error{HTTPStatusCode: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "parameter_unknown", Param: "bogus", Msg: "Received unknown parameter: bogus"},
			kind: stripeapi.KindInvalidRequest, code: errs.Internal, reason: "internal",
			check: func(t *testing.T, o stripeapi.Outcome) {
				if o.Param != "bogus" {
					t.Errorf("param %q", o.Param)
				}
			},
		},
		{
			name: "amount too small is the caller's data",
			err:  &stripe.Error{HTTPStatusCode: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "amount_too_small", Msg: "Amount must be at least $0.50 usd"},
			kind: stripeapi.KindInvalidRequest, code: errs.Invalid, reason: "amount_too_small",
		},
		{
			name: "unexpected state is a conflict",
			err:  &stripe.Error{HTTPStatusCode: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "payment_intent_unexpected_state"},
			kind: stripeapi.KindInvalidRequest, code: errs.Conflict, reason: "payment_intent_unexpected_state",
		},
		{
			name: "idempotency key reused with other parameters",
			err:  &stripe.Error{HTTPStatusCode: 400, Type: stripe.ErrorTypeIdempotency, Msg: "Keys for idempotent requests can only be used with the same parameters they were first used with."},
			kind: stripeapi.KindIdempotency, code: errs.Internal, reason: "internal",
		},
		{
			name: "idempotency key in use",
			err:  &stripe.Error{HTTPStatusCode: 409, Type: stripe.ErrorTypeInvalidRequest, Code: "idempotency_key_in_use"},
			kind: stripeapi.KindIdempotency, retryable: true, unknown: true, code: errs.Conflict, reason: "stripe_request_in_progress",
		},
		{
			name: "rate limited",
			err: &stripe.Error{HTTPStatusCode: 429, Type: stripe.ErrorTypeInvalidRequest, Code: "rate_limit",
				APIResource: stripe.APIResource{LastResponse: header("Stripe-Rate-Limited-Reason", "endpoint-concurrency")}},
			kind: stripeapi.KindRateLimited, retryable: true, code: errs.RateLimited, reason: "stripe_rate_limited",
			check: func(t *testing.T, o stripeapi.Outcome) {
				if o.RateLimitReason != "endpoint-concurrency" {
					t.Errorf("reason %q", o.RateLimitReason)
				}
			},
		},
		{
			name: "lock timeout",
			err:  &stripe.Error{HTTPStatusCode: 429, Type: stripe.ErrorTypeInvalidRequest, Code: "lock_timeout"},
			kind: stripeapi.KindRateLimited, retryable: true, code: errs.RateLimited, reason: "stripe_rate_limited",
			check: func(t *testing.T, o stripeapi.Outcome) {
				if o.RateLimitReason != "lock_timeout" {
					t.Errorf("reason %q", o.RateLimitReason)
				}
			},
		},
		{
			name: "api error",
			err:  &stripe.Error{HTTPStatusCode: 500, Type: stripe.ErrorTypeAPI, Msg: "An unknown error occurred"},
			kind: stripeapi.KindUnavailable, retryable: true, unknown: true, code: errs.Unavailable, reason: "stripe_unavailable",
		},
		{
			name: "503 without a type",
			err:  &stripe.Error{HTTPStatusCode: 503},
			kind: stripeapi.KindUnavailable, retryable: true, unknown: true, code: errs.Unavailable, reason: "stripe_unavailable",
		},
		{
			name: "424 external dependency",
			err:  &stripe.Error{HTTPStatusCode: 424, Type: stripe.ErrorTypeInvalidRequest},
			kind: stripeapi.KindUnavailable, retryable: true, unknown: true, code: errs.Unavailable, reason: "stripe_unavailable",
		},
		{
			name: "bad key",
			err:  &stripe.Error{HTTPStatusCode: 401, Type: stripe.ErrorTypeInvalidRequest, Msg: "Invalid API Key provided: sk_test_wrongkey123"},
			kind: stripeapi.KindAuthentication, code: errs.Unavailable, reason: "stripe_key_rejected",
		},
		{
			name: "expired key",
			err:  &stripe.Error{HTTPStatusCode: 401, Type: stripe.ErrorTypeInvalidRequest, Code: "api_key_expired"},
			kind: stripeapi.KindAuthentication, code: errs.Unavailable, reason: "stripe_key_rejected",
		},
		{
			name: "restricted key without permission",
			err:  &stripe.Error{HTTPStatusCode: 403, Type: "permission_error"},
			kind: stripeapi.KindAuthentication, code: errs.Unavailable, reason: "stripe_key_rejected",
		},
		{
			name: "connected account deauthorized",
			err: &stripe.Error{HTTPStatusCode: 403, Type: stripe.ErrorTypeInvalidRequest, Code: "account_invalid",
				Msg: "The provided key 'sk_live_********************1234' does not have access to account 'acct_1' (or that account does not exist). Application access may have been revoked."},
			kind: stripeapi.KindAccountInvalid, code: errs.Forbidden, reason: "account_invalid",
		},
		{
			name: "resource missing",
			err:  &stripe.Error{HTTPStatusCode: 404, Type: stripe.ErrorTypeInvalidRequest, Code: "resource_missing", Param: "id", Msg: "No such customer: 'cus_1'"},
			kind: stripeapi.KindNotFound, code: errs.NotFound, reason: "resource_missing",
		},
		{
			name: "oauth invalid grant",
			err:  &stripe.Error{HTTPStatusCode: 400, OAuthError: "invalid_grant", OAuthErrorDescription: "Authorization code does not exist: ac_1"},
			kind: stripeapi.KindInvalidRequest, code: errs.Invalid, reason: "invalid_grant",
		},
		{
			name: "wrapped stripe error",
			err:  fmt.Errorf("creating customer: %w", &stripe.Error{HTTPStatusCode: 404, Code: "resource_missing"}),
			kind: stripeapi.KindNotFound, code: errs.NotFound, reason: "resource_missing",
		},
		{
			name: "lost response",
			err:  urlErr(io.EOF),
			kind: stripeapi.KindUnavailable, retryable: true, unknown: true, code: errs.Unavailable, reason: "stripe_unavailable",
		},
		{
			name: "connection refused was never sent",
			err:  urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}),
			kind: stripeapi.KindUnavailable, retryable: true, code: errs.Unavailable, reason: "stripe_unavailable",
		},
		{
			name: "timeout",
			err:  urlErr(context.DeadlineExceeded),
			kind: stripeapi.KindUnavailable, retryable: true, unknown: true, code: errs.Unavailable, reason: "stripe_unavailable",
		},
		{
			name: "proxy page instead of JSON",
			err:  errors.New("Couldn't deserialize JSON (response status: 502, body sample: '<html>Bad Gateway</html>'): invalid character '<'"),
			kind: stripeapi.KindUnavailable, retryable: true, unknown: true, code: errs.Unavailable, reason: "stripe_unavailable",
		},
		{
			name: "request stripe-go could not build",
			err:  errors.New("cannot use an idempotency key longer than 255 characters"),
			kind: stripeapi.KindInternal, unknown: true, code: errs.Internal, reason: "internal",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := stripeapi.Classify(tc.err)
			if o.Kind != tc.kind || o.Retryable != tc.retryable || o.Unknown != tc.unknown {
				t.Fatalf("Classify = kind %q retryable %v unknown %v, want %q %v %v", o.Kind, o.Retryable, o.Unknown, tc.kind, tc.retryable, tc.unknown)
			}
			if tc.check != nil {
				tc.check(t, o)
			}
			e := o.Err()
			if tc.kind == stripeapi.KindNone {
				if e != nil || stripeapi.AsError(nil) != nil {
					t.Fatalf("nil error mapped to %v", e)
				}
				return
			}
			if e.Code != tc.code || e.Reason != tc.reason {
				t.Fatalf("Err = %s/%s, want %s/%s", e.Code, e.Reason, tc.code, tc.reason)
			}
			if e.Message == "" {
				t.Fatal("Err has no message")
			}
			if !errors.Is(e, tc.err) {
				t.Fatal("Err does not keep the cause")
			}
			if got := stripeapi.AsError(tc.err); errs.CodeOf(got) != tc.code {
				t.Fatalf("AsError code %s", errs.CodeOf(got))
			}
		})
	}
}

// TestClassifyRedactsKeys checks that no string derived from an error that
// carries a secret key or an intent's client secret shows it.
func TestClassifyRedactsKeys(t *testing.T) {
	t.Parallel()
	const key = "sk_live_51AbCdEfGhIjKlMnOpQrStUv"
	for _, err := range []error{
		&stripe.Error{HTTPStatusCode: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "amount_too_small", Msg: "something about " + key},
		&stripe.Error{HTTPStatusCode: 401, Type: stripe.ErrorTypeInvalidRequest, Msg: "Invalid API Key provided: " + key},
		fmt.Errorf("dial with rk_test_%s: %w", "Zz9_restricted", io.EOF),
		&stripe.Error{HTTPStatusCode: 402, Type: stripe.ErrorTypeCard, Code: "card_declined",
			PaymentIntent: &stripe.PaymentIntent{ID: "pi_1", ClientSecret: "pi_1_secret_Zz9_restricted"}},
		fmt.Errorf("confirming: %w", &stripe.Error{HTTPStatusCode: 402, Type: stripe.ErrorTypeCard, Code: "card_declined",
			SetupIntent: &stripe.SetupIntent{ID: "seti_1", ClientSecret: "seti_1_secret_Zz9restricted"}}),
	} {
		o := stripeapi.Classify(err)
		for _, s := range []string{o.Message, o.Cause.Error(), o.Err().Error(), fmt.Sprint(o.Err())} {
			if strings.Contains(s, key) || strings.Contains(s, "Zz9_restricted") || strings.Contains(s, "Zz9restricted") {
				t.Errorf("key in %q", s)
			}
		}
		var se *stripe.Error
		if _, isStripe := err.(*stripe.Error); isStripe && !errors.As(o.Cause, &se) {
			t.Error("redacted cause hides the *stripe.Error")
		}
	}
}
