package emulator

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"sort"
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
	// eventReq is what the call's events say of the request; see emit.
	eventReq *eventRequest
	// publishable marks a request made with a publishable key (Stripe.js
	// in a browser): it sees intents in their client-side shape.
	publishable bool
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

// request is one API request on its way through the pipeline: who sent
// it, which account it addresses, its raw parameters and its idempotency key.
type request struct {
	r        *http.Request
	h        handlerFunc
	platform string // the account owning the secret key
	acct     string // the account addressed: Stripe-Account or the platform
	raw      string
	reqID    string
	key      string
	// publishable marks a request made with a publishable key.
	publishable bool
	// fail makes fault injection answer with a 500 api_error in place of
	// the operation once its parameters passed validation, so the 500 is
	// stored and replayed as Stripe stores its own, and an invalid request
	// still gets (and does not store) its validation error.
	fail bool
}

// api wraps an operation with everything every Stripe request goes through:
// faults, authentication, account addressing, parameter decoding,
// idempotency, expansion and error rendering. ServeHTTP has already set
// the Request-Id.
func (s *Server) api(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Stripe-Version", APIVersion)
		allowCrossOrigin(w.Header())
		fail, answered := s.faults.beforeRequest(w, r, s.clock.now())
		if answered {
			return
		}
		q, err := s.newRequest(w, r, h)
		if err == nil {
			err = checkVersion(r.Header.Get("Stripe-Version"))
		}
		if err != nil {
			s.writeError(w, err)
			return
		}
		q.fail = fail
		if q.key != "" {
			s.idempotent(w, q)
			return
		}
		status, body, _, _ := s.execute(q)
		if r.Method == http.MethodPost && s.faults.loseResponse() && hijackClose(w) {
			return
		}
		s.respond(w, r, status, body)
	})
}

// newRequest authenticates r and reads its parameters.
func (s *Server) newRequest(w http.ResponseWriter, r *http.Request, h handlerFunc) (*request, *Error) {
	platform, acct, publishable, err := s.authenticate(r)
	if err != nil {
		return nil, err
	}
	raw, err := readParams(r)
	if err != nil {
		return nil, err
	}
	q := &request{r: r, h: h, platform: platform, acct: acct, raw: raw, reqID: w.Header().Get("Request-Id"),
		publishable: publishable}
	if r.Method == http.MethodPost {
		q.key = r.Header.Get("Idempotency-Key")
	}
	return q, nil
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
// the first response (a 500 included) is stored and replayed; other
// parameters are an idempotency_error; a concurrent request with the key
// gets a 409; a request that failed validation stores nothing.
func (s *Server) idempotent(w http.ResponseWriter, q *request) {
	if len(q.key) > 255 {
		s.writeError(w, invalidRequest("", "Idempotency keys can be at most 255 characters long."))
		return
	}
	scope := idemScope{q.platform, q.acct, q.key}
	ent, res := s.idem.begin(scope, paramsSum(q), s.clock.now())
	switch res {
	case idemInFlight:
		s.writeError(w, &Error{Status: http.StatusConflict, Type: ErrorTypeInvalidRequest, Code: "idempotency_key_in_use",
			Message: "There is currently another in-progress request using this Stripe API key (or connected account) and idempotency key (" + q.key + "). Please try again later."})
		return
	case idemMismatch:
		s.writeError(w, &Error{Status: http.StatusBadRequest, Type: ErrorTypeIdempotency,
			Message: "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '" + q.key + "' if you meant to execute a different request."})
		return
	case idemReplay:
		w.Header().Set("Idempotent-Replayed", "true")
		w.Header().Set("Original-Request", ent.reqID)
		s.respondIdempotent(w, q, int(ent.status), s.storedBody(ent))
		return
	}
	status, body, stored, replay := s.execute(q)
	if stored {
		kept := body
		if replay != nil && !checkVersions { // tests keep both, to compare
			kept = nil
		}
		s.idem.finish(scope, q.reqID, status, kept, replay, q.publishable)
	} else {
		s.idem.abandon(scope)
	}
	if s.faults.loseResponse() && hijackClose(w) {
		return
	}
	s.respondIdempotent(w, q, status, body)
}

// respondIdempotent answers a request with a key. A stored 500 will be
// replayed to every retry, so it tells clients not to retry with the key.
func (s *Server) respondIdempotent(w http.ResponseWriter, q *request, status int, body []byte) {
	w.Header().Set("Idempotency-Key", q.key)
	if status >= http.StatusInternalServerError {
		w.Header().Set("Stripe-Should-Retry", "false")
	}
	s.respond(w, q.r, status, body)
}

// paramsSum identifies a request's parameters for the idempotency check:
// the path and the decoded pairs sorted by name, so that the order of
// distinct parameters does not matter but the order of array elements does.
func paramsSum(q *request) [32]byte {
	pairs := strings.Split(q.raw, "&")
	for i, p := range pairs {
		if k, v, ok := strings.Cut(p, "="); ok {
			ku, _ := url.QueryUnescape(k)
			vu, _ := url.QueryUnescape(v)
			pairs[i] = ku + "=" + vu
		}
	}
	sort.SliceStable(pairs, func(i, j int) bool {
		ki, _, _ := strings.Cut(pairs[i], "=")
		kj, _, _ := strings.Cut(pairs[j], "=")
		return ki < kj
	})
	return sha256.Sum256([]byte(q.r.Method + " " + q.r.URL.Path + "\n" + strings.Join(pairs, "&")))
}

// execute runs the request and reports whether Stripe would store the
// result: everything except failures of validation. An injected failure is
// raised by params.finish, after validation and before any effect; an
// operation that succeeds without calling finish fails all the same.
// replay, when not nil, can render body again (see replayable).
func (s *Server) execute(q *request) (status int, body []byte, stored bool, replay *Event) {
	status, body, stored, replay = s.run(q)
	if q.fail && status < http.StatusBadRequest {
		e := injectedError()
		return e.Status, s.errorBody(e), true, nil
	}
	return status, body, stored, replay
}

func injectedError() *Error {
	return apiError("An unknown error occurred while processing your request (injected by the emulator).")
}

// run executes the operation under the state lock and renders its result.
func (s *Server) run(q *request) (status int, body []byte, stored bool, replay *Event) {
	p, perr := parseForm(q.raw)
	if perr != nil {
		return perr.Status, s.errorBody(perr), false, nil
	}
	if q.fail {
		p.injected = injectedError()
	}
	var paths [][]string
	if p.has("expand") {
		var err *Error
		if paths, err = expandPaths(p.strs("expand")); err != nil {
			return err.Status, s.errorBody(err), false, nil
		}
	}
	if s.executeHook != nil {
		s.executeHook(q.r)
	}
	s.mu.Lock()
	c := &call{s: s, st: s.st, r: q.r, platform: q.platform, acct: q.acct, p: p,
		now: s.clock.now().Unix(), reqID: q.reqID, idemKey: q.key, publishable: q.publishable}
	res, err := c.handle(q.h)
	status = http.StatusOK
	if err == nil {
		body, err = s.renderResult(c, res, paths)
	}
	if err != nil {
		status, body = err.Status, c.errorBody(err)
	}
	deliveries := c.commitEvents()
	if err == nil && q.key != "" {
		replay = replayable(res, paths)
	}
	s.mu.Unlock()
	s.hooks.enqueue(deliveries)
	return status, body, err == nil || !err.validation, replay
}

// replayable returns the event from whose record of res the response can
// be rendered again byte for byte, or nil. A stored idempotent response is
// then a pointer instead of 2 kB of JSON. That holds for a PaymentIntent
// without last_payment_error, whose rendering reads nothing but the
// intent (the error's payment method could change), when nothing was
// expanded and an event holds the intent's current version: the version
// rendered, which that event keeps unchanged (version.go). Called with
// s.mu held, after the call's events are committed.
func replayable(res any, paths [][]string) *Event {
	pi, ok := res.(*PaymentIntent)
	if !ok || pi.lastError() != nil || len(paths) > 0 {
		return nil
	}
	return pi.holder
}

// storedBody is the body of a stored idempotent response. In tests, where
// a replayed response also keeps its body, the two must agree.
func (s *Server) storedBody(ent *idemEntry) []byte {
	if ent.replay == nil {
		return ent.rawBody()
	}
	s.mu.Lock()
	body := s.replayBody(ent)
	s.mu.Unlock()
	if kept := ent.rawBody(); kept != nil && !bytes.Equal(body, kept) {
		panic("emulator: an idempotent response rendered again differs from the first:\n" + string(body) + "\n" + string(kept))
	}
	return body
}

// replayBody renders a response kept as a replay. Called with s.mu held.
func (s *Server) replayBody(ent *idemEntry) []byte {
	v := any(ent.replay.Snapshot.render(s.st))
	if ent.publishable {
		v = clientView(v)
	}
	return appendJSON(make([]byte, 0, 2048), v)
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
	if c.publishable {
		v = clientView(v)
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

// authenticate maps the API key (Bearer or Basic) to its platform and
// resolves Stripe-Account to an account the platform may address. A
// publishable key is accepted only for the operations Stripe.js performs
// (publishableRoutes).
func (s *Server) authenticate(r *http.Request) (platform, acct string, publishable bool, err *Error) {
	key := apiKey(r)
	if key == "" {
		return "", "", false, authError("You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, a, err := s.accessToken(r, key); p != "" || err != nil {
		return p, a, false, err // a Connect OAuth access token
	}
	platform, acct, publishable = s.keyOwner(key)
	if platform == "" {
		return "", "", false, authError("Invalid API Key provided: " + maskKey(key))
	}
	if publishable && !publishableRoutes[r.Pattern] {
		return "", "", false, authError("This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.")
	}
	if h := strings.TrimSpace(r.Header.Get("Stripe-Account")); h != "" && h != acct {
		a, ok := s.st.Objects.get(h).(*Account)
		if !ok || a.Platform != platform || acct != platform {
			return "", "", false, &Error{Status: http.StatusForbidden, Type: ErrorTypeInvalidRequest, Code: "account_invalid",
				Message: "The provided key '" + maskKey(key) + "' does not have access to account '" + h + "' (or that account does not exist). Application access may have been revoked.", validation: true}
		}
		acct = h
	}
	return platform, acct, publishable, nil
}

// apiKey reads the key from a Bearer token or a Basic user name.
func apiKey(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(auth, "Bearer "):
		return strings.TrimSpace(strings.TrimPrefix(auth, "Bearer "))
	case strings.HasPrefix(auth, "Basic "):
		dec, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
		if err == nil {
			key, _, _ := strings.Cut(string(dec), ":")
			return key
		}
	}
	return ""
}

// keyOwner returns the platform a test-mode key belongs to, the account
// it acts as, and whether it is publishable. A publishable key is a
// platform's, or a connected account's (Connect OAuth hands it out as
// stripe_publishable_key), which acts as that account. Publishable keys
// live on the account objects, so Reset and snapshots keep them. Called
// with s.mu held.
func (s *Server) keyOwner(key string) (platform, acct string, publishable bool) {
	switch {
	case strings.HasPrefix(key, "sk_test_"):
		platform = s.keys[key]
		return platform, platform, false
	case strings.HasPrefix(key, "pk_test_"):
		for _, p := range s.keys {
			if a, ok := s.st.Objects.get(p).(*Account); ok && a.PublishableKey == key {
				return p, p, true
			}
			for _, o := range s.st.Lists[listKey{p, "account"}] {
				if a := o.(*Account); a.PublishableKey == key && a.Platform == p {
					return p, a.ID, true
				}
			}
		}
	}
	return "", "", false
}

func maskKey(k string) string {
	if len(k) <= 12 {
		return strings.Repeat("*", len(k))
	}
	return k[:8] + strings.Repeat("*", len(k)-12) + k[len(k)-4:]
}

// checkVersion accepts a request's Stripe-Version when Stripe knows the
// version (apiVersions), beta flags after it ("; name=v1") included, or
// when there is none; another is a 400, as Stripe answers it. Whatever
// version was asked for, the emulator answers in APIVersion, which the
// response's Stripe-Version names (see the package doc).
func checkVersion(v string) *Error {
	if v == "" {
		return nil
	}
	base, _, _ := strings.Cut(v, ";")
	if apiVersions.has(strings.TrimSpace(base)) {
		return nil
	}
	return invalidRequest("", "Invalid Stripe API version: %s", v)
}

// notFound answers any route the emulator does not serve, as Stripe does.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	e := invalidRequest("", "Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.", r.Method, r.URL.Path)
	e.Status = http.StatusNotFound
	s.writeError(w, e)
}
