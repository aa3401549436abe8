package emulator

import (
	"embed"
	"net/http"
	"path"
)

// Stripe.js, served by the emulator at /v3/ (and /v3): a page that loads
// its script from the emulator instead of https://js.stripe.com/v3/ gets
// the subset of Stripe.js v3 that card payments use. The card Element's
// fields live in an iframe from the emulator's origin
// (/_emulator/elements/card), which creates PaymentMethods with the
// publishable key, so card numbers go from the browser to the emulator and
// never through the embedding page or its server. The files are plain
// ES2017 with no build step.

//go:embed stripejs/*.js stripejs/*.html stripejs/*.css
var stripeJSFiles embed.FS

// stripeJSAssets are the files served under /_emulator/stripejs/, with
// their content types.
var stripeJSAssets = map[string]string{
	"card.js":       "text/javascript; charset=utf-8",
	"card.css":      "text/css; charset=utf-8",
	"challenge.js":  "text/javascript; charset=utf-8",
	"challenge.css": "text/css; charset=utf-8",
}

// handleStripeJS serves the Stripe.js script. Any page may load it.
func handleStripeJS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	serveStripeJSFile(w, r, "stripe.js", "text/javascript; charset=utf-8")
}

// handleCardElement serves the card Element's iframe. Its policy keeps
// every byte it sends on the emulator's origin, and it may be framed by
// any page.
func handleCardElement(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'self'")
	w.Header().Set("Referrer-Policy", "no-referrer")
	serveStripeJSFile(w, r, "card.html", "text/html; charset=utf-8")
}

// handleStripeJSAsset serves the iframes' scripts and styles.
func handleStripeJSAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	typ, ok := stripeJSAssets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	serveStripeJSFile(w, r, name, typ)
}

func serveStripeJSFile(w http.ResponseWriter, r *http.Request, name, contentType string) {
	b, err := stripeJSFiles.ReadFile(path.Join("stripejs", name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}
