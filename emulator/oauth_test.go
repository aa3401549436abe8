package emulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/oauth"
	"github.com/stripe/stripe-go/v85/webhook"
	"golang.org/x/oauth2"

	"github.com/tenderpay/tender/emulator"
)

// callbackURL is a redirect URI the tests register; nothing needs to serve
// it, since the tests read the redirect instead of following it.
const callbackURL = "https://platform.example/stripe/callback"

// registerRedirects gives the default platform its Connect redirect URIs.
func (e *env) registerRedirects(uris ...string) {
	e.srv.AddPlatform(emulator.Platform{AccountID: emulator.DefaultPlatformAccount, SecretKey: emulator.DefaultSecretKey,
		PublishableKey: emulator.DefaultPublishableKey, ClientID: emulator.DefaultClientID, RedirectURIs: uris})
}

// noRedirect reports redirects instead of following them.
var noRedirect = &http.Client{Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorizeQuery is a valid authorize request of the default platform.
func authorizeQuery(state string) url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {emulator.DefaultClientID}, "scope": {"read_write"},
		"state": {state}, "redirect_uri": {callbackURL}, "stripe_user[email]": {"shop@example.com"},
		"stripe_user[business_name]": {"Corner Shop"}, "stripe_user[country]": {"GB"}}
}

// decide answers the authorize page of path (/oauth/authorize or
// /express/oauth/authorize) as a browser's form post would and returns
// where the emulator redirects.
func (e *env) decide(path string, q url.Values, decision string) *url.URL {
	e.tb.Helper()
	form := url.Values{"decision": {decision}, "email": {q.Get("stripe_user[email]")},
		"business_name": {q.Get("stripe_user[business_name]")}, "country": {q.Get("stripe_user[country]")}}
	for _, k := range []string{"response_type", "client_id", "scope", "state", "redirect_uri"} {
		if v, ok := q[k]; ok {
			form[k] = v
		}
	}
	resp, err := noRedirect.PostForm(e.ts.URL+path, form)
	if err != nil {
		e.tb.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		e.tb.Fatalf("authorize answered %d, want a redirect", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	mustf(e.tb, err, "redirect location")
	return u
}

// connectCode runs the authorize step and returns the code.
func (e *env) connectCode(state string) string {
	e.tb.Helper()
	u := e.decide("/oauth/authorize", authorizeQuery(state), "connect")
	if got := u.Scheme + "://" + u.Host + u.Path; got != callbackURL || u.Query().Get("state") != state ||
		!strings.HasPrefix(u.Query().Get("code"), "ac_") || u.Query().Get("scope") != "read_write" {
		e.tb.Fatalf("redirected to %s", u)
	}
	return u.Query().Get("code")
}

// token posts to /oauth/token and returns status and decoded body.
func (e *env) token(form url.Values, hdr http.Header) (int, map[string]any) {
	e.tb.Helper()
	req, _ := http.NewRequest("POST", e.ts.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	mustf(e.tb, err, "token")
	defer resp.Body.Close()
	var body map[string]any
	mustf(e.tb, json.NewDecoder(resp.Body).Decode(&body), "token body")
	return resp.StatusCode, body
}

func (e *env) oauthConfig() *oauth2.Config {
	return &oauth2.Config{ClientID: emulator.DefaultClientID, ClientSecret: emulator.DefaultSecretKey,
		RedirectURL: callbackURL, Scopes: []string{"read_write"},
		Endpoint: oauth2.Endpoint{AuthURL: e.ts.URL + "/oauth/authorize", TokenURL: e.ts.URL + "/oauth/token"}}
}

// TestOAuthWithXOAuth2: the authorize page names the platform and scope and
// is prefilled; connecting redirects with a code and the state untouched;
// x/oauth2 exchanges the code; the access token acts on the connected
// account (application fees allowed); deauthorization revokes it and the
// platform can no longer charge the account. Both events reach the
// platform's Connect endpoint and pass webhook.ConstructEvent.
func TestOAuthWithXOAuth2(t *testing.T) {
	t.Parallel()
	e := newEnv(t, realClock)
	e.registerRedirects(callbackURL, "https://platform.example/other")
	rc := newReceiver(t, 0)
	we := e.endpoint(rc.ts.URL, true, "account.application.authorized", "account.application.deauthorized")
	conf := e.oauthConfig()

	authURL := conf.AuthCodeURL("st&te 1", oauth2.SetAuthURLParam("stripe_user[email]", "shop@example.com"),
		oauth2.SetAuthURLParam("stripe_user[business_name]", "Corner Shop"))
	resp, err := http.Get(authURL)
	mustf(t, err, "authorize page")
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"Emulator Platform", "read_write", `value="shop@example.com"`, `value="Corner Shop"`,
		"Connect my account", "Deny"} {
		if resp.StatusCode != 200 || !strings.Contains(string(html), want) {
			t.Fatalf("authorize page %d lacks %q:\n%s", resp.StatusCode, want, html)
		}
	}

	code := e.connectCode("st&te 1")
	hc := &http.Client{Timeout: 10 * time.Second}
	tok, err := conf.Exchange(context.WithValue(ctx(), oauth2.HTTPClient, hc), code)
	mustf(t, err, "x/oauth2 Exchange")
	acct, _ := tok.Extra("stripe_user_id").(string)
	if !strings.HasPrefix(tok.AccessToken, "sk_test_") || !strings.HasPrefix(tok.RefreshToken, "rt_") ||
		!strings.HasPrefix(acct, "acct_") || tok.Extra("scope") != "read_write" || tok.Extra("livemode") != false ||
		!strings.HasPrefix(tok.Extra("stripe_publishable_key").(string), "pk_test_") || tok.TokenType != "bearer" {
		t.Fatalf("token %+v extra %v %v", tok, acct, tok.Extra("scope"))
	}

	a, err := e.sc.V1Accounts.GetByID(ctx(), acct, nil)
	mustf(t, err, "connected account")
	if a.Type != stripe.AccountTypeStandard || !a.ChargesEnabled || !a.DetailsSubmitted || a.Email != "shop@example.com" ||
		a.BusinessProfile.Name != "Corner Shop" || a.Country != "GB" || a.DefaultCurrency != "gbp" || a.Controller.Type != "account" {
		t.Fatalf("account %+v", a)
	}
	// The access token charges on the connected account, with a fee.
	pi, err := e.client(tok.AccessToken, 0).V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(2000),
		Currency: stripe.String("gbp"), PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true),
		ApplicationFeeAmount: stripe.Int64(150)})
	mustf(t, err, "charge with the access token")
	if _, err := e.sc.V1PaymentIntents.Retrieve(ctx(), pi.ID, &stripe.PaymentIntentRetrieveParams{Params: onAccount(acct)}); err != nil {
		t.Fatalf("the payment is not on the connected account: %v", err)
	}

	d, err := e.sc.OAuth.Delete(ctx(), &stripe.DeauthorizeParams{ClientID: stripe.String(emulator.DefaultClientID), StripeUserID: stripe.String(acct)})
	mustf(t, err, "deauthorize")
	if d.StripeUserID != acct {
		t.Fatalf("deauthorized %q", d.StripeUserID)
	}
	_, err = e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(2000), Currency: stripe.String("gbp"),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true), Params: onAccount(acct)})
	if se := stripeErr(t, err); se.HTTPStatusCode != 403 || se.Code != "account_invalid" || !strings.Contains(se.Msg, "revoked") {
		t.Fatalf("charged a deauthorized account: %+v", se)
	}
	_, err = e.client(tok.AccessToken, 0).V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	if se := stripeErr(t, err); se.HTTPStatusCode != 401 || se.Code != "api_key_expired" {
		t.Fatalf("a revoked access token worked: %+v", se)
	}
	_, err = e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(2000), Currency: stripe.String("usd"),
		PaymentMethod: stripe.String("pm_card_visa"), TransferData: &stripe.PaymentIntentCreateTransferDataParams{Destination: stripe.String(acct)}})
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatalf("a deauthorized account took a destination charge: %+v", se)
	}
	if n := len(all(t, e.sc.V1Accounts.List(ctx(), nil).All(ctx()))); n != 0 {
		t.Fatalf("the platform still lists %d accounts", n)
	}

	seen := map[stripe.EventType]bool{}
	for _, dl := range rc.waitDeliveries(t, 2) {
		validateEventBody(t, dl.body)
		ev, err := webhook.ConstructEvent(dl.body, dl.sig, we.Secret)
		mustf(t, err, "ConstructEvent")
		if ev.Account != acct || ev.Data.Object["object"] != "application" || ev.Data.Object["id"] != emulator.DefaultClientID {
			t.Fatalf("%s: account %q, object %v", ev.Type, ev.Account, ev.Data.Object)
		}
		seen[ev.Type] = true
	}
	if !seen["account.application.authorized"] || !seen["account.application.deauthorized"] {
		t.Fatalf("events %v", seen)
	}
}

// TestOAuthWithStripeGo: stripe-go's oauth client (pointed at the emulator
// by its Connect backend) builds the Express authorize URL, exchanges the
// code and refreshes the token to a read_only one, which can read but not
// write.
func TestOAuthWithStripeGo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.registerRedirects(callbackURL)
	hc := &http.Client{Timeout: 10 * time.Second}
	backends := stripe.NewBackendsWithConfig(&stripe.BackendConfig{URL: stripe.String(e.ts.URL), HTTPClient: hc,
		MaxNetworkRetries: stripe.Int64(0), LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}})
	oc := oauth.Client{B: backends.Connect, Key: emulator.DefaultSecretKey}

	authURL := strings.Replace(oc.AuthorizeURL(&stripe.AuthorizeURLParams{ClientID: stripe.String(emulator.DefaultClientID),
		State: stripe.String("xyz"), Express: stripe.Bool(true), ResponseType: stripe.String("code"),
		StripeUser: &stripe.OAuthStripeUserParams{Email: stripe.String("rider@example.com"), Country: stripe.String("US")}}),
		stripe.ConnectURL, e.ts.URL, 1)
	u, _ := url.Parse(authURL)
	if u.Path != "/express/oauth/authorize" {
		t.Fatalf("authorize URL %s", authURL)
	}
	q := u.Query()
	redirect := e.decide(u.Path, q, "connect")
	if redirect.Query().Get("state") != "xyz" || redirect.String()[:len(callbackURL)] != callbackURL {
		t.Fatalf("redirected to %s", redirect)
	}
	tok, err := oc.New(&stripe.OAuthTokenParams{GrantType: stripe.String("authorization_code"), Code: stripe.String(redirect.Query().Get("code"))})
	mustf(t, err, "stripe-go oauth token")
	if tok.StripeUserID == "" || tok.Scope != stripe.OAuthScopeTypeReadWrite || tok.TokenType != stripe.OAuthTokenTypeBearer || tok.Livemode {
		t.Fatalf("token %+v", tok)
	}
	a, err := e.sc.V1Accounts.GetByID(ctx(), tok.StripeUserID, nil)
	mustf(t, err, "express account")
	if a.Type != stripe.AccountTypeExpress || a.Email != "rider@example.com" || !a.ChargesEnabled {
		t.Fatalf("account %+v", a)
	}

	ro, err := oc.New(&stripe.OAuthTokenParams{GrantType: stripe.String("refresh_token"), RefreshToken: stripe.String(tok.RefreshToken),
		Scope: stripe.String("read_only")})
	mustf(t, err, "refresh")
	if ro.Scope != stripe.OAuthScopeTypeReadOnly || ro.AccessToken == tok.AccessToken || ro.StripeUserID != tok.StripeUserID {
		t.Fatalf("refreshed %+v", ro)
	}
	self, err := e.client(ro.AccessToken, 0).V1Accounts.Retrieve(ctx(), nil)
	mustf(t, err, "read with a read_only token")
	if self.ID != tok.StripeUserID {
		t.Fatalf("the read_only token reads %s", self.ID)
	}
	_, err = e.client(ro.AccessToken, 0).V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	if se := stripeErr(t, err); se.HTTPStatusCode != 403 {
		t.Fatalf("a read_only token wrote: %+v", se)
	}
	_, err = oc.New(&stripe.OAuthTokenParams{GrantType: stripe.String("refresh_token"), RefreshToken: stripe.String(tok.RefreshToken),
		Scope: stripe.String("read_write_plus")})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.OAuthError != "invalid_scope" {
		t.Fatalf("a wider scope: %+v", se)
	}
}

// TestOAuthRefusals covers the unhappy paths: denial, a replayed or expired
// code, a wrong redirect URI or client id, a wrong secret and unknown
// grant types.
func TestOAuthRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.registerRedirects(callbackURL)

	u := e.decide("/oauth/authorize", authorizeQuery("s1"), "deny")
	if u.Query().Get("error") != "access_denied" || u.Query().Get("error_description") == "" || u.Query().Get("state") != "s1" ||
		u.Query().Get("code") != "" {
		t.Fatalf("deny redirected to %s", u)
	}

	bad := authorizeQuery("s2")
	bad.Set("response_type", "token")
	if u := e.decide("/oauth/authorize", bad, "connect"); u.Query().Get("error") != "unsupported_response_type" {
		t.Fatalf("response_type=token redirected to %s", u)
	}

	for name, mutate := range map[string]func(url.Values){
		"unregistered redirect_uri": func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") },
		"unknown client_id":         func(q url.Values) { q.Set("client_id", "ca_nobody") },
	} {
		q := authorizeQuery("s3")
		mutate(q)
		resp, err := noRedirect.Get(e.ts.URL + "/oauth/authorize?" + q.Encode())
		mustf(t, err, "%s", name)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(string(body), "<p id=\"error\">") {
			t.Fatalf("%s: %d %s", name, resp.StatusCode, body)
		}
	}

	// A replayed code fails and revokes the token issued with it.
	code := e.connectCode("s4")
	secret := url.Values{"client_secret": {emulator.DefaultSecretKey}, "grant_type": {"authorization_code"}, "code": {code}}
	status, first := e.token(secret, nil)
	if status != 200 {
		t.Fatalf("first exchange %d %v", status, first)
	}
	status, again := e.token(secret, nil)
	if status != 400 || again["error"] != "invalid_grant" || !strings.Contains(again["error_description"].(string), "already been used") {
		t.Fatalf("replayed code %d %v", status, again)
	}
	_, err := e.client(first["access_token"].(string), 0).V1Accounts.Retrieve(ctx(), nil)
	if se := stripeErr(t, err); se.Code != "api_key_expired" {
		t.Fatalf("the token of a replayed code still works: %+v", se)
	}

	// A code expires five minutes after it was issued, on the emulator clock.
	code = e.connectCode("s5")
	e.srv.Advance(5 * time.Minute)
	status, body := e.token(url.Values{"client_secret": {emulator.DefaultSecretKey}, "grant_type": {"authorization_code"}, "code": {code}}, nil)
	if status != 400 || body["error"] != "invalid_grant" || !strings.Contains(body["error_description"].(string), "expired") {
		t.Fatalf("expired code %d %v", status, body)
	}

	code = e.connectCode("s6")
	for name, tc := range map[string]struct {
		form   url.Values
		hdr    http.Header
		status int
		err    string
	}{
		"wrong secret":       {url.Values{"client_secret": {"sk_test_wrong_secret_key"}, "grant_type": {"authorization_code"}, "code": {code}}, nil, 401, "invalid_client"},
		"no secret":          {url.Values{"grant_type": {"authorization_code"}, "code": {code}}, nil, 401, "invalid_client"},
		"other client id":    {url.Values{"client_id": {"ca_other"}, "grant_type": {"authorization_code"}, "code": {code}}, bearer(emulator.DefaultSecretKey), 401, "invalid_client"},
		"unknown code":       {url.Values{"grant_type": {"authorization_code"}, "code": {"ac_unknown"}}, bearer(emulator.DefaultSecretKey), 400, "invalid_grant"},
		"grant type":         {url.Values{"grant_type": {"password"}}, bearer(emulator.DefaultSecretKey), 400, "unsupported_grant_type"},
		"no grant type":      {url.Values{"code": {code}}, bearer(emulator.DefaultSecretKey), 400, "invalid_request"},
		"other redirect uri": {url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://x.example"}}, bearer(emulator.DefaultSecretKey), 400, "invalid_grant"},
	} {
		status, body := e.token(tc.form, tc.hdr)
		if status != tc.status || body["error"] != tc.err || body["error_description"] == "" {
			t.Fatalf("%s: %d %v", name, status, body)
		}
	}
	// None of the failures used the code up.
	if status, body := e.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}}, bearer(emulator.DefaultSecretKey)); status != 200 {
		t.Fatalf("exchange after refusals %d %v", status, body)
	}

	// x/oauth2 reports Stripe's error code.
	conf := e.oauthConfig()
	conf.ClientSecret = "sk_test_wrong_secret_key"
	_, err = conf.Exchange(ctx(), e.connectCode("s7"))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Fatalf("x/oauth2 with a wrong secret: %v", err)
	}

	// Deauthorizing an account of another platform, or twice, is refused.
	_, err = e.sc.OAuth.Delete(ctx(), &stripe.DeauthorizeParams{ClientID: stripe.String(emulator.DefaultClientID), StripeUserID: stripe.String("acct_unknown")})
	if se := stripeErr(t, err); se.HTTPStatusCode != 401 || se.OAuthError != "invalid_client" {
		t.Fatalf("deauthorize unknown: %+v", se)
	}
}

func bearer(key string) http.Header { return http.Header{"Authorization": {"Bearer " + key}} }

// TestPlatformRegistrationThroughControlAPI: POST /_emulator/platforms
// takes client_id and redirect_uris[], which the authorize page then
// checks.
func TestPlatformRegistrationThroughControlAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	form := url.Values{"account": {"acct_1SecondPlatform000"}, "secret_key": {"sk_test_second_platform"}, "name": {"Second Market"},
		"client_id": {"ca_second"}, "redirect_uris[]": {"https://second.example/cb", "https://second.example/cb2"}}
	status, _, body := e.control("POST", "/_emulator/platforms", form.Encode())
	if status != 200 {
		t.Fatalf("add platform %d %s", status, body)
	}
	q := url.Values{"response_type": {"code"}, "client_id": {"ca_second"}, "state": {"z"}}
	u := e.decide("/oauth/authorize", q, "connect")
	if !strings.HasPrefix(u.String(), "https://second.example/cb?") {
		t.Fatalf("without redirect_uri the first registered one is used: %s", u)
	}
	q.Set("redirect_uri", "https://second.example/cb2")
	if u := e.decide("/oauth/authorize", q, "connect"); !strings.HasPrefix(u.String(), "https://second.example/cb2?") {
		t.Fatalf("redirect_uri ignored: %s", u)
	}
	// The default platform's key may not redeem the second platform's code.
	status, res := e.token(url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}}, bearer(emulator.DefaultSecretKey))
	if status != 400 || res["error"] != "invalid_grant" {
		t.Fatalf("another platform's code %d %v", status, res)
	}
	status, res = e.token(url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"client_secret": {"sk_test_second_platform"}}, nil)
	if status != 200 || res["stripe_user_id"] == "" {
		t.Fatalf("second platform's exchange %d %v", status, res)
	}
}

// TestConnectEventsSurviveRestart: the events this file's features make
// (an application as data.object, previous_attributes from the account
// before) are written to and read from a snapshot.
func TestConnectEventsSurviveRestart(t *testing.T) {
	t.Parallel()
	loadSpec(t)
	file := t.TempDir() + "/emulator.snapshot"
	base := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	start := func() *env {
		srv, err := emulator.Open(emulator.Options{SnapshotFile: file, NowFunc: func() time.Time { return base }})
		mustf(t, err, "open")
		e := &env{tb: t, srv: srv, ts: httptest.NewServer(srv)}
		e.sc = e.client(emulator.DefaultSecretKey, 0)
		return e
	}
	e := start()
	e.registerRedirects(callbackURL)
	code := e.connectCode("snap")
	status, tok := e.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}}, bearer(emulator.DefaultSecretKey))
	if status != 200 {
		t.Fatalf("exchange %d %v", status, tok)
	}
	acct := tok["stripe_user_id"].(string)
	_, err := e.sc.V1Accounts.Update(ctx(), acct, &stripe.AccountUpdateParams{Email: stripe.String("after@example.com")})
	mustf(t, err, "update")
	e.ts.Close()
	mustf(t, e.srv.Close(), "close")

	e = start()
	defer func() { e.ts.Close(); _ = e.srv.Close() }()
	evs := all(t, e.sc.V1Events.List(ctx(), &stripe.EventListParams{ListParams: stripe.ListParams{StripeAccount: stripe.String(acct)}}).All(ctx()))
	if len(evs) != 2 || evs[0].Type != "account.updated" || evs[0].Data.PreviousAttributes["email"] != "shop@example.com" ||
		evs[1].Type != "account.application.authorized" {
		t.Fatalf("events after restart: %d", len(evs))
	}
}
