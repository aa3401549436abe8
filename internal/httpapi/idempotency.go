package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"

	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/text"
)

// withIdempotency gives POSTs with an Idempotency-Key Stripe's semantics:
// the first response, errors included, is stored and replayed with
// Idempotent-Replayed: true. A 400 is not stored: by the API's convention a
// handler refuses bad input before it changes anything, so the caller may fix
// the request and retry with the same key, as with Stripe.
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
			if err := text.Check("Idempotency-Key", key, text.Rule{Max: idempotency.MaxKeyLength}); err != nil {
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
			replay, err := s.Begin(r.Context(), req)
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
			rec := &bufferedResponse{header: w.Header()}
			next.ServeHTTP(rec, r)
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			if retryable(rec.status) {
				err = s.Release(r.Context(), req)
			} else {
				err = s.Complete(r.Context(), req, idempotency.Response{Status: rec.status, Body: rec.body.Bytes()})
			}
			if err != nil {
				// The response is still the true result; the key stays in
				// progress until its lock times out, then a retry re-runs.
				logger.ErrorContext(r.Context(), "idempotency record not saved", "key_platform", req.PlatformID, "err", err)
			}
			w.WriteHeader(rec.status)
			w.Write(rec.body.Bytes())
		})
	}
}

// errReader replays a read error (e.g. *http.MaxBytesError) to decodeJSON,
// so body errors are reported the same way everywhere.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// fingerprint summarises a request's parameters. JSON bodies are
// canonicalised first (object keys sorted, numbers kept exact) so that the
// same parameters sent with other whitespace or key order still match.
func fingerprint(query string, body []byte) string {
	canon := body
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if len(bytes.TrimSpace(body)) == 0 {
		canon = []byte("{}")
	} else if err := dec.Decode(&v); err == nil {
		if b, err := json.Marshal(v); err == nil {
			canon = b
		}
	}
	h := sha256.New()
	h.Write([]byte(query))
	h.Write([]byte{0})
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil))
}

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
// fixed; a 429 or 503 did not get done (Tender or Stripe was busy or
// unreachable, and the handler left nothing half done), and the client is
// told to retry. Every other answer, 500s included as with Stripe, is the
// key's answer for good.
func retryable(status int) bool {
	return status == http.StatusBadRequest || status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}
