package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/tenderpay/tender/internal/errs"
)

// apiError is the body of every error response.
type apiError struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
}

// statusOf is the one table from error code to HTTP status and error type.
var statusOf = map[errs.Code]struct {
	status int
	typ    string
}{
	errs.Invalid:       {http.StatusBadRequest, "invalid_request_error"},
	errs.NotFound:      {http.StatusNotFound, "invalid_request_error"},
	errs.Conflict:      {http.StatusConflict, "invalid_request_error"},
	errs.Unauthorized:  {http.StatusUnauthorized, "authentication_error"},
	errs.Forbidden:     {http.StatusForbidden, "permission_error"},
	errs.TooLarge:      {http.StatusRequestEntityTooLarge, "invalid_request_error"},
	errs.Gone:          {http.StatusGone, "invalid_request_error"},
	errs.Unprocessable: {http.StatusPaymentRequired, "card_error"},
	errs.RateLimited:   {http.StatusTooManyRequests, "rate_limit_error"},
	errs.Unavailable:   {http.StatusServiceUnavailable, "api_error"},
	errs.Internal:      {http.StatusInternalServerError, "api_error"},
}

// reasonType overrides the error type for reasons that have their own, as
// Stripe gives idempotency errors theirs.
var reasonType = map[string]string{
	"idempotency_key_reused": "idempotency_error",
	"idempotency_key_in_use": "idempotency_error",
}

// writeError writes err as the API's error object. Internal errors are
// logged with the request id and shown only as a generic message.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	if logger == nil {
		logger = slog.Default()
	}
	e := errs.As(err)
	m, ok := statusOf[e.Code]
	if !ok {
		m = statusOf[errs.Internal]
	}
	if e.Code == errs.Internal {
		logger.ErrorContext(r.Context(), "internal error", "request_id", w.Header().Get("Request-Id"), "method", r.Method, "path", r.URL.Path, "err", err)
		e = &errs.Error{Code: errs.Internal, Reason: "internal", Message: "An internal error occurred. Quote the Request-Id header when reporting it."}
	}
	typ := m.typ
	if t, ok := reasonType[e.Reason]; ok {
		typ = t
	}
	code := e.Reason
	if code == "" {
		code = string(e.Code)
	}
	writeJSON(w, m.status, apiError{Error: errorBody{Type: typ, Code: code, Message: e.Message, Param: e.Param}})
}
