package httpapi

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/platform"
)

type ctxKey int

const principalKey ctxKey = iota

// principalFrom returns who the request acts for; only valid behind
// requireAPIKey.
func principalFrom(ctx context.Context) *platform.Principal {
	p, _ := ctx.Value(principalKey).(*platform.Principal)
	return p
}

// requestID gives every response a Request-Id header to quote in reports.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Request-Id", id.New(id.Request))
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := s.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}

// logRequests logs one line per request. It never logs headers or bodies,
// so API keys and personal data stay out of logs.
func logRequests(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			attrs := []any{"method", r.Method, "path", r.URL.Path, "status", rec.status,
				"duration_ms", time.Since(start).Milliseconds(), "request_id", w.Header().Get("Request-Id")}
			if p := principalFrom(r.Context()); p != nil {
				attrs = append(attrs, "platform", p.PlatformID, "key", p.KeyID)
			}
			logger.InfoContext(r.Context(), "request", attrs...)
		})
	}
}

// recoverPanics turns a panic into a logged 500 instead of a dropped
// connection.
func recoverPanics(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					logger.ErrorContext(r.Context(), "panic", "value", v, "stack", string(debug.Stack()), "request_id", w.Header().Get("Request-Id"))
					writeError(w, r, logger, errs.E(errs.Internal, "panic"))
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// limitBody refuses bodies over MaxBodyBytes: up front when Content-Length
// says so, otherwise when the handler reads past the limit.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			writeError(w, r, nil, errs.E(errs.TooLarge, "The request body is larger than %d bytes.", MaxBodyBytes).WithReason("body_too_large"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// requireAPIKey authenticates "Authorization: Bearer tk_…" and puts the
// principal in the request's context.
func requireAPIKey(platforms *platform.Service, logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth := r.Header.Get("Authorization")
			if auth == "" {
				writeError(w, r, nil, errs.E(errs.Unauthorized, "You did not provide an API key. Send it in the Authorization header: 'Authorization: Bearer tk_test_…'.").WithReason("api_key_missing"))
				return
			}
			secret, ok := strings.CutPrefix(auth, "Bearer ")
			if !ok {
				writeError(w, r, nil, errs.E(errs.Unauthorized, "The Authorization header must be 'Bearer' followed by a secret API key.").WithReason("api_key_invalid"))
				return
			}
			p, err := platforms.Authenticate(r.Context(), strings.TrimSpace(secret))
			if err != nil {
				writeError(w, r, logger, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
		})
	}
}
