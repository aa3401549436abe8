package stripeapi

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
)

// Kind is what went wrong with a call to Stripe, by what Tender should do
// about it.
type Kind string

// Kinds of failure. The values are stable and may be stored or logged.
const (
	// KindNone: the call succeeded.
	KindNone Kind = ""
	// KindDeclined: the card or its issuer refused (card_error, HTTP 402).
	// Code is card_declined, expired_card, incorrect_cvc, processing_error,
	// …; DeclineCode the issuer's reason. The same key replays the decline:
	// trying again is a new attempt with a new key.
	KindDeclined Kind = "card_declined"
	// KindAuthenticationRequired: the bank wants the customer to
	// authenticate (code or decline_code authentication_required), typically
	// on an off-session payment. The PaymentIntent waits for the customer.
	KindAuthenticationRequired Kind = "authentication_required"
	// KindInvalidRequest: Stripe refused the request as made (HTTP 400):
	// Tender built it wrong, or the data cannot be charged (amount too small,
	// object in the wrong state). Not retryable.
	KindInvalidRequest Kind = "invalid_request"
	// KindIdempotency: the key was used with other parameters
	// (idempotency_error; a Tender bug, not retryable), or a request with the
	// same key is in flight (409 idempotency_key_in_use; retry later).
	KindIdempotency Kind = "idempotency_error"
	// KindRateLimited: HTTP 429, from Stripe's rate limiter
	// (RateLimitReason from Stripe-Rate-Limited-Reason) or a lock timeout on
	// one object (RateLimitReason "lock_timeout"). The request had no effect;
	// retry after a backoff.
	KindRateLimited Kind = "rate_limited"
	// KindUnavailable: Stripe failed (api_error, 5xx, 424) or could not be
	// reached, or the call was cut short. Retry with the same key; the
	// request may have taken effect (see Outcome.Unknown).
	KindUnavailable Kind = "unavailable"
	// KindAuthentication: the platform's key was refused (401: wrong,
	// rolled or expired key) or lacks permission (403 permission_error, e.g.
	// a restricted key). The operator must fix the configuration.
	KindAuthentication Kind = "authentication_error"
	// KindAccountInvalid: the connected account named in Stripe-Account is
	// out of reach (code account_invalid, "The provided key … does not have
	// access to account … Application access may have been revoked."): the
	// merchant disconnected the platform, or the account does not exist.
	KindAccountInvalid Kind = "account_invalid"
	// KindNotFound: no such object (404 resource_missing).
	KindNotFound Kind = "resource_missing"
	// KindInternal: an error that did not come from Stripe or the network,
	// such as a request stripe-go could not build. A bug.
	KindInternal Kind = "internal"
)

// Outcome is a classified error from a call to Stripe.
type Outcome struct {
	Kind Kind
	// Retryable: the same request, with the same idempotency key, may
	// succeed later.
	Retryable bool
	// Unknown: the request may have taken effect at Stripe even though the
	// call failed (a lost response, a 5xx, a timeout). Before acting as if
	// nothing happened, re-read the object (by the id saved beforehand) or
	// retry with the same key.
	Unknown bool

	Status      int    // HTTP status, 0 if there was no response
	Type        string // Stripe's error type: card_error, invalid_request_error, …
	Code        string // Stripe's error code, e.g. card_declined, resource_missing
	DeclineCode string // the issuer's reason for a decline, e.g. insufficient_funds
	Message     string // Stripe's message, secret keys redacted; safe to show for card errors
	Param       string // the Stripe parameter at fault, if any
	RequestID   string // Stripe's Request-Id, for support

	// PaymentIntentID, PaymentIntentStatus, SetupIntentID and ChargeID name
	// the objects Stripe attached to the error, as on a decline.
	PaymentIntentID     string
	PaymentIntentStatus string
	SetupIntentID       string
	ChargeID            string

	// RateLimitReason is Stripe-Rate-Limited-Reason (global-rate,
	// global-concurrency, endpoint-rate, endpoint-concurrency,
	// resource-specific) or "lock_timeout".
	RateLimitReason string

	// Cause is the error classified, with secret keys redacted from its
	// message; errors.As still finds the *stripe.Error.
	Cause error
}

// Pending reports whether the call's outcome is not known yet, or it may
// succeed if made again: Stripe failed, rate-limited, was unreachable or
// the answer was lost. Nothing may be decided from it.
func (o Outcome) Pending() bool {
	return o.Unknown || o.Retryable || o.Kind == KindUnavailable || o.Kind == KindRateLimited
}

// Classify turns an error returned by a stripe-go call made through a Client
// into an Outcome. A nil error gives KindNone.
func Classify(err error) Outcome {
	if err == nil {
		return Outcome{}
	}
	o := Outcome{Cause: &redactedError{err}, Message: redactKeys(err.Error())}
	var se *stripe.Error
	if errors.As(err, &se) {
		classifyStripe(&o, se)
		return o
	}
	classifyOther(&o, err)
	return o
}

func classifyStripe(o *Outcome, se *stripe.Error) {
	o.Status = se.HTTPStatusCode
	o.Type = string(se.Type)
	o.Code = string(se.Code)
	o.DeclineCode = string(se.DeclineCode)
	o.Message = redactKeys(se.Msg)
	o.Param = se.Param
	o.RequestID = se.RequestID
	o.ChargeID = se.ChargeID
	if se.PaymentIntent != nil {
		o.PaymentIntentID = se.PaymentIntent.ID
		o.PaymentIntentStatus = string(se.PaymentIntent.Status)
	}
	if se.SetupIntent != nil {
		o.SetupIntentID = se.SetupIntent.ID
	}
	if se.OAuthError != "" { // Connect's OAuth endpoints answer {error, error_description}
		o.Code = se.OAuthError
		o.Message = redactKeys(se.OAuthErrorDescription)
	}

	switch {
	case se.Code == stripe.ErrorCodeIdempotencyKeyInUse:
		o.Kind, o.Retryable, o.Unknown = KindIdempotency, true, true
	case se.Type == stripe.ErrorTypeIdempotency:
		o.Kind = KindIdempotency
	case o.Status == http.StatusTooManyRequests:
		o.Kind, o.Retryable = KindRateLimited, true
		if se.LastResponse != nil {
			o.RateLimitReason = se.LastResponse.Header.Get("Stripe-Rate-Limited-Reason")
		}
		if o.RateLimitReason == "" && se.Code == stripe.ErrorCodeLockTimeout {
			o.RateLimitReason = "lock_timeout"
		}
	case se.Code == stripe.ErrorCodeAccountInvalid:
		o.Kind = KindAccountInvalid
	case o.Status == http.StatusUnauthorized || o.Status == http.StatusForbidden ||
		se.Type == "authentication_error" || se.Type == "permission_error" ||
		se.Code == stripe.ErrorCodeAPIKeyExpired || se.Code == stripe.ErrorCodePlatformAPIKeyExpired:
		o.Kind = KindAuthentication
	case se.Code == stripe.ErrorCodeAuthenticationRequired || se.DeclineCode == stripe.DeclineCodeAuthenticationRequired:
		o.Kind = KindAuthenticationRequired
	case se.Type == stripe.ErrorTypeCard || o.Status == http.StatusPaymentRequired:
		o.Kind = KindDeclined
	case o.Status == http.StatusNotFound || se.Code == stripe.ErrorCodeResourceMissing:
		o.Kind = KindNotFound
	case se.Type == stripe.ErrorTypeAPI || o.Status >= 500 || o.Status == http.StatusFailedDependency:
		o.Kind, o.Retryable, o.Unknown = KindUnavailable, true, true
	case o.Status == http.StatusConflict:
		// Stripe's 409 is a concurrent request on the same key or object.
		o.Kind, o.Retryable, o.Unknown = KindIdempotency, true, true
	default:
		o.Kind = KindInvalidRequest
	}
}

// undecodableRE matches the error stripe-go returns when an answer is not
// JSON, as a proxy's 502 page is not.
var undecodableRE = regexp.MustCompile(`^Couldn't deserialize JSON \(response status: (\d+)`)

func classifyOther(o *Outcome, err error) {
	if m := undecodableRE.FindStringSubmatch(err.Error()); m != nil {
		o.Status, _ = strconv.Atoi(m[1])
		o.Kind, o.Unknown = KindUnavailable, true
		o.Retryable = o.Status >= 500 || o.Status == http.StatusTooManyRequests
		if !o.Retryable {
			o.Kind = KindInternal
		}
		return
	}
	var opErr *net.OpError
	var urlErr *url.Error
	var netErr net.Error
	switch {
	case errors.As(err, &opErr) && opErr.Op == "dial":
		// Never connected, so nothing was sent.
		o.Kind, o.Retryable = KindUnavailable, true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &netErr), errors.As(err, &urlErr):
		o.Kind, o.Retryable, o.Unknown = KindUnavailable, true, true
	default:
		o.Kind, o.Unknown = KindInternal, true
	}
}

// Err maps the outcome to Tender's error model, for surfacing to the
// platform; nil for KindNone. Stripe's messages are kept where they help the
// caller (declines, data Stripe refused) and replaced where they would
// mislead (Tender's own mistakes become internal errors, shown generically
// and logged with the cause).
func (o Outcome) Err() *errs.Error {
	e := &errs.Error{Err: o.Cause}
	switch o.Kind {
	case KindNone:
		return nil
	case KindDeclined:
		e.Code, e.Reason, e.Message = errs.Unprocessable, orDefault(o.Code, "card_declined"), orDefault(o.Message, "The card was declined.")
	case KindAuthenticationRequired:
		e.Code, e.Reason = errs.Unprocessable, "authentication_required"
		e.Message = "The customer's bank requires them to authenticate this payment."
	case KindInvalidRequest:
		switch {
		case tenderBug[o.Code]:
			e.Code, e.Reason, e.Message = errs.Internal, "internal", "An internal error occurred."
		case stateConflict[o.Code]:
			e.Code, e.Reason, e.Message = errs.Conflict, o.Code, orDefault(o.Message, "The object's state at Stripe does not allow this.")
		default:
			e.Code, e.Reason, e.Message = errs.Invalid, orDefault(o.Code, "stripe_invalid_request"), orDefault(o.Message, "Stripe refused the request.")
		}
	case KindIdempotency:
		if o.Retryable {
			e.Code, e.Reason = errs.Conflict, "stripe_request_in_progress"
			e.Message = "Another request for the same operation is in progress at Stripe; retry shortly."
		} else {
			e.Code, e.Reason, e.Message = errs.Internal, "internal", "An internal error occurred."
		}
	case KindRateLimited:
		e.Code, e.Reason = errs.RateLimited, "stripe_rate_limited"
		e.Message = "Stripe is limiting the platform's request rate; retry later."
	case KindUnavailable:
		e.Code, e.Reason = errs.Unavailable, "stripe_unavailable"
		e.Message = "Stripe could not be reached or failed; retry later."
	case KindAuthentication:
		e.Code, e.Reason = errs.Unavailable, "stripe_key_rejected"
		e.Message = "Stripe refused the platform's Stripe key; the operator must update it."
	case KindAccountInvalid:
		e.Code, e.Reason = errs.Forbidden, "account_invalid"
		e.Message = "The merchant's Stripe account is not reachable: it may have disconnected from the platform."
	case KindNotFound:
		e.Code, e.Reason, e.Message = errs.NotFound, "resource_missing", orDefault(o.Message, "No such object at Stripe.")
	default:
		e.Code, e.Reason, e.Message = errs.Internal, "internal", "An internal error occurred."
	}
	return e
}

// AsError classifies err and maps it to Tender's error model in one step;
// nil stays nil.
func AsError(err error) error {
	if err == nil {
		return nil
	}
	return Classify(err).Err()
}

// tenderBug lists invalid-request codes that mean Tender built the request
// wrong: the platform cannot fix them, so they surface as internal errors.
var tenderBug = map[string]bool{
	"":                                 true, // e.g. a malformed request Stripe gives no code for
	"parameter_unknown":                true,
	"parameter_missing":                true,
	"parameters_exclusive":             true,
	"parameter_invalid_empty":          true,
	"parameter_invalid_integer":        true,
	"parameter_invalid_string_blank":   true,
	"parameter_invalid_string_empty":   true,
	"payment_intent_invalid_parameter": true,
	"setup_intent_invalid_parameter":   true,
	"secret_key_required":              true,
	"livemode_mismatch":                true,
}

// stateConflict lists invalid-request codes that mean the object's state
// forbids the operation, which Tender reports as a conflict.
var stateConflict = map[string]bool{
	"payment_intent_unexpected_state":      true,
	"setup_intent_unexpected_state":        true,
	"intent_invalid_state":                 true,
	"charge_already_captured":              true,
	"charge_already_refunded":              true,
	"charge_disputed":                      true,
	"charge_expired_for_capture":           true,
	"charge_not_refundable":                true,
	"capture_charge_authorization_expired": true,
	"refund_disputed_payment":              true,
	"balance_insufficient":                 true,
	"transfers_not_allowed":                true,
	"account_closed":                       true,
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
