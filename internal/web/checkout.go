package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/tenderpay/tender/internal/checkout"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/platform"
)

// The payer's pages: a checkout link's page, where a payer who is present
// pays an amount the platform fixed, and an authentication link's page,
// where a customer authenticates a payment their bank held. Both take the
// card, or the bank's challenge, with Stripe.js only: the card number
// goes from Stripe's iframe to Stripe. The link's token is the page's
// credential and stays in its address, since the page is opened again
// after a decline and from mail (opening it changes nothing). Its
// actions are JSON requests of the page's script, each checked against a
// CSRF token derived from a random cookie the page sets (double submit:
// another site can neither read the cookie nor make the token), and the
// outcome is always read back from Stripe by Tender.

// payCookie names the pages' CSRF cookie. It is no credential: it binds
// the page's actions to the browser that loaded the page.
const payCookie = "tender_pay"

// checkoutConsentVersion names the wording of checkoutConsentText; change
// it whenever the wording changes: consents keep both as evidence.
const checkoutConsentVersion = "tender-checkout-consent-1"

// checkoutConsentText is the label of the box a payer ticks to save their
// card, and the consent they give the merchant by it.
func checkoutConsentText(merchant string) string {
	return "Save this card, and allow " + merchant + " to charge it when I'm not there"
}

func (h *handlers) payRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+checkout.LinkPath+"{token}", page(h.checkoutShow))
	mux.Handle("POST "+checkout.LinkPath+"{token}/intent", h.payJSON(h.checkoutIntent))
	mux.Handle("POST "+checkout.LinkPath+"{token}/complete", h.payJSON(h.checkoutComplete))
	mux.Handle("GET "+checkout.AuthenticatePath+"{token}", page(h.authShow))
	mux.Handle("POST "+checkout.AuthenticatePath+"{token}/intent", h.payJSON(h.authIntent))
	mux.Handle("POST "+checkout.AuthenticatePath+"{token}/complete", h.payJSON(h.authComplete))
}

// payCSRF is the CSRF token of the page at token for the browser holding
// cookie.
func payCSRF(cookie, token string) string {
	sum := sha256.Sum256([]byte("tender/pay-csrf\x00" + cookie + "\x00" + token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// payCookieOf returns the browser's CSRF cookie, setting a new one if it
// has none.
func (h *handlers) payCookieOf(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(payCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: payCookie, Value: v, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: strings.HasPrefix(h.PublicURL, "https://")})
	return v
}

var errPayCSRF = errs.E(errs.Forbidden, "This request could not be verified. Reload the page and try again.").WithReason("csrf_invalid")

// payJSON handles a request of a payer's page's script: the CSRF token in
// X-CSRF-Token is checked against the cookie, and do's result or error is
// written as JSON.
func (h *handlers) payJSON(do func(r *http.Request, token string) (any, error)) http.Handler {
	return page(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxActionBody)
		token := r.PathValue("token")
		var err error
		c, cerr := r.Cookie(payCookie)
		if cerr != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(payCSRF(c.Value, token)), []byte(r.Header.Get("X-CSRF-Token"))) != 1 {
			err = errPayCSRF
		}
		var out any
		if err == nil {
			out, err = do(r, token)
		}
		if err != nil {
			status, e := h.walletErrorOf(r, err)
			writeJSON(w, status, jsonError{Error: jsonErrorBody{Code: e.Reason, Message: e.Message, Param: e.Param}})
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// payPages are the titles and explanations of the pages a payer sees when
// a link cannot be used, by reason.
var payPages = map[string]struct{ Title, Message string }{
	"link_invalid": {"This payment link is not valid",
		"Check that the address was copied whole, or ask the seller for a new link."},
	"link_expired": {"This payment link has expired",
		"Nothing was charged. Ask the seller for a new link if you still want to pay."},
	"link_canceled": {"This payment link was canceled",
		"Nothing was charged. Ask the seller for a new link if you still want to pay."},
}

// payError shows err as a page.
func (h *handlers) payError(w http.ResponseWriter, r *http.Request, platformID string, err error) {
	status, e := h.walletErrorOf(r, err)
	d := errorData{Code: e.Reason, Title: "Something went wrong", Message: e.Message, PlatformID: platformID}
	if p, ok := payPages[e.Reason]; ok {
		d.Title, d.Message = p.Title, p.Message
	}
	d.PlatformName = h.Connect.PlatformName(r.Context(), platformID)
	h.render(w, r, status, "connect_error", d)
}

// receiptCSP is the policy of a payer's page that runs no script (a
// receipt, an outcome): the default one, plus Tender's own stylesheet.
const receiptCSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// formatAmount shows an amount as people read it: "12.34 USD".
func formatAmount(v int64, cur money.Currency) string {
	return money.New(v, cur).Decimal() + " " + cur.Code()
}

type checkoutData struct {
	Title, PlatformName, MerchantName string
	Amount, Description, Reference    string
	Status                            string
	Base, CSRF                        string
	PublishableKey, StripeJS, Account string
	CanSave                           bool
	ConsentText, ConsentVersion       string
	Expires                           string
	PaymentID, PaidAt, Card           string
	LastDecline                       string
}

func (h *handlers) checkoutShow(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	cp, err := h.Checkout.Open(r.Context(), token)
	if err != nil {
		h.payError(w, r, "", err)
		return
	}
	l := cp.Link
	switch cp.Status {
	case checkout.StatusExpired:
		h.payError(w, r, l.PlatformID, errs.E(errs.Gone, "expired").WithReason("link_expired"))
		return
	case checkout.StatusCanceled:
		h.payError(w, r, l.PlatformID, errs.E(errs.Gone, "canceled").WithReason("link_canceled"))
		return
	}
	name := merchantName(cp.Merchant)
	d := checkoutData{Title: "Pay " + name, PlatformName: h.Connect.PlatformName(r.Context(), l.PlatformID), MerchantName: name,
		Amount: formatAmount(l.Amount, l.Currency), Description: l.Description, Reference: l.Reference, Status: string(cp.Status),
		Base: checkout.LinkPath + token, PublishableKey: cp.PublishableKey, Account: cp.Merchant.Connection.AccountID,
		CanSave: cp.CanSaveCard(), ConsentText: checkoutConsentText(name), ConsentVersion: checkoutConsentVersion,
		Expires: l.Expires.UTC().Format("15:04 UTC on 2 January 2006")}
	st := &platform.Stripe{PublishableKey: cp.PublishableKey, APIBase: cp.APIBase}
	d.StripeJS = stripeJSURL(st)
	if cp.Status == checkout.StatusPaid {
		d.Title = "Payment received"
		if cp.Payment != nil {
			d.PaymentID = cp.Payment.ID
		}
		if !l.Paid.IsZero() {
			d.PaidAt = l.Paid.UTC().Format("15:04 UTC on 2 January 2006")
		}
		if cp.CardLast4 != "" {
			d.Card = brandName(cp.CardBrand) + " ending in " + cp.CardLast4
		}
		w.Header().Set("Content-Security-Policy", receiptCSP)
	} else {
		d.CSRF = payCSRF(h.payCookieOf(w, r), token)
		if cp.Payment != nil && cp.Payment.FailureMessage != "" {
			d.LastDecline = cp.Payment.FailureMessage
		}
		w.Header().Set("Content-Security-Policy", walletCSP(st))
	}
	h.render(w, r, http.StatusOK, "checkout", d)
}

// checkoutIntent gives the page the PaymentIntent to confirm. Saving the
// card needs the box ticked with the text the page showed: if the
// merchant's name changed since, the text is not what the payer agreed to
// and the page must be reloaded.
func (h *handlers) checkoutIntent(r *http.Request, token string) (any, error) {
	var body struct {
		SaveCard    bool   `json:"save_card"`
		ConsentText string `json:"consent_text"`
	}
	if err := decodeAction(r, &body); err != nil {
		return nil, err
	}
	ip := checkout.IntentParams{SaveCard: body.SaveCard}
	if body.SaveCard {
		cp, err := h.Checkout.Open(r.Context(), token)
		if err != nil {
			return nil, err
		}
		text := checkoutConsentText(merchantName(cp.Merchant))
		if body.ConsentText != text {
			return nil, errs.E(errs.Conflict, "This page is out of date. Reload it and try again.").WithReason("page_outdated")
		}
		ip.Consent = checkout.Consent{Text: text, Version: checkoutConsentVersion, IPAddress: clientIP(r), UserAgent: userAgent(r)}
	}
	ci, err := h.Checkout.Intent(r.Context(), token, ip)
	if err != nil {
		return nil, err
	}
	return map[string]string{"client_secret": ci.ClientSecret, "stripe_account": ci.Account, "publishable_key": ci.PublishableKey}, nil
}

func (h *handlers) checkoutComplete(r *http.Request, token string) (any, error) {
	if err := decodeAction(r, &struct{}{}); err != nil {
		return nil, err
	}
	out, err := h.Checkout.Complete(r.Context(), token)
	if err != nil {
		return nil, err
	}
	return map[string]string{"status": string(out.Status), "message": out.Message}, nil
}

type authData struct {
	Title, PlatformName, MerchantName string
	Amount, Description               string
	Status, Outcome                   string
	Base, CSRF                        string
	PublishableKey, StripeJS          string
	Expires                           string
}

// authOutcomes are what the page says of a payment that no longer waits
// for the customer.
var authOutcomes = map[payment.Status]string{
	payment.StatusSucceeded:       "Thank you: your payment is confirmed.",
	payment.StatusRequiresCapture: "Thank you: your payment is confirmed.",
	payment.StatusCanceled:        "This payment was canceled. Nothing was charged.",
	payment.StatusFailed:          "This payment did not go through.",
}

func (h *handlers) authShow(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	ap, err := h.Checkout.OpenAuthentication(r.Context(), token)
	if err != nil {
		h.payError(w, r, "", err)
		return
	}
	p := ap.Payment
	name := merchantName(ap.Merchant)
	d := authData{Title: "Confirm your payment to " + name, PlatformName: h.Connect.PlatformName(r.Context(), p.PlatformID),
		MerchantName: name, Amount: formatAmount(p.Amount, p.Currency), Description: p.Description, Status: string(p.Status),
		Base: checkout.AuthenticatePath + token, Expires: ap.Expires.UTC().Format("15:04 UTC on 2 January 2006")}
	if p.Status != payment.StatusRequiresAction {
		d.Title, d.Outcome = "Your payment to "+name, authOutcomes[p.Status]
		if p.Status == payment.StatusFailed && p.FailureMessage != "" {
			d.Outcome += " " + p.FailureMessage
		}
		w.Header().Set("Content-Security-Policy", receiptCSP)
		h.render(w, r, http.StatusOK, "authenticate", d)
		return
	}
	if !h.Checkout.Now().Before(ap.Expires) {
		h.payError(w, r, p.PlatformID, errs.E(errs.Gone, "expired").WithReason("link_expired"))
		return
	}
	st := &platform.Stripe{PublishableKey: ap.PublishableKey, APIBase: ap.APIBase}
	d.PublishableKey, d.StripeJS, d.CSRF = ap.PublishableKey, stripeJSURL(st), payCSRF(h.payCookieOf(w, r), token)
	w.Header().Set("Content-Security-Policy", walletCSP(st))
	h.render(w, r, http.StatusOK, "authenticate", d)
}

func (h *handlers) authIntent(r *http.Request, token string) (any, error) {
	if err := decodeAction(r, &struct{}{}); err != nil {
		return nil, err
	}
	ai, err := h.Checkout.AuthenticationIntent(r.Context(), token)
	if err != nil {
		return nil, err
	}
	return map[string]string{"client_secret": ai.ClientSecret, "stripe_account": ai.Account, "publishable_key": ai.PublishableKey,
		"action": ai.Action, "payment_method": ai.PaymentMethod}, nil
}

func (h *handlers) authComplete(r *http.Request, token string) (any, error) {
	if err := decodeAction(r, &struct{}{}); err != nil {
		return nil, err
	}
	p, err := h.Checkout.CompleteAuthentication(r.Context(), token)
	if err != nil {
		return nil, err
	}
	return map[string]string{"status": string(p.Status), "message": p.FailureMessage}, nil
}
