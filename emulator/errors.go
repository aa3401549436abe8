package emulator

import (
	"fmt"
	"net/http"
)

// ErrorType is the "type" of a Stripe error.
type ErrorType string

// Stripe's error types.
const (
	ErrorTypeAPI            ErrorType = "api_error"
	ErrorTypeCard           ErrorType = "card_error"
	ErrorTypeIdempotency    ErrorType = "idempotency_error"
	ErrorTypeInvalidRequest ErrorType = "invalid_request_error"
)

// Error is an API error as Stripe returns it. Every failure in the emulator
// becomes one of these, and writeError is the one place that turns it into a
// response.
type Error struct {
	Status      int
	Type        ErrorType
	Code        string
	DeclineCode string
	Param       string
	Message     string

	// Charge, PaymentIntent, SetupIntent and PaymentMethod are attached to
	// card errors, as Stripe does.
	Charge        string
	PaymentIntent *PaymentIntent
	SetupIntent   *SetupIntent
	PaymentMethod *PaymentMethod

	// validation marks errors raised before the request had any effect;
	// Stripe does not save an idempotent result for them.
	validation bool
	header     http.Header
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%s): %s", e.Type, e.Code, e.Message) }

func invalidRequest(param, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Type: ErrorTypeInvalidRequest, Param: param,
		Message: fmt.Sprintf(format, args...), validation: true}
}

func invalidRequestCode(code, param, format string, args ...any) *Error {
	e := invalidRequest(param, format, args...)
	e.Code = code
	return e
}

func missingParam(name string) *Error {
	return invalidRequestCode("parameter_missing", name, "Missing required param: %s.", name)
}

func noSuch(kind, param, id string) *Error {
	e := invalidRequestCode("resource_missing", param, "No such %s: '%s'", kind, id)
	e.Status = http.StatusNotFound
	return e
}

// stateError is a 400 for a request that is valid in form but not allowed
// in the object's current state.
func stateError(code, format string, args ...any) *Error {
	return invalidRequestCode(code, "", format, args...)
}

func apiError(msg string) *Error {
	return &Error{Status: http.StatusInternalServerError, Type: ErrorTypeAPI, Message: msg}
}

func authError(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Type: ErrorTypeInvalidRequest, Message: msg, validation: true}
}

// render builds the error object as Stripe's api_errors schema has it.
func (e *Error) render(st *state) obj {
	o := obj{{"type", string(e.Type)}, {"message", e.Message}}
	if e.Code != "" {
		o = append(o, field{"code", e.Code})
		o = append(o, field{"doc_url", "https://stripe.com/docs/error-codes/" + dashed(e.Code)})
	}
	if e.DeclineCode != "" {
		o = append(o, field{"decline_code", e.DeclineCode})
	}
	if e.Param != "" {
		o = append(o, field{"param", e.Param})
	}
	if e.Charge != "" {
		o = append(o, field{"charge", e.Charge})
	}
	if e.PaymentIntent != nil {
		o = append(o, field{"payment_intent", e.PaymentIntent.render(st)})
	}
	if e.SetupIntent != nil {
		o = append(o, field{"setup_intent", e.SetupIntent.render(st)})
	}
	if e.PaymentMethod != nil {
		o = append(o, field{"payment_method", e.PaymentMethod.render(st)})
	}
	return o
}

func dashed(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '_' {
			b[i] = '-'
		}
	}
	return string(b)
}
