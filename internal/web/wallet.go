package web

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/text"
	"github.com/tenderpay/tender/internal/wallet"
)

// The hosted wallet: a customer's saved cards, adding one with Stripe.js,
// choosing the default, removing one, and allowing merchants to charge the
// default card off-session. The link from the platform is exchanged for a
// session cookie (wallet.OpenSession); every request after that is
// authorized by the cookie, and every change also by a CSRF token derived
// from it. Changes are plain form posts that redirect back to the page, so
// they work without script; only adding a card needs script, because the
// card number must go from Stripe's iframe to Stripe and never to Tender.

//go:embed static/*
var staticFS embed.FS

// walletCookie names the session cookie; its Path is the session's page,
// so a browser holding several sessions sends each page only its own.
const walletCookie = "tender_wallet"

// consentTextVersion names the wording of consentText. Change it whenever
// the wording changes: consents keep both as evidence.
const consentTextVersion = "tender-wallet-consent-1"

// consentText is what the customer is shown, and agrees to, when allowing
// a merchant to charge their default card off-session.
func consentText(merchant string) string {
	return "Allow " + merchant + " to charge my default card when I'm not there"
}

// maxActionBody bounds what the page's actions read: a form of a few
// fields, or a SetupIntent id.
const maxActionBody = 16 << 10

func (h *handlers) walletRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+wallet.SessionLinkPath+"{token}", page(h.walletOpen))
	mux.Handle("GET /wallet/{session}", page(h.walletShow))
	mux.Handle("POST /wallet/{session}/setup_intents", h.walletJSON(h.walletSetupIntent))
	mux.Handle("POST /wallet/{session}/cards", h.walletJSON(h.walletRecordCard))
	mux.Handle("POST /wallet/{session}/cards/{card}/default", h.walletForm(h.walletMakeDefault))
	mux.Handle("POST /wallet/{session}/cards/{card}/remove", h.walletForm(h.walletRemove))
	mux.Handle("POST /wallet/{session}/merchants/{merchant}/allow", h.walletForm(h.walletAllow))
	mux.Handle("POST /wallet/{session}/merchants/{merchant}/withdraw", h.walletForm(h.walletWithdraw))
	mux.Handle("GET /static/{file}", http.HandlerFunc(serveStatic))
}

// walletOpen uses the link: it sets the session cookie and sends the
// browser to the page's clean URL, so the token leaves the address bar and
// history. A HEAD (a link checker) changes nothing.
func (h *handlers) walletOpen(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	ws, cookie, err := h.Wallet.OpenSession(r.Context(), r.PathValue("token"))
	if err != nil {
		h.walletError(w, r, nil, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: walletCookie, Value: cookie, Path: ws.Page(), Expires: ws.Expires,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(h.PublicURL, "https://")})
	http.Redirect(w, r, ws.Page(), http.StatusSeeOther)
}

// walletSession returns the session the request's cookie proves, and the
// cookie.
func (h *handlers) walletSession(r *http.Request) (*wallet.Session, string, error) {
	var cookie string
	if c, err := r.Cookie(walletCookie); err == nil {
		cookie = c.Value
	}
	ws, err := h.Wallet.SessionFor(r.Context(), r.PathValue("session"), cookie)
	return ws, cookie, err
}

func (h *handlers) walletShow(w http.ResponseWriter, r *http.Request) {
	ws, cookie, err := h.walletSession(r)
	if err != nil {
		h.walletError(w, r, nil, err)
		return
	}
	h.renderWallet(w, r, ws, cookie, notices[r.URL.Query().Get("notice")], nil)
}

// walletForm handles a form post of the page: the session and its CSRF
// token are checked, do runs, and the browser goes back to the page with
// a notice, or sees the page again with the error.
func (h *handlers) walletForm(do func(r *http.Request, ws *wallet.Session) (notice string, err error)) http.Handler {
	return page(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxActionBody)
		ws, cookie, err := h.walletSession(r)
		if err == nil {
			err = wallet.CheckCSRF(cookie, r.PostFormValue("csrf_token"))
		}
		if err != nil {
			h.walletError(w, r, ws, err)
			return
		}
		notice, err := do(r, ws)
		if err != nil {
			h.renderWallet(w, r, ws, cookie, "", err)
			return
		}
		http.Redirect(w, r, ws.Page()+"?notice="+url.QueryEscape(notice), http.StatusSeeOther)
	})
}

// walletJSON handles a request of the page's script: the session and the
// CSRF token in X-CSRF-Token are checked, and do's result or error is
// written as JSON.
func (h *handlers) walletJSON(do func(r *http.Request, ws *wallet.Session) (any, error)) http.Handler {
	return page(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxActionBody)
		ws, cookie, err := h.walletSession(r)
		if err == nil {
			err = wallet.CheckCSRF(cookie, r.Header.Get("X-CSRF-Token"))
		}
		var out any
		if err == nil {
			out, err = do(r, ws)
		}
		if err != nil {
			status, e := h.walletErrorOf(r, err)
			writeJSON(w, status, jsonError{Error: jsonErrorBody{Code: e.Reason, Message: e.Message, Param: e.Param}})
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// jsonError is the body of the script's failed requests: the API's error
// object, less the type.
type jsonError struct {
	Error jsonErrorBody `json:"error"`
}

type jsonErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v) // strings only: cannot fail
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// decodeAction reads the script's JSON body into v, refusing unknown
// fields.
func decodeAction(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errs.E(errs.Invalid, "The request body is not the JSON object expected.").WithReason("body_invalid")
	}
	return nil
}

func (h *handlers) walletSetupIntent(r *http.Request, ws *wallet.Session) (any, error) {
	if err := decodeAction(r, &struct{}{}); err != nil {
		return nil, err
	}
	si, err := h.Wallet.SessionSetupIntent(r.Context(), ws)
	if err != nil {
		return nil, err
	}
	return map[string]string{"id": si.ID, "client_secret": si.ClientSecret}, nil
}

// walletRecordCard records the card of a SetupIntent the page confirmed.
// The SetupIntent is re-read from Stripe and must be the session's
// customer's: the browser's word proves nothing.
func (h *handlers) walletRecordCard(r *http.Request, ws *wallet.Session) (any, error) {
	var body struct {
		SetupIntent string `json:"setup_intent"`
	}
	if err := decodeAction(r, &body); err != nil {
		return nil, err
	}
	if body.SetupIntent == "" {
		return nil, errs.Missing("setup_intent")
	}
	pm, err := h.Wallet.RecordSetup(r.Context(), ws.PlatformID, ws.CustomerID, body.SetupIntent)
	if err != nil {
		return nil, err
	}
	return map[string]string{"id": pm.ID, "brand": pm.Brand, "last4": pm.Last4}, nil
}

func (h *handlers) walletMakeDefault(r *http.Request, ws *wallet.Session) (string, error) {
	_, err := h.Wallet.SetDefault(r.Context(), ws.PlatformID, ws.CustomerID, r.PathValue("card"))
	return "default_set", err
}

func (h *handlers) walletRemove(r *http.Request, ws *wallet.Session) (string, error) {
	_, err := h.Wallet.Detach(r.Context(), ws.PlatformID, ws.CustomerID, r.PathValue("card"))
	return "card_removed", err
}

// walletAllow records the customer's consent for an enabled merchant, with
// the text the page showed them as evidence. The page sends the text it
// showed; if the merchant's name changed since, the text would no longer
// be what the customer saw, and the page must be reloaded.
func (h *handlers) walletAllow(r *http.Request, ws *wallet.Session) (string, error) {
	m, err := h.Connect.Merchant(r.Context(), ws.PlatformID, r.PathValue("merchant"))
	if err != nil {
		return "", err
	}
	if m.Connection.Status != connect.StatusEnabled || !m.Archived.IsZero() {
		return "", errs.E(errs.Conflict, "%s cannot take payments at the moment.", merchantName(m)).WithReason("merchant_not_enabled")
	}
	text := consentText(merchantName(m))
	if r.PostFormValue("text") != text {
		return "", errs.E(errs.Conflict, "This page is out of date. Reload it and try again.").WithReason("page_outdated")
	}
	_, err = h.Wallet.GrantConsent(r.Context(), ws.PlatformID, ws.CustomerID, wallet.ConsentParams{
		Merchant: m.ID, PaymentMethod: wallet.DefaultCard, Scope: wallet.ScopeOffSession,
		Evidence: wallet.Evidence{Text: text, TextVersion: consentTextVersion, IPAddress: clientIP(r), UserAgent: userAgent(r)},
	})
	return "consent_granted", err
}

// walletWithdraw revokes every consent the customer gave the merchant.
func (h *handlers) walletWithdraw(r *http.Request, ws *wallet.Session) (string, error) {
	cs, err := h.Wallet.Consents(r.Context(), ws.PlatformID, ws.CustomerID)
	if err != nil {
		return "", err
	}
	for _, c := range cs {
		if c.MerchantID != r.PathValue("merchant") || !c.Revoked.IsZero() {
			continue
		}
		if _, err := h.Wallet.RevokeConsent(r.Context(), ws.PlatformID, ws.CustomerID, c.ID); err != nil {
			return "", err
		}
	}
	return "consent_withdrawn", nil
}

// clientIP is the address the request came from. Tender takes no
// forwarding header on trust: behind a proxy this is the proxy's.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}

// userAgent is the request's User-Agent as consent evidence keeps it:
// within evidence[user_agent]'s rule, whatever bytes the browser sent, so
// that an odd header cannot refuse a customer's consent.
func userAgent(r *http.Request) string {
	return text.Clean(r.UserAgent(), text.Rule{Max: 1000})
}

func merchantName(m *connect.Merchant) string {
	if m.Name != "" {
		return m.Name
	}
	return m.ID
}

// notices are the messages the page shows after a change, by the code
// the change redirects with.
var notices = map[string]string{
	"card_added":        "Your card was saved.",
	"default_set":       "Your default card was changed.",
	"card_removed":      "The card was removed.",
	"consent_granted":   "Permission given: the seller may charge your default card when you're not there.",
	"consent_withdrawn": "Permission withdrawn: the seller may no longer charge your card when you're not there.",
}

type walletData struct {
	Title, PlatformName, CustomerName string
	Cards                             []walletCard
	Merchants                         []walletMerchant
	Base, CSRF                        string
	PublishableKey, StripeJS          string
	ReturnURL, Expires                string
	Notice, Error                     string
}

type walletCard struct {
	ID, Brand, Last4, Expiry string
	Default                  bool
}

type walletMerchant struct {
	ID, Name, ConsentText string
	Allowed, CanAllow     bool
}

// renderWallet shows the session's page, with failed, if set, as the
// error of the change the customer just tried.
func (h *handlers) renderWallet(w http.ResponseWriter, r *http.Request, ws *wallet.Session, cookie, notice string, failed error) {
	d, st, err := h.walletData(r.Context(), ws)
	if err != nil {
		h.walletError(w, r, ws, err)
		return
	}
	d.CSRF, d.Notice = wallet.CSRFToken(cookie), notice
	status := http.StatusOK
	if failed != nil {
		var e *errs.Error
		status, e = h.walletErrorOf(r, failed)
		d.Error = e.Message
	}
	w.Header().Set("Content-Security-Policy", walletCSP(st))
	h.render(w, r, status, "wallet", d)
}

func (h *handlers) walletData(ctx context.Context, ws *wallet.Session) (*walletData, *platform.Stripe, error) {
	c, err := h.Wallet.Customer(ctx, ws.PlatformID, ws.CustomerID)
	if err != nil {
		return nil, nil, err
	}
	if !c.Archived.IsZero() {
		return nil, nil, errs.E(errs.Conflict, "This wallet is closed.").WithReason("customer_archived")
	}
	st, err := h.Platforms.Stripe(ctx, ws.PlatformID)
	if err != nil {
		return nil, nil, err
	}
	d := &walletData{Title: "Your saved cards", PlatformName: h.Connect.PlatformName(ctx, ws.PlatformID),
		CustomerName: c.Name, Base: ws.Page(), PublishableKey: st.PublishableKey, StripeJS: stripeJSURL(st),
		ReturnURL: ws.ReturnURL, Expires: ws.Expires.UTC().Format("15:04 UTC on 2 January 2006")}
	if d.Cards, err = h.walletCards(ctx, ws, c.DefaultPaymentMethodID); err != nil {
		return nil, nil, err
	}
	if d.Merchants, err = h.walletMerchants(ctx, ws); err != nil {
		return nil, nil, err
	}
	return d, st, nil
}

func (h *handlers) walletCards(ctx context.Context, ws *wallet.Session, defaultID string) ([]walletCard, error) {
	pms, err := h.Wallet.PaymentMethods(ctx, ws.PlatformID, ws.CustomerID)
	if err != nil {
		return nil, err
	}
	out := make([]walletCard, len(pms))
	for i, pm := range pms {
		out[i] = walletCard{ID: pm.ID, Brand: brandName(pm.Brand), Last4: pm.Last4,
			Expiry: fmt.Sprintf("%02d/%d", pm.ExpMonth, pm.ExpYear), Default: pm.ID == defaultID}
	}
	return out, nil
}

// walletMerchants lists the merchants the customer may allow (the
// platform's enabled ones) and those they already allowed, whatever their
// status now, so a consent can always be withdrawn. Only consents for the
// default card are the page's; consents the platform recorded for a
// particular card are withdrawn with the rest.
func (h *handlers) walletMerchants(ctx context.Context, ws *wallet.Session) ([]walletMerchant, error) {
	byID := map[string]*walletMerchant{}
	page := store.Page{Limit: 100}
	for {
		ms, more, err := h.Connect.Merchants(ctx, ws.PlatformID, connect.MerchantFilter{Status: connect.StatusEnabled}, page)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			byID[m.ID] = &walletMerchant{ID: m.ID, Name: merchantName(m), ConsentText: consentText(merchantName(m)), CanAllow: true}
		}
		if !more || len(ms) == 0 {
			break
		}
		page.StartingAfter = ms[len(ms)-1].ID
	}
	cs, err := h.Wallet.Consents(ctx, ws.PlatformID, ws.CustomerID)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if !c.Revoked.IsZero() {
			continue
		}
		if wm, ok := byID[c.MerchantID]; ok {
			wm.Allowed = true
			continue
		}
		m, err := h.Connect.Merchant(ctx, ws.PlatformID, c.MerchantID)
		if err != nil {
			return nil, err
		}
		byID[m.ID] = &walletMerchant{ID: m.ID, Name: merchantName(m), Allowed: true}
	}
	out := make([]walletMerchant, 0, len(byID))
	for _, wm := range byID {
		out = append(out, *wm)
	}
	slices.SortFunc(out, func(a, b walletMerchant) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// brandNames are card brands as Stripe names them and as people do.
var brandNames = map[string]string{
	"amex": "American Express", "cartes_bancaires": "Cartes Bancaires", "diners": "Diners Club", "discover": "Discover",
	"eftpos_au": "eftpos", "interac": "Interac", "jcb": "JCB", "mastercard": "Mastercard", "unionpay": "UnionPay", "visa": "Visa",
}

func brandName(b string) string {
	if n, ok := brandNames[b]; ok {
		return n
	}
	if b == "" || b == "unknown" {
		return "Card"
	}
	return strings.ToUpper(b[:1]) + b[1:]
}

// stripeJSURL is where the page loads Stripe.js from: Stripe's, or the
// emulator's when the platform's API is elsewhere. The page's code is the
// same for both.
func stripeJSURL(st *platform.Stripe) string {
	if st.APIBase != "" {
		return strings.TrimSuffix(st.APIBase, "/") + "/v3/"
	}
	return "https://js.stripe.com/v3/"
}

// walletCSP is the wallet page's policy: the connection pages' headers,
// plus Stripe.js (its script, its iframes, its API) and Tender's own
// script and style, and nothing inline but style.
func walletCSP(st *platform.Stripe) string {
	script, frame, connectSrc := "https://js.stripe.com https://*.js.stripe.com",
		"https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com", "https://api.stripe.com"
	if st.APIBase != "" {
		if u, err := url.Parse(st.APIBase); err == nil {
			origin := u.Scheme + "://" + u.Host
			script, frame, connectSrc = origin, origin, origin
		}
	}
	return "default-src 'none'; script-src 'self' " + script + "; frame-src " + frame + "; connect-src 'self' " + connectSrc +
		"; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

// walletStatus maps error codes to the wallet's HTTP statuses, for its
// pages and its script's JSON alike.
var walletStatus = map[errs.Code]int{
	errs.Invalid: http.StatusBadRequest, errs.NotFound: http.StatusNotFound, errs.Conflict: http.StatusConflict,
	errs.Unauthorized: http.StatusUnauthorized, errs.Forbidden: http.StatusForbidden, errs.Gone: http.StatusGone,
	errs.TooLarge: http.StatusRequestEntityTooLarge, errs.Unprocessable: http.StatusPaymentRequired,
	errs.RateLimited: http.StatusTooManyRequests, errs.Unavailable: http.StatusServiceUnavailable,
}

// walletErrorOf returns the status and the error to show for err. Internal
// errors are logged and shown as a generic message.
func (h *handlers) walletErrorOf(r *http.Request, err error) (int, *errs.Error) {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		err = errs.E(errs.TooLarge, "The request is too large.").WithReason("body_too_large")
	}
	e := errs.As(err)
	status, ok := walletStatus[e.Code]
	if !ok {
		h.Logger.ErrorContext(r.Context(), "hosted wallet failed", "path", r.URL.Path, "err", err)
		return http.StatusInternalServerError, &errs.Error{Code: errs.Internal, Reason: "internal",
			Message: "Something went wrong on our side. Nothing was changed; please try again in a few minutes."}
	}
	if e.Reason == "" {
		e = e.WithReason(string(e.Code))
	}
	return status, e
}

// sessionPages are the titles and explanations of the pages a customer
// sees when a wallet link or session cannot be used, by reason.
var sessionPages = map[string]struct{ Title, Message string }{
	"link_invalid": {"This wallet link is not valid",
		"Check that the address was copied whole, or go back and open your wallet again."},
	"link_used": {"This wallet link has already been used",
		"Each link opens your wallet once. Go back and open your wallet again."},
	"link_expired": {"This wallet link has expired",
		"Wallet links work for a limited time. Go back and open your wallet again."},
	"session_missing": {"Your wallet session was not found",
		"Go back and open your wallet again. Your browser must accept this site's cookies."},
	"session_invalid": {"Your wallet session was not found",
		"Go back and open your wallet again. Your browser must accept this site's cookies."},
	"session_mismatch": {"This page belongs to another wallet session",
		"Go back and open your wallet again."},
	"session_expired": {"Your wallet session has ended",
		"For your security, a wallet session lasts a limited time. Nothing more can be changed in it. Go back and open your wallet again."},
	"csrf_invalid": {"This request could not be verified",
		"Nothing was changed. Reload the page and try again."},
}

// walletError shows err as a page, with the way back to the platform: the
// one a wallet.SessionError carries, or ws's.
func (h *handlers) walletError(w http.ResponseWriter, r *http.Request, ws *wallet.Session, err error) {
	status, e := h.walletErrorOf(r, err)
	d := errorData{Code: e.Reason, Title: "Something went wrong", Message: e.Message}
	if ws != nil {
		d.PlatformID, d.BackURL = ws.PlatformID, ws.ReturnURL
	}
	if se, ok := errors.AsType[*wallet.SessionError](err); ok {
		if se.PlatformID != "" {
			d.PlatformID, d.BackURL = se.PlatformID, se.ReturnURL
		}
		if p, ok := sessionPages[e.Reason]; ok {
			d.Title, d.Message = p.Title, p.Message
		}
	}
	d.PlatformName = h.Connect.PlatformName(r.Context(), d.PlatformID)
	h.render(w, r, status, "connect_error", d)
}

// errorData is what the error page shows.
type errorData struct {
	Code, Title, Message, BackURL, PlatformID, PlatformName string
}

// staticTypes are the static files' content types, by extension.
var staticTypes = map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

// serveStatic serves the pages' own scripts and styles.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	typ, ok := staticTypes[path.Ext(name)]
	b, err := staticFS.ReadFile("static/" + name)
	if !ok || err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}
