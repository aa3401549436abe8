// Package web serves Tender's hosted pages: the pages merchants and
// customers see in their browsers, as opposed to the JSON API the platform
// calls. Pages are plain, accessible HTML from embedded templates, carry
// the platform's name, and say what happened and what to do when
// something goes wrong.
//
// Every page is sent with headers that keep its secrets in place: links
// carry single-use tokens, so no page may be cached, framed, or leak its
// address in a Referer to the sites it sends the browser on to. Pages run
// no script, except the hosted wallet (wallet.go) and the payer's pages
// (checkout.go), whose policy allows Stripe.js and Tender's own static
// script, and nothing inline.
package web

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/tenderpay/tender/internal/checkout"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/wallet"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = map[string]*template.Template{
	"connect_start": parse("connect_start.html"),
	"connect_error": parse("connect_error.html"),
	"wallet":        parse("wallet.html"),
	"checkout":      parse("checkout.html"),
	"authenticate":  parse("authenticate.html"),
}

func parse(name string) *template.Template {
	return template.Must(template.New("layout").ParseFS(templateFS, "templates/layout.html", "templates/"+name))
}

// Deps are what the pages need.
type Deps struct {
	Logger  *slog.Logger
	Connect *connect.Service
	// Wallet and Platforms serve the hosted wallet; without Wallet it is
	// not served.
	Wallet    *wallet.Service
	Platforms *platform.Service
	// Checkout serves checkout and authentication links; without it they
	// are not served.
	Checkout *checkout.Service
	// PublicURL is where browsers reach Tender; an https one makes the
	// wallet's cookie Secure.
	PublicURL string
}

// Routes adds the hosted pages to mux.
func Routes(mux *http.ServeMux, d Deps) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handlers{Deps: d}
	mux.Handle("GET "+connect.LinkPath+"{token}", page(h.connectStart))
	mux.Handle("POST "+connect.LinkPath+"{token}", page(h.connectBegin))
	mux.Handle("GET "+connect.CallbackPath, page(h.connectCallback))
	mux.Handle("GET "+connect.ExpressReturnPath, page(h.expressReturn))
	mux.Handle("GET "+connect.ExpressRefreshPth, page(h.expressRefresh))
	if d.Wallet != nil {
		h.walletRoutes(mux)
	}
	if d.Checkout != nil {
		h.payRoutes(mux)
	}
}

type handlers struct{ Deps }

// page wraps a page handler with the headers every hosted page needs.
func page(h func(w http.ResponseWriter, r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Cache-Control", "no-store")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
		h(w, r)
	})
}

func (h *handlers) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages[name].Execute(&buf, data); err != nil {
		h.Logger.ErrorContext(r.Context(), "render page", "page", name, "err", err)
		http.Error(w, "Something went wrong on our side. Please try again.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage shows err: a PageError as itself, anything else as a generic
// failure, logged.
func (h *handlers) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	var pe connect.PageError
	if !errors.As(err, &pe) {
		h.Logger.ErrorContext(r.Context(), "hosted page failed", "path", r.URL.Path, "err", err)
		pe = connect.PageError{Code: "internal", Status: http.StatusInternalServerError, Title: "Something went wrong",
			Message: "Nothing was changed. Please try again in a few minutes with a new link from the platform."}
	}
	h.render(w, r, pe.Status, "connect_error", struct {
		connect.PageError
		PlatformName string
	}{pe, h.Connect.PlatformName(r.Context(), pe.PlatformID)})
}

func (h *handlers) connectStart(w http.ResponseWriter, r *http.Request) {
	o, err := h.Connect.OpenLink(r.Context(), r.PathValue("token"))
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "connect_start", struct {
		Title, PlatformName, MerchantName, Type, Expires string
	}{
		Title: "Connect to Stripe", PlatformName: o.Platform.Name, MerchantName: o.Merchant.Name,
		Type: string(o.Link.Type), Expires: o.Link.Expires.UTC().Format("2 January 2006 at 15:04 UTC"),
	})
}

func (h *handlers) connectBegin(w http.ResponseWriter, r *http.Request) {
	to, err := h.Connect.Begin(r.Context(), r.PathValue("token"))
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (h *handlers) connectCallback(w http.ResponseWriter, r *http.Request) {
	h.finish(w, r, func() (*connect.Outcome, error) { return h.Connect.Callback(r.Context(), r.URL.Query()) })
}

func (h *handlers) expressReturn(w http.ResponseWriter, r *http.Request) {
	h.finish(w, r, func() (*connect.Outcome, error) {
		return h.Connect.ExpressReturn(r.Context(), r.URL.Query().Get("state"))
	})
}

func (h *handlers) expressRefresh(w http.ResponseWriter, r *http.Request) {
	to, err := h.Connect.ExpressRefresh(r.Context(), r.URL.Query().Get("state"))
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// finish sends the merchant back to the platform once a flow is done, or
// shows what went wrong.
func (h *handlers) finish(w http.ResponseWriter, r *http.Request, do func() (*connect.Outcome, error)) {
	out, err := do()
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	http.Redirect(w, r, out.Redirect, http.StatusSeeOther)
}
