package emulator

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// call is one API request being served: who is asking, on which account,
// with which parameters. Handlers run with Server.mu held.
type call struct {
	s        *Server
	st       *state
	r        *http.Request
	platform string // the account owning the secret key
	acct     string // the account addressed: Stripe-Account or the platform
	p        *params
	now      int64
	reqID    string
	idemKey  string
	events   []*Event
}

// handlerFunc serves one operation. It returns an object to render or an
// *Error. It must check all parameters before changing anything, so that a
// validation error leaves no trace.
type handlerFunc func(c *call) (any, *Error)

var requestSeq atomic.Uint64

func newRequestID() string {
	n := requestSeq.Add(1)
	s := strconv.FormatUint(n, 36)
	return "req_" + strings.Repeat("0", max(0, 14-len(s))) + s
}

// api wraps an operation with everything every Stripe request goes through:
// request id, faults, authentication, account addressing, parameter
// decoding, idempotency, expansion and error rendering.
func (s *Server) api(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := newRequestID()
		w.Header().Set("Request-Id", reqID)
		w.Header().Set("Stripe-Version", APIVersion)
		if s.faults.beforeRequest(w, r, reqID) {
			return
		}
		platform, acct, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, err)
			return
		}
		raw, rerr := readParams(r)
		if rerr != nil {
			s.writeError(w, rerr)
			return
		}
		key := ""
		if r.Method == http.MethodPost {
			key = r.Header.Get("Idempotency-Key")
		}
		if key == "" {
			status, body := s.execute(r, h, platform, acct, raw, reqID, "")
			s.respond(w, r, status, body)
			return
		}
		s.idempotent(w, r, h, platform, acct, raw, reqID, key)
	})
}

func readParams(r *http.Request) (string, *Error) {
	if r.Method != http.MethodPost {
		return r.URL.RawQuery, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return "", invalidRequest("", "Could not read the request body.")
	}
	return string(b), nil
}

// idempotent serves a POST carrying an Idempotency-Key, as Stripe documents:
// the first response is stored and replayed; other parameters are an
// idempotency_error; a concurrent request with the key gets a 409.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, h handlerFunc, platform, acct, raw, reqID, key string) {
	if len(key) > 255 {
		s.writeError(w, invalidRequest("", "Idempotency keys can be at most 255 characters long."))
		return
	}
	sum := sha256.Sum256([]byte(r.Method + " " + r.URL.Path + "\n" + raw))
	scope := platform + "/" + acct + "/" + key
	ent, res := s.idem.begin(scope, sum, s.clock.now())
	switch res {
	case idemInFlight:
		e := &Error{Status: http.StatusConflict, Type: ErrorTypeInvalidRequest, Code: "idempotency_key_in_use",
			Message: "There is currently another in-progress request using this Stripe API key (or connected account) and idempotency key (" + key + "). Please try again later."}
		s.writeError(w, e)
		return
	case idemMismatch:
		s.writeError(w, &Error{Status: http.StatusBadRequest, Type: ErrorTypeIdempotency,
			Message: "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '" + key + "' if you meant to execute a different request."})
		return
	case idemReplay:
		w.Header().Set("Idempotent-Replayed", "true")
		w.Header().Set("Original-Request", ent.reqID)
		w.Header().Set("Idempotency-Key", key)
		s.respond(w, r, ent.status, ent.body)
		return
	}
	w.Header().Set("Idempotency-Key", key)
	status, body, stored := s.executeStored(r, h, platform, acct, raw, reqID, key)
	if stored {
		s.idem.finish(scope, reqID, status, body)
	} else {
		s.idem.abandon(scope)
	}
	if s.faults.loseResponse(r) && hijackClose(w) {
		return
	}
	s.respond(w, r, status, body)
}

// executeStored runs the request and reports whether Stripe would store its
// result: everything except failures of validation.
func (s *Server) executeStored(r *http.Request, h handlerFunc, platform, acct, raw, reqID, key string) (int, []byte, bool) {
	var validation bool
	status, body := s.run(r, h, platform, acct, raw, reqID, key, &validation)
	return status, body, !validation
}

func (s *Server) execute(r *http.Request, h handlerFunc, platform, acct, raw, reqID, key string) (int, []byte) {
	var validation bool
	status, body := s.run(r, h, platform, acct, raw, reqID, key, &validation)
	return status, body
}

// run executes h under the state lock and renders its result.
func (s *Server) run(r *http.Request, h handlerFunc, platform, acct, raw, reqID, key string, validation *bool) (int, []byte) {
	p, perr := parseForm(raw)
	if perr != nil {
		*validation = true
		return perr.Status, s.errorBody(perr)
	}
	var paths [][]string
	if p.has("expand") {
		var err *Error
		if paths, err = expandPaths(p.strs("expand")); err != nil {
			*validation = true
			return err.Status, s.errorBody(err)
		}
	}
	if s.executeHook != nil {
		s.executeHook(r)
	}
	s.mu.Lock()
	c := &call{s: s, st: s.st, r: r, platform: platform, acct: acct, p: p,
		now: s.clock.now().Unix(), reqID: reqID, idemKey: key}
	res, err := h(c)
	var body []byte
	status := http.StatusOK
	if err == nil {
		body, err = s.renderResult(c, res, paths)
	}
	if err != nil {
		*validation = err.validation
		status, body = err.Status, s.errorBodyLocked(err)
	}
	events := c.commitEvents()
	s.mu.Unlock()
	s.hooks.enqueue(events)
	return status, body
}

func (s *Server) renderResult(c *call, res any, paths [][]string) ([]byte, *Error) {
	var v any
	switch res := res.(type) {
	case object:
		v = res.render(c.st)
	default:
		v = res
	}
	v, err := c.st.expand(v, paths, nil)
	if err != nil {
		return nil, err
	}
	return appendJSON(make([]byte, 0, 2048), v), nil
}

func (s *Server) respond(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// writeError is the one place an *Error becomes an HTTP response.
func (s *Server) writeError(w http.ResponseWriter, e *Error) {
	for k, v := range e.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(s.errorBody(e))
}

func (s *Server) errorBody(e *Error) []byte {
	if e.PaymentIntent == nil && e.SetupIntent == nil && e.PaymentMethod == nil {
		return appendJSON(nil, obj{{"error", e.render(nil)}})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errorBodyLocked(e)
}

func (s *Server) errorBodyLocked(e *Error) []byte {
	return appendJSON(nil, obj{{"error", e.render(s.st)}})
}

// authenticate maps the secret key (Bearer or Basic) to its platform and
// resolves Stripe-Account to an account the platform may address.
func (s *Server) authenticate(r *http.Request) (platform, acct string, err *Error) {
	key := ""
	auth := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(auth, "Bearer "):
		key = strings.TrimSpace(strings.TrimPrefix(auth, "Bearer "))
	case strings.HasPrefix(auth, "Basic "):
		dec, derr := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
		if derr == nil {
			key, _, _ = strings.Cut(string(dec), ":")
		}
	}
	if key == "" {
		return "", "", authError("You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	platform, ok := s.keys[key]
	if !ok || !strings.HasPrefix(key, "sk_test_") {
		return "", "", authError("Invalid API Key provided: " + maskKey(key))
	}
	acct = platform
	if h := strings.TrimSpace(r.Header.Get("Stripe-Account")); h != "" && h != platform {
		a, ok := s.st.Objects[h].(*Account)
		if !ok || a.Platform != platform {
			return "", "", &Error{Status: http.StatusForbidden, Type: ErrorTypeInvalidRequest, Code: "account_invalid",
				Message: "The provided key '" + maskKey(key) + "' does not have access to account '" + h + "' (or that account does not exist). Application access may have been revoked.", validation: true}
		}
		acct = h
	}
	return platform, acct, nil
}

func maskKey(k string) string {
	if len(k) <= 12 {
		return strings.Repeat("*", len(k))
	}
	return k[:8] + strings.Repeat("*", len(k)-12) + k[len(k)-4:]
}

// notFound answers any route the emulator does not serve, as Stripe does.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Request-Id", newRequestID())
	e := invalidRequest("", "Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.", r.Method, r.URL.Path)
	e.Status = http.StatusNotFound
	s.writeError(w, e)
}
