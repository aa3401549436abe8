package emulator

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// 3-D Secure in test mode. An intent whose card asks for authentication
// waits in requires_action; its next_action leads to the challenge page,
// GET /_emulator/authenticate/{id}, whose Complete and Fail buttons post
// to the same URL. The page is reached three ways:
//
//   - in Stripe.js's modal (next_action use_stripe_sdk, or any card
//     challenge Stripe.js handles itself): the page is framed with
//     origin=<the embedding page's origin>, and tells that page by
//     postMessage when the customer is done;
//   - at next_action.redirect_to_url.url, as a whole page: after the
//     button the browser goes to the intent's return_url with Stripe's
//     query parameters;
//   - by a program posting outcome=complete|fail, which gets the intent as
//     JSON (tests and tools drive authentication this way).

var challengeTemplate = template.Must(template.ParseFS(stripeJSFiles, "stripejs/challenge.html"))

// challengeView is what the challenge page shows.
type challengeView struct {
	ID       string
	Kind     string // "payment" or "setup"
	Amount   string // formatted, payments only
	Merchant string
	Status   string
	// Pending is true while the intent waits for the customer.
	Pending bool
	// Outcome is "complete" or "fail" once a button was pressed.
	Outcome string
	// Origin is the embedding page's origin in Stripe.js's modal, where
	// the page reports by postMessage; empty for a whole-page challenge.
	Origin string
}

// handleChallengePage shows the test-mode authentication challenge.
func (s *Server) handleChallengePage(w http.ResponseWriter, r *http.Request) {
	origin, ok := messageOrigin(r.URL.Query().Get("origin"))
	if !ok {
		http.Error(w, "origin must be an http or https origin", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	v, found := s.challengeFor(r.PathValue("id"))
	s.mu.Unlock()
	if !found {
		http.Error(w, "No such PaymentIntent or SetupIntent: "+r.PathValue("id"), http.StatusNotFound)
		return
	}
	v.Origin = origin
	s.writeChallenge(w, http.StatusOK, v)
}

// challengeFor describes the intent id for the page. Called with s.mu held.
func (s *Server) challengeFor(id string) (challengeView, bool) {
	v := challengeView{ID: id}
	var acct string
	switch in := s.st.Objects.get(id).(type) {
	case *PaymentIntent:
		v.Kind, v.Status, acct = "payment", string(in.Status), in.Acct
		v.Amount = formatAmount(in.Amount, in.Currency)
		v.Pending = in.Status == PIRequiresAction
	case *SetupIntent:
		v.Kind, v.Status, acct = "setup", string(in.Status), in.Acct
		v.Pending = in.Status == SIRequiresAction
	default:
		return v, false
	}
	if a, ok := s.st.Objects.get(acct).(*Account); ok {
		v.Merchant = a.BusinessName
	}
	return v, true
}

// writeChallenge renders the page. Its only script comes from the
// emulator, so the policy allows nothing else; framing is allowed from any
// origin, as Stripe.js's modal needs.
func (s *Server) writeChallenge(w http.ResponseWriter, status int, v challengeView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = challengeTemplate.Execute(w, v)
}

// messageOrigin validates the origin Stripe.js passes for postMessage: an
// http or https origin with no path. An empty value is a whole-page
// challenge.
func messageOrigin(raw string) (string, bool) {
	if raw == "" {
		return "", true
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return "", false
	}
	return u.Scheme + "://" + u.Host, true
}

// handleAuthenticate completes (outcome=complete) or fails (outcome=fail)
// the 3-D Secure challenge of a PaymentIntent or SetupIntent in
// requires_action. In Stripe.js's modal (origin set) it answers with a page
// that reports back to the embedding page; a browser form post is
// redirected to the intent's return_url, as Stripe does, or shown the
// result; other callers get the intent as JSON.
func (s *Server) handleAuthenticate(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	outcome := r.Form.Get("outcome")
	if outcome != "complete" && outcome != "fail" {
		controlError(w, http.StatusBadRequest, "outcome must be complete or fail")
		return
	}
	origin, ok := messageOrigin(r.Form.Get("origin"))
	if !ok {
		controlError(w, http.StatusBadRequest, "origin must be an http or https origin")
		return
	}
	res, err := s.authenticate3DS(r, r.PathValue("id"), outcome == "complete")
	if err != nil {
		if err.Status == http.StatusNotFound {
			controlError(w, http.StatusNotFound, "no such intent")
			return
		}
		s.writeError(w, err)
		return
	}
	form := r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" && r.URL.Query().Get("json") == ""
	switch {
	case origin != "":
		res.view.Origin, res.view.Outcome = origin, outcome
		s.writeChallenge(w, http.StatusOK, res.view)
	case form && res.returnURL != "":
		http.Redirect(w, r, returnURLFor(res, outcome), http.StatusSeeOther)
	case form && strings.Contains(r.Header.Get("Accept"), "text/html"):
		res.view.Outcome = outcome
		s.writeChallenge(w, http.StatusOK, res.view)
	default:
		s.respond(w, r, http.StatusOK, res.body)
	}
}

// authResult is an intent after its challenge.
type authResult struct {
	view      challengeView
	body      []byte // the intent as JSON
	returnURL string
	secret    string
	param     string // payment_intent or setup_intent
}

// authenticate3DS applies the customer's answer to the intent id's
// challenge. A decline after a successful authentication (4000008260003178)
// is a result, not an error: the intent carries it in last_payment_error.
func (s *Server) authenticate3DS(r *http.Request, id string, ok bool) (*authResult, *Error) {
	s.mu.Lock()
	o, found := s.st.Objects.lookup(id)
	if !found {
		s.mu.Unlock()
		return nil, noSuch("intent", "intent", id)
	}
	c := s.systemCall(r, o.meta().Acct)
	res := &authResult{}
	var err *Error
	switch in := o.(type) {
	case *PaymentIntent:
		err = c.authenticatePI(in, ok)
		res.returnURL, res.secret, res.param = in.extra().ReturnURL, in.Secret, "payment_intent"
	case *SetupIntent:
		err = c.authenticateSI(in, ok)
		res.returnURL, res.secret, res.param = in.ReturnURL, in.Secret, "setup_intent"
	default:
		err = invalidRequest("id", "%s is not an intent", id)
	}
	if err == nil || err.Type == ErrorTypeCard {
		err = nil
		res.body = appendJSON(nil, o.render(s.st))
		res.view, _ = s.challengeFor(id)
	}
	events := c.commitEvents()
	s.mu.Unlock()
	s.hooks.enqueue(events)
	return res, err
}

// returnURLFor is where Stripe sends the browser after a redirect
// challenge: the return_url with the intent's id, its client secret and
// redirect_status.
func returnURLFor(res *authResult, outcome string) string {
	u, err := url.Parse(res.returnURL)
	if err != nil {
		return res.returnURL
	}
	status := "succeeded"
	if outcome == "fail" {
		status = "failed"
	}
	q := u.Query()
	q.Set(res.param, res.view.ID)
	q.Set(res.param+"_client_secret", res.secret)
	q.Set("redirect_status", status)
	u.RawQuery = q.Encode()
	return u.String()
}

func (c *call) authenticatePI(pi *PaymentIntent, ok bool) *Error {
	if pi.Status != PIRequiresAction {
		return stateError("payment_intent_unexpected_state", "PaymentIntent %s does not require action (status %s).", pi.ID, pi.Status)
	}
	pm := c.st.Objects.get(pi.PaymentMethod).(*PaymentMethod)
	c.touch(pi)
	if !ok {
		pi.Status = PIRequiresPaymentMethod
		pi.edit().LastError = &lastError{Type: ErrorTypeInvalidRequest, Code: "payment_intent_authentication_failure",
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
	pm := c.st.Objects.get(si.PaymentMethod).(*PaymentMethod)
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
