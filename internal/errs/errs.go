// Package errs is Tender's one error model. Feature packages return *Error
// values with a Code from the small set below; each surface (the JSON API, the
// hosted pages, the command line) maps codes to its own form in exactly one
// place. Anything that is not an *Error is an internal error: it is logged and
// never shown.
package errs

import (
	"errors"
	"fmt"
)

// Code classifies an error by what the caller can do about it.
type Code string

// Codes, deliberately few; the API maps each to one HTTP status.
const (
	Invalid       Code = "invalid"       // the request is wrong; fix it and retry
	NotFound      Code = "not_found"     // no such object for this platform
	Conflict      Code = "conflict"      // the object's state forbids it, or a concurrent request holds it
	Unauthorized  Code = "unauthorized"  // no valid credentials
	Forbidden     Code = "forbidden"     // valid credentials, not allowed
	TooLarge      Code = "too_large"     // the request body is over the limit
	Unavailable   Code = "unavailable"   // a dependency is down; retry later
	Internal      Code = "internal"      // a bug or an unexpected failure
	RateLimited   Code = "rate_limited"  // too many requests; retry later
	Gone          Code = "gone"          // it existed but has expired or been used
	Unprocessable Code = "unprocessable" // valid request that failed (e.g. a card decline)
)

// Error is an error a caller can act on. Reason is a stable, machine-readable
// sub-code (e.g. "parameter_unknown", "idempotency_key_in_use"); Param names the
// request field at fault, if any.
type Error struct {
	Code    Code
	Reason  string
	Message string
	Param   string
	Err     error // the cause, for logs; never shown
}

func (e *Error) Error() string {
	msg := string(e.Code) + ": " + e.Message
	if e.Param != "" {
		msg += " (param " + e.Param + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// E builds an *Error with a formatted message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf reports bad input in the named parameter.
func Invalidf(param, format string, args ...any) *Error {
	return &Error{Code: Invalid, Reason: "parameter_invalid", Param: param, Message: fmt.Sprintf(format, args...)}
}

// Missing reports a required parameter that was not given.
func Missing(param string) *Error {
	return &Error{Code: Invalid, Reason: "parameter_missing", Param: param, Message: "Missing required parameter: " + param + "."}
}

// NotFoundf reports that an object does not exist for the caller's platform.
func NotFoundf(param, format string, args ...any) *Error {
	return &Error{Code: NotFound, Reason: "resource_missing", Param: param, Message: fmt.Sprintf(format, args...)}
}

// WithReason returns a copy of e with its machine-readable reason set.
func (e *Error) WithReason(reason string) *Error {
	c := *e
	c.Reason = reason
	return &c
}

// CodeOf returns the code of err, or Internal if err is not an *Error.
func CodeOf(err error) Code {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return Internal
}

// As returns err as an *Error. Errors that are not an *Error become an opaque
// internal error that keeps err as its cause.
func As(err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	return &Error{Code: Internal, Reason: "internal", Message: "An internal error occurred.", Err: err}
}

// Is reports whether err is an *Error with the given code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }
