package apitest

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/tenderpay/tender/internal/connect"
)

var inputRe = regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)

// StandardMerchant creates a merchant and connects a Standard account to
// it through Stripe's OAuth page at the emulator, over HTTP as the
// merchant's browser would (Envs made by NewWithEmulator).
func (e *Env) StandardMerchant(name string) connect.MerchantView {
	e.tb.Helper()
	var m connect.MerchantView
	e.Post("/v1/merchants", map[string]string{"name": name}, 200, &m)
	var l struct{ URL string }
	e.Post("/v1/merchants/"+m.ID+"/connect_links", map[string]string{"type": "standard",
		"return_url": "https://platform.example/done", "refresh_url": "https://platform.example/again"}, 200, &l)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, u string, form url.Values) (int, string, string) {
		req, err := http.NewRequest(method, u, strings.NewReader(form.Encode()))
		if err != nil {
			e.tb.Fatal(err)
		}
		if method == "POST" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := client.Do(req)
		if err != nil {
			e.tb.Fatalf("%s %s: %v", method, u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	// Tender's page, then "Continue to Stripe", then Stripe's authorize
	// page answered "connect", then Tender's callback.
	send("GET", l.URL, nil)
	_, authorize, _ := send("POST", l.URL, url.Values{})
	status, _, page := send("GET", authorize, nil)
	if status != 200 {
		e.tb.Fatalf("authorize page %s: %d %s", authorize, status, page)
	}
	form := url.Values{}
	for _, in := range inputRe.FindAllStringSubmatch(page, -1) {
		form.Set(in[1], html.UnescapeString(in[2]))
	}
	form.Set("decision", "connect")
	_, callback, _ := send("POST", authorize, form)
	if status, _, body := send("GET", callback, nil); status != http.StatusSeeOther {
		e.tb.Fatalf("callback %s: %d %s", callback, status, body)
	}
	got, err := e.App.Connect.Merchant(context.Background(), e.PlatformID, m.ID)
	if err != nil || got.Connection.Status != connect.StatusEnabled {
		e.tb.Fatalf("merchant %+v %v", got, err)
	}
	return got.View()
}
