package httpapi

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/idempotency"
)

// withIdempotency gives POSTs with an Idempotency-Key Stripe's semantics:
// the first response, errors included, is stored and replayed with
// Idempotent-Replayed: true. A 400 is not stored: by the API's convention a
// handler refuses bad input before it changes anything, so the caller may fix
// the request and retry with the same key, as with Stripe.
//
// The request runs holding the key's claim (renewed while it runs), which
// the context carries: a handler's work commits its own answer with it
// (idempotency.Commit), and derives the ids it creates from the key
// (id.For), so a crash at any instant leaves either nothing or the work
// and its answer. What the handler answers otherwise (an error, or the
// answer of work that a rerun repeats the same way) is stored afterwards.
func withIdempotency(s *idempotency.Store, logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := r.Header.Get("Idempotency-Key")
			if key == "" || r.Method != http.MethodPost {
				next.ServeHTTP(w, r)
				return
			}
			// HTTP lets a header carry a tab and bytes that are not UTF-8,
			// neither of which belongs in a stored key.
			if err := idempotency.ValidateKey(key); err != nil {
				writeError(w, r, logger, err)
				return
			}
			body, err := io.ReadAll(r.Body)
			if err != nil {
				writeError(w, r, logger, decodeJSON(&http.Request{Body: io.NopCloser(errReader{err})}, nil))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			req := idempotency.Request{
				PlatformID: principalFrom(r.Context()).PlatformID, Key: key,
				Method: r.Method, Path: r.URL.Path, Fingerprint: fingerprint(r.URL.RawQuery, body),
			}
			claim, replay, err := s.Begin(r.Context(), req)
			if err != nil {
				writeError(w, r, logger, err)
				return
			}
			if replay != nil {
				w.Header().Set("Idempotent-Replayed", "true")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(replay.Status)
				w.Write(replay.Body)
				return
			}
			resp := runClaimed(w, r.WithContext(idempotency.NewContext(r.Context(), claim)), next, claim, s, logger)
			w.WriteHeader(resp.Status)
			w.Write(resp.Body)
		})
	}
}

// runClaimed runs the handler holding claim and returns the answer to send:
// the handler's, stored for the key unless retryable, or the answer its
// work committed if that differs (the one a replay will give).
func runClaimed(w http.ResponseWriter, r *http.Request, next http.Handler, claim *idempotency.Claim, s *idempotency.Store, logger *slog.Logger) idempotency.Response {
	rec := &bufferedResponse{header: w.Header()}
	stop := claim.Hold(r.Context())
	next.ServeHTTP(rec, r)
	stop()
	if s.DieAfterHandlerFunc != nil && s.DieAfterHandlerFunc(claim.Request()) {
		panic(http.ErrAbortHandler)
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	resp := idempotency.Response{Status: rec.status, Body: rec.body.Bytes()}
	// The record is written even if the client has gone, so its retry replays.
	ctx := context.WithoutCancel(r.Context())
	if retryable(resp.Status) && claim.Pending() == nil {
		var err error
		if resp.Status == http.StatusBadRequest {
			err = claim.Release(ctx) // the fixed request may differ
		} else {
			err = claim.Unlock(ctx) // the same request, run again as this one
		}
		if err != nil {
			logger.ErrorContext(ctx, "idempotency key not released", "err", err)
		}
		return resp
	}
	stored, err := claim.Complete(ctx, resp)
	switch {
	case errs.Is(err, errs.Conflict):
		// Another request took the key over after this one's lease ran out.
		logger.WarnContext(ctx, "idempotency key taken over while its request ran", "status", resp.Status)
	case err != nil:
		// The response is still the true result; the key stays in progress
		// until its lease runs out, then a retry runs again, which is safe
		// since this request's work did not commit an answer of its own.
		logger.ErrorContext(ctx, "idempotency record not saved", "err", err)
	case stored.Status != resp.Status || !bytes.Equal(stored.Body, resp.Body):
		logger.ErrorContext(ctx, "handler answered other than the answer its work committed; sending the committed one",
			"status", resp.Status, "committed_status", stored.Status)
		return stored
	}
	return resp
}

// errReader replays a read error (e.g. *http.MaxBytesError) to decodeJSON,
// so body errors are reported the same way everywhere.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// fingerprint summarises a request's parameters (idempotency.Fingerprint).
func fingerprint(query string, body []byte) string { return idempotency.Fingerprint(query, body) }

// bufferedResponse holds a handler's response so it can be stored before
// it is sent.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// retryable reports the responses that are not kept for the key, so the
// same key may be sent again: a 400 changed nothing and the request can be
// fixed (the key is forgotten); a 429 or 503 did not get done (Tender or
// Stripe was busy or unreachable, and the handler left nothing it cannot
// resume), and the client is told to retry: the key is kept, unlocked, so
// the retry runs as the same request, deriving the same ids and Stripe
// keys, and finds whatever this try made at Stripe. Every other answer,
// 500s included as with Stripe, is the key's answer for good.
func retryable(status int) bool {
	return status == http.StatusBadRequest || status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}
