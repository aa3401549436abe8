package money

import (
	"errors"
	"fmt"
)

// Errors a caller can test for with errors.Is. Every error this package
// returns wraps exactly one of them, so an API layer can map them to its own
// codes in one place.
var (
	// ErrInvalid means an input was malformed or out of range. The error is
	// a *FieldError that names the field.
	ErrInvalid = errors.New("invalid")

	// ErrCurrencyMismatch means two amounts in different currencies were
	// combined or compared.
	ErrCurrencyMismatch = errors.New("currency mismatch")

	// ErrOverflow means a result does not fit in an int64 count of minor
	// units. It is reported rather than wrapped around, because a wrapped
	// amount changes sign.
	ErrOverflow = errors.New("overflow")
)

// FieldError is an input rejected by this package. Field is the name an API
// would show as the offending parameter (for example "basis_points" or
// "amount"); Value is the input as received, so the message names it.
type FieldError struct {
	Field  string
	Value  string
	Reason string
	// Kind is ErrInvalid or ErrOverflow; it is what errors.Is matches.
	Kind error
}

// Error reports the field, the rejected value and why it was rejected.
func (e *FieldError) Error() string {
	return fmt.Sprintf("money: %s %q: %s", e.Field, e.Value, e.Reason)
}

// Unwrap lets errors.Is match ErrInvalid or ErrOverflow.
func (e *FieldError) Unwrap() error { return e.Kind }

func invalid(field, value, format string, args ...any) error {
	return &FieldError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...), Kind: ErrInvalid}
}

func overflow(field, value, format string, args ...any) error {
	return &FieldError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...), Kind: ErrOverflow}
}
