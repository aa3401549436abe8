package httpapi

import (
	"net/http"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/text"
)

// pathID refuses, as a 404, a request whose path wildcard name cannot hold
// an id of the given type (prefix): no such object can exist, and the
// value (which may hold a NUL byte or invalid UTF-8 that PostgreSQL refuses)
// never reaches a query. The error names param as the service's own
// not-found error for that object does, and pathID sits inside
// withIdempotency, so such an id is answered and stored exactly as an
// unknown one is.
func pathID(name, prefix, object, param string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if v := r.PathValue(name); !id.Valid(v, prefix) {
				writeError(w, r, loggerFrom(r.Context()), errs.NotFoundf(param, "No such %s: %q.", object, v))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// queryText returns the query parameter name, refused with an errs.Invalid
// naming it unless it follows rule.
func queryText(r *http.Request, name string, rule text.Rule) (string, error) {
	v := r.URL.Query().Get(name)
	return v, text.Check(name, v, rule)
}

// queryID returns the query parameter name, empty or an id of the given
// type; anything else is an errs.Invalid naming it, since it could match
// nothing.
func queryID(r *http.Request, name, prefix string) (string, error) {
	v := r.URL.Query().Get(name)
	if v != "" && !id.Valid(v, prefix) {
		return "", errs.Invalidf(name, "%s must be an id of the form %s_…, not %q.", name, prefix, v)
	}
	return v, nil
}
