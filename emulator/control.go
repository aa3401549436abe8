package emulator

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The control API under /_emulator/ is for tests and operators of a local
// emulator; it needs no key. It answers JSON.

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func controlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"type": "invalid_request_error", "message": msg}})
}

func (s *Server) handleReset(w http.ResponseWriter, r *http.Request) {
	s.Reset()
	writeJSON(w, http.StatusOK, map[string]any{"deleted": true})
}

func (s *Server) handleClock(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"now": s.Now().Unix()})
}

// handleClockAdvance moves the clock by seconds=N or duration=1h30m.
func (s *Server) handleClockAdvance(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	var d time.Duration
	switch {
	case r.Form.Get("seconds") != "":
		n, err := strconv.ParseInt(r.Form.Get("seconds"), 10, 64)
		if err != nil || n < 0 {
			controlError(w, http.StatusBadRequest, "seconds must be a non-negative integer")
			return
		}
		d = time.Duration(n) * time.Second
	case r.Form.Get("duration") != "":
		var err error
		if d, err = time.ParseDuration(r.Form.Get("duration")); err != nil || d < 0 {
			controlError(w, http.StatusBadRequest, "duration must be a non-negative Go duration such as 48h")
			return
		}
	default:
		controlError(w, http.StatusBadRequest, "give seconds=N or duration=1h")
		return
	}
	s.Advance(d)
	writeJSON(w, http.StatusOK, map[string]any{"now": s.Now().Unix()})
}

func (s *Server) handleFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Faults())
}

// handleFaultsSet replaces the fault configuration from a JSON body
// ({"error_rate":0.1,"latency":"50ms"...}; durations in nanoseconds or as
// strings).
func (s *Server) handleFaultsSet(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Latency          jsonDuration `json:"latency"`
		LatencyJitter    jsonDuration `json:"latency_jitter"`
		ErrorRate        float64      `json:"error_rate"`
		RateLimit        int          `json:"rate_limit"`
		EndpointRate     int          `json:"endpoint_rate_limit"`
		LostResponseRate float64      `json:"lost_response_rate"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		controlError(w, http.StatusBadRequest, "body must be JSON: "+err.Error())
		return
	}
	f := Faults{Latency: time.Duration(in.Latency), LatencyJitter: time.Duration(in.LatencyJitter),
		ErrorRate: in.ErrorRate, RateLimit: in.RateLimit, EndpointRateLimit: in.EndpointRate,
		LostResponseRate: in.LostResponseRate}
	if err := f.Validate(); err != nil {
		controlError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.SetFaults(f)
	writeJSON(w, http.StatusOK, f)
}

type jsonDuration time.Duration

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := time.ParseDuration(s)
		*d = jsonDuration(v)
		return err
	}
	var n int64
	err := json.Unmarshal(b, &n)
	*d = jsonDuration(n)
	return err
}

// handlePlatformAdd registers a platform: account, secret_key,
// publishable_key, name, and for Connect OAuth client_id and
// redirect_uris[].
func (s *Server) handlePlatformAdd(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	p := Platform{AccountID: r.Form.Get("account"), SecretKey: r.Form.Get("secret_key"),
		PublishableKey: r.Form.Get("publishable_key"), Name: r.Form.Get("name"),
		ClientID: r.Form.Get("client_id"), RedirectURIs: append(r.Form["redirect_uris[]"], r.Form["redirect_uris"]...)}
	if p.AccountID == "" || len(p.SecretKey) < 9 || p.SecretKey[:8] != "sk_test_" {
		controlError(w, http.StatusBadRequest, "account and secret_key (sk_test_…) are required")
		return
	}
	s.AddPlatform(p)
	writeJSON(w, http.StatusOK, map[string]any{"account": p.AccountID})
}

var challengePage = template.Must(template.New("challenge").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>3D Secure test authentication</title></head>
<body><h1>3D Secure 2 test page</h1><p>Intent {{.}}</p>
<form method="post"><button name="outcome" value="complete">Complete</button>
<button name="outcome" value="fail">Fail</button></form></body></html>`))

// handleChallengePage shows the test-mode authentication challenge.
func (s *Server) handleChallengePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = challengePage.Execute(w, r.PathValue("id"))
}

// handleAuthenticate completes (outcome=complete) or fails (outcome=fail)
// the 3-D Secure challenge of a PaymentIntent or SetupIntent in
// requires_action. A browser form post is redirected to the intent's
// return_url, as Stripe does; other callers get the intent as JSON.
func (s *Server) handleAuthenticate(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	outcome := r.Form.Get("outcome")
	if outcome != "complete" && outcome != "fail" {
		controlError(w, http.StatusBadRequest, "outcome must be complete or fail")
		return
	}
	s.mu.Lock()
	o, ok := s.st.Objects[r.PathValue("id")]
	if !ok {
		s.mu.Unlock()
		controlError(w, http.StatusNotFound, "no such intent")
		return
	}
	c := s.systemCall(r, o.meta().Acct)
	var ret, secret, status string
	var err *Error
	switch in := o.(type) {
	case *PaymentIntent:
		err = c.authenticatePI(in, outcome == "complete")
		ret, secret, status = in.ReturnURL, in.Secret, string(in.Status)
	case *SetupIntent:
		err = c.authenticateSI(in, outcome == "complete")
		ret, secret, status = in.ReturnURL, in.Secret, string(in.Status)
	default:
		err = invalidRequest("id", "%s is not an intent", o.meta().ID)
	}
	var body []byte
	if err == nil || err.Type == ErrorTypeCard {
		body = appendJSON(nil, o.render(s.st))
	}
	events := c.commitEvents()
	s.mu.Unlock()
	s.hooks.enqueue(events)
	if err != nil && err.Type != ErrorTypeCard {
		s.writeError(w, err)
		return
	}
	if ret != "" && r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" && r.URL.Query().Get("json") == "" {
		redirectStatus := "succeeded"
		if outcome == "fail" {
			redirectStatus = "failed"
		}
		http.Redirect(w, r, withQuery(ret, o, secret, redirectStatus, status), http.StatusSeeOther)
		return
	}
	s.respond(w, r, http.StatusOK, body)
}

func withQuery(ret string, o object, secret, redirectStatus, _ string) string {
	u, err := url.Parse(ret)
	if err != nil {
		return ret
	}
	q := u.Query()
	name := "payment_intent"
	if _, ok := o.(*SetupIntent); ok {
		name = "setup_intent"
	}
	q.Set(name, o.meta().ID)
	q.Set(name+"_client_secret", secret)
	q.Set("redirect_status", redirectStatus)
	u.RawQuery = q.Encode()
	return u.String()
}

// systemCall is a call made by the emulator itself on behalf of acct.
func (s *Server) systemCall(r *http.Request, acct string) *call {
	platform := acct
	if a, ok := s.st.Objects[acct].(*Account); ok && a.Platform != "" {
		platform = a.Platform
	}
	return &call{s: s, st: s.st, r: r, platform: platform, acct: acct, p: &params{root: &pnode{}},
		now: s.clock.now().Unix()}
}

func (c *call) authenticatePI(pi *PaymentIntent, ok bool) *Error {
	if pi.Status != PIRequiresAction {
		return stateError("payment_intent_unexpected_state", "PaymentIntent %s does not require action (status %s).", pi.ID, pi.Status)
	}
	pm := c.st.Objects[pi.PaymentMethod].(*PaymentMethod)
	if !ok {
		pi.Status = PIRequiresPaymentMethod
		pi.LastError = &lastError{Type: ErrorTypeInvalidRequest, Code: "payment_intent_authentication_failure",
			Message:       "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
			PaymentMethod: pm.ID}
		c.emit("payment_intent.payment_failed", pi)
		return nil
	}
	pi.Authenticated = true
	if pi.ConfirmationMethod == "manual" {
		pi.Status = PIRequiresConfirmation
		return nil
	}
	_, err := c.chargePI(pi, pm, false)
	return err
}

func (c *call) authenticateSI(si *SetupIntent, ok bool) *Error {
	if si.Status != SIRequiresAction {
		return stateError("setup_intent_unexpected_state", "SetupIntent %s does not require action (status %s).", si.ID, si.Status)
	}
	pm := c.st.Objects[si.PaymentMethod].(*PaymentMethod)
	if !ok {
		si.Status = SIRequiresPaymentMethod
		si.LastError = &lastError{Type: ErrorTypeInvalidRequest, Code: "setup_intent_authentication_failure",
			Message:       "The latest attempt to set up the payment method has failed because authentication failed.",
			PaymentMethod: pm.ID}
		c.emit("setup_intent.setup_failed", si)
		return nil
	}
	c.succeedSI(si, pm)
	return nil
}
