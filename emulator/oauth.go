package emulator

import (
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Connect OAuth, as connect.stripe.com serves it: an authorize page that
// connects (creates) an account and redirects with a single-use code, a token
// endpoint that exchanges the code with the platform's secret key, and
// deauthorization. Its errors are OAuth's, not the API's:
// {"error": "invalid_grant", "error_description": "…"}.

// DefaultClientID is the Connect client id of the default platform.
const DefaultClientID = "ca_emulator_platform"

// codeLifetime is how long an authorization code can be exchanged.
const codeLifetime = 5 * time.Minute

//go:embed oauth_*.html onboarding_*.html
var pageFiles embed.FS

var pages = template.Must(template.ParseFS(pageFiles, "oauth_*.html", "onboarding_*.html"))

// oauthState holds codes, tokens and account links. It lives in the state,
// so Reset clears it; snapshots do not keep it.
type oauthState struct {
	codes  map[string]*authCode
	tokens map[string]*oauthGrant // by access token
	conns  map[string]*oauthConn  // by refresh token
	links  map[string]*accountLink
}

// authCode is an authorization code; conn is set once it was exchanged.
type authCode struct {
	platform, account, scope, redirectURI string
	expires                               int64
	conn                                  *oauthConn
}

// oauthConn is one code exchange: its refresh token, and whether the
// account or a replayed code revoked it.
type oauthConn struct {
	platform, account, scope, refresh string
	revoked                           bool
}

// oauthGrant is one access token.
type oauthGrant struct {
	conn  *oauthConn
	scope string
}

func (st *state) oauth() *oauthState {
	if st.oauthSt == nil {
		st.oauthSt = &oauthState{codes: map[string]*authCode{}, tokens: map[string]*oauthGrant{},
			conns: map[string]*oauthConn{}, links: map[string]*accountLink{}}
	}
	return st.oauthSt
}

// revokeAccount ends every token issued for acct.
func (o *oauthState) revokeAccount(acct string) {
	for _, c := range o.conns {
		if c.account == acct {
			c.revoked = true
		}
	}
}

// ConnectApplication is a platform as its connected accounts see it: the
// data.object of account.application.authorized and .deauthorized. Its
// Meta.Acct is the connected account, so the events reach the platform's
// Connect endpoints with "account" set.
type ConnectApplication struct {
	Meta
	Name string
}

func (a *ConnectApplication) render(*state) obj {
	return obj{{"id", a.ID}, {"object", "application"}, {"name", strOrNil(a.Name)}}
}

// oauthError is an error of the OAuth endpoints.
type oauthError struct {
	code, desc string
}

// writeOAuthError is the one place OAuth errors become responses:
// invalid_client is a 401, every other error a 400.
func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	status := http.StatusBadRequest
	if e.code == "invalid_client" {
		status = http.StatusUnauthorized
	}
	writeRaw(w, status, appendJSON(nil, obj{{"error", e.code}, {"error_description", e.desc}}))
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// authorizeRequest is a validated authorize request.
type authorizeRequest struct {
	platform    *Account
	express     bool
	redirectURI string
	scope       string
	state       string
	problem     *oauthError // reported to the redirect URI
}

// platformByClientID finds the platform registered with a Connect client id.
// The caller holds s.mu.
func (s *Server) platformByClientID(id string) *Account {
	for _, acct := range s.keys {
		if a, ok := s.st.Objects.get(acct).(*Account); ok && a.ClientID == id && id != "" {
			return a
		}
	}
	return nil
}

// readAuthorize checks client_id and redirect_uri, whose errors are shown on
// a page (a redirect could reach an attacker), then response_type and scope,
// whose errors go to the redirect URI. The caller holds s.mu.
func (s *Server) readAuthorize(r *http.Request) (*authorizeRequest, string) {
	f := r.Form
	p := s.platformByClientID(f.Get("client_id"))
	if p == nil {
		return nil, "No application matches the supplied client identifier."
	}
	req := &authorizeRequest{platform: p, express: strings.HasPrefix(r.URL.Path, "/express/"), state: f.Get("state")}
	switch uri := f.Get("redirect_uri"); {
	case uri == "" && len(p.RedirectURIs) > 0:
		req.redirectURI = p.RedirectURIs[0] // Stripe uses the first registered URI
	case uri == "":
		return nil, "No redirect_uri was given and none is registered for this application."
	case len(p.RedirectURIs) == 0 && absoluteHTTP(uri):
		req.redirectURI = uri // the emulator accepts any URI while none is registered
	case !containsStr(p.RedirectURIs, uri):
		return nil, "Invalid redirect_uri '" + uri + "'. It must exactly match one of the redirect URIs registered for this application."
	default:
		req.redirectURI = uri
	}
	req.scope = f.Get("scope")
	if req.scope == "" || req.express {
		req.scope = "read_write"
	}
	switch {
	case f.Get("response_type") != "code":
		req.problem = &oauthError{"unsupported_response_type", "Only 'code' response_type is supported, but '" + f.Get("response_type") + "' was given."}
	case req.scope != "read_write" && req.scope != "read_only":
		req.problem = &oauthError{"invalid_scope", "Invalid scope '" + req.scope + "': must be read_write or read_only."}
	}
	return req, ""
}

func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// redirectWith sends the browser to uri with the given query parameters
// added; an empty value is left out.
func redirectWith(w http.ResponseWriter, r *http.Request, uri string, kv ...string) {
	u, err := url.Parse(uri)
	if err != nil {
		http.Error(w, "bad redirect URI", http.StatusBadRequest)
		return
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// page renders one of the emulator's HTML pages.
func page(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, name, data)
}

// handleOAuthAuthorize serves /oauth/authorize and /express/oauth/authorize:
// GET shows the page, POST with decision=connect or decision=deny answers it.
func (s *Server) handleOAuthAuthorize(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s.mu.Lock()
	req, bad := s.readAuthorize(r)
	s.mu.Unlock()
	switch {
	case bad != "":
		page(w, http.StatusBadRequest, "oauth_error.html", bad)
	case req.problem != nil:
		redirectWith(w, r, req.redirectURI, "error", req.problem.code, "error_description", req.problem.desc, "state", req.state)
	case r.Method == http.MethodGet:
		s.authorizePage(w, r, req)
	case r.PostForm.Get("decision") == "deny":
		redirectWith(w, r, req.redirectURI, "error", "access_denied", "error_description", "The user denied your request", "state", req.state)
	case r.PostForm.Get("decision") == "connect":
		code := s.connectAccount(r, req)
		redirectWith(w, r, req.redirectURI, "code", code, "scope", req.scope, "state", req.state)
	default:
		page(w, http.StatusBadRequest, "oauth_error.html", "Choose Connect my account or Deny.")
	}
}

func (s *Server) authorizePage(w http.ResponseWriter, r *http.Request, req *authorizeRequest) {
	f := r.Form
	country := strings.ToUpper(f.Get("stripe_user[country]"))
	if country == "" {
		country = req.platform.Country
	}
	page(w, http.StatusOK, "oauth_authorize.html", map[string]any{
		"Platform": req.platform.BusinessName, "Scope": req.scope, "Express": req.express,
		"Email": f.Get("stripe_user[email]"), "BusinessName": f.Get("stripe_user[business_name]"),
		"Country": country, "ClientID": f.Get("client_id"), "RedirectURI": req.redirectURI,
		"State": req.state, "ResponseType": f.Get("response_type"),
	})
}

// connectAccount creates the account the user connects, Standard (it
// controls itself) or Express (the platform controls it), announces
// account.application.authorized and returns a new authorization code.
// Accounts made here are enabled: they stand for finished Stripe sign-ups.
func (s *Server) connectAccount(r *http.Request, req *authorizeRequest) string {
	s.mu.Lock()
	now := s.clock.now().Unix()
	typ := AccountTypeStandard
	if req.express {
		typ = AccountTypeExpress
	}
	a := s.newConnected(req.platform.ID, typ, now)
	a.OAuth = !req.express
	a.satisfy()
	a.Email, a.BusinessName = r.PostForm.Get("email"), r.PostForm.Get("business_name")
	a.Country, a.DefaultCurrency = req.platform.Country, req.platform.DefaultCurrency
	if c := strings.ToUpper(r.PostForm.Get("country")); len(c) == 2 {
		a.Country, a.DefaultCurrency = c, currencyOf(c, a.DefaultCurrency)
	}
	a.ID = s.st.newID("acct")[:21]
	a.PublishableKey = "pk_test_" + s.st.randString(24)
	s.st.put(a)
	code := "ac_" + s.st.randString(24)
	s.st.oauth().codes[code] = &authCode{platform: req.platform.ID, account: a.ID, scope: req.scope,
		redirectURI: req.redirectURI, expires: s.clock.now().Add(codeLifetime).Unix()}
	c := s.systemCall(r, a.ID)
	c.emit("account.application.authorized", &ConnectApplication{Meta: Meta{ID: req.platform.ClientID, Acct: a.ID, Created: now},
		Name: req.platform.BusinessName})
	deliveries := c.commitEvents()
	s.mu.Unlock()
	s.hooks.enqueue(deliveries)
	return code
}

// oauthPlatform authenticates an OAuth request by the platform's secret key:
// client_secret, the Basic password (golang.org/x/oauth2 sends client_id and
// client_secret so), or the Bearer token (stripe-go). A client_id, if
// given, must be the platform's. The caller holds s.mu.
func (s *Server) oauthPlatform(r *http.Request) (*Account, *oauthError) {
	user, pass := "", ""
	auth := r.Header.Get("Authorization")
	if strings.HasPrefix(auth, "Basic ") {
		if dec, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic ")); err == nil {
			user, pass, _ = strings.Cut(string(dec), ":")
			user, _ = url.QueryUnescape(user)
			pass, _ = url.QueryUnescape(pass)
		}
	}
	bearer := ""
	if strings.HasPrefix(auth, "Bearer ") {
		bearer = strings.TrimSpace(strings.TrimPrefix(auth, "Bearer "))
	}
	key := firstNonEmpty(r.PostForm.Get("client_secret"), pass, bearer)
	if strings.HasPrefix(user, "sk_") && key == "" {
		key = user
	}
	if key == "" {
		return nil, &oauthError{"invalid_client", "No authentication credentials were provided. Send your secret API key as client_secret or in the Authorization header."}
	}
	acct, ok := s.keys[key]
	p, _ := s.st.Objects.get(acct).(*Account)
	if !ok || p == nil || p.Platform != "" {
		return nil, &oauthError{"invalid_client", "Invalid API Key provided: " + maskKey(key)}
	}
	id := r.PostForm.Get("client_id")
	if id == "" && strings.HasPrefix(user, "ca_") {
		id = user
	}
	if id != "" && id != p.ClientID {
		return nil, &oauthError{"invalid_client", "No application matches the supplied client identifier: " + id}
	}
	return p, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// handleOAuthToken exchanges an authorization code (grant_type
// authorization_code) or a refresh token (grant_type refresh_token) for an
// access token.
func (s *Server) handleOAuthToken(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s.mu.Lock()
	body, oerr := s.issueToken(r)
	s.mu.Unlock()
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	writeRaw(w, http.StatusOK, body)
}

func (s *Server) issueToken(r *http.Request) ([]byte, *oauthError) {
	p, oerr := s.oauthPlatform(r)
	if oerr != nil {
		return nil, oerr
	}
	var conn *oauthConn
	switch g := r.PostForm.Get("grant_type"); g {
	case "authorization_code":
		conn, oerr = s.redeemCode(r, p)
	case "refresh_token":
		conn, oerr = s.refreshConn(r, p)
	case "":
		return nil, &oauthError{"invalid_request", "No grant type specified: grant_type must be authorization_code or refresh_token."}
	default:
		return nil, &oauthError{"unsupported_grant_type", "Unsupported grant type: " + g}
	}
	if oerr != nil {
		return nil, oerr
	}
	scope := firstNonEmpty(r.PostForm.Get("scope"), conn.scope)
	if scope != conn.scope && !(scope == "read_only" && conn.scope == "read_write") {
		return nil, &oauthError{"invalid_scope", "Invalid scope '" + scope + "': a token can only have the scope of its grant or less."}
	}
	access := "sk_test_" + s.st.randString(32)
	s.st.oauth().tokens[access] = &oauthGrant{conn: conn, scope: scope}
	a := s.st.Objects.get(conn.account).(*Account)
	return appendJSON(nil, obj{{"access_token", access}, {"livemode", false}, {"refresh_token", conn.refresh},
		{"scope", scope}, {"stripe_publishable_key", a.PublishableKey}, {"stripe_user_id", a.ID},
		{"token_type", "bearer"}}), nil
}

// redeemCode uses up an authorization code. A code used twice revokes
// every token issued with it, as Stripe does.
func (s *Server) redeemCode(r *http.Request, p *Account) (*oauthConn, *oauthError) {
	code := r.PostForm.Get("code")
	if code == "" {
		return nil, &oauthError{"invalid_request", "No authorization code provided: send it as code."}
	}
	ac, ok := s.st.oauth().codes[code]
	switch {
	case !ok:
		return nil, &oauthError{"invalid_grant", "Authorization code does not exist: " + code}
	case ac.platform != p.ID:
		return nil, &oauthError{"invalid_grant", "Authorization code provided does not belong to you: " + code}
	case ac.conn != nil:
		ac.conn.revoked = true
		return nil, &oauthError{"invalid_grant", "This authorization code has already been used. All tokens issued with this code have been revoked."}
	case s.clock.now().Unix() >= ac.expires:
		return nil, &oauthError{"invalid_grant", "Authorization code expired: " + code}
	case r.PostForm.Get("redirect_uri") != "" && r.PostForm.Get("redirect_uri") != ac.redirectURI:
		return nil, &oauthError{"invalid_grant", "The redirect_uri does not match the one the authorization code was issued for."}
	}
	a, ok := s.st.Objects.get(ac.account).(*Account)
	if !ok || a.Platform != p.ID {
		return nil, &oauthError{"invalid_grant", "The account of this authorization code is no longer connected to your application."}
	}
	ac.conn = &oauthConn{platform: p.ID, account: ac.account, scope: ac.scope, refresh: "rt_" + s.st.randString(32)}
	s.st.oauth().conns[ac.conn.refresh] = ac.conn
	return ac.conn, nil
}

// refreshConn finds the live connection of a refresh token. The refresh
// token stays the same; each use issues another access token.
func (s *Server) refreshConn(r *http.Request, p *Account) (*oauthConn, *oauthError) {
	rt := r.PostForm.Get("refresh_token")
	if rt == "" {
		return nil, &oauthError{"invalid_request", "No refresh token provided: send it as refresh_token."}
	}
	conn, ok := s.st.oauth().conns[rt]
	if !ok || conn.platform != p.ID || conn.revoked {
		return nil, &oauthError{"invalid_grant", "Refresh token does not exist: " + rt}
	}
	return conn, nil
}

// accessToken authenticates an OAuth access token: it acts for its
// platform on the connected account, as the platform's key with
// Stripe-Account would, so application fees work on direct charges. A
// revoked token is an expired key; a read_only token may only read. It
// returns empty strings and no error for a key that is no access token.
// The caller holds s.mu.
func (s *Server) accessToken(r *http.Request, key string) (platform, acct string, err *Error) {
	g, ok := s.st.oauth().tokens[key]
	switch {
	case !ok:
		return "", "", nil
	case g.conn.revoked:
		e := authError("Expired API Key provided: " + maskKey(key) + ". Application access may have been revoked.")
		e.Code = "api_key_expired"
		return "", "", e
	case g.scope == "read_only" && r.Method != http.MethodGet:
		return "", "", &Error{Status: http.StatusForbidden, Type: ErrorTypeInvalidRequest, validation: true,
			Message: "The provided key '" + maskKey(key) + "' has read_only scope and cannot make this request."}
	}
	return g.conn.platform, g.conn.account, nil
}

// handleOAuthDeauthorize disconnects an account from the platform: its
// tokens stop working, the platform can no longer address it, and
// account.application.deauthorized reaches the platform's Connect
// endpoints.
func (s *Server) handleOAuthDeauthorize(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s.mu.Lock()
	p, oerr := s.oauthPlatform(r)
	var a *Account
	if oerr == nil {
		a, oerr = s.deauthorizable(r, p)
	}
	if oerr != nil {
		s.mu.Unlock()
		writeOAuthError(w, oerr)
		return
	}
	s.st.oauth().revokeAccount(a.ID)
	c := s.systemCall(r, a.ID)
	c.emit("account.application.deauthorized", &ConnectApplication{Meta: Meta{ID: p.ClientID, Acct: a.ID, Created: c.now},
		Name: p.BusinessName})
	deliveries := c.commitEvents() // while a.Platform still routes them to the platform
	a.Platform = ""
	s.mu.Unlock()
	s.hooks.enqueue(deliveries)
	writeRaw(w, http.StatusOK, appendJSON(nil, obj{{"stripe_user_id", a.ID}}))
}

func (s *Server) deauthorizable(r *http.Request, p *Account) (*Account, *oauthError) {
	if r.PostForm.Get("client_id") == "" {
		return nil, &oauthError{"invalid_request", "No client_id provided."}
	}
	id := r.PostForm.Get("stripe_user_id")
	if id == "" {
		return nil, &oauthError{"invalid_request", "No stripe_user_id provided."}
	}
	a, ok := s.st.Objects.get(id).(*Account)
	if !ok || a.Platform != p.ID {
		return nil, &oauthError{"invalid_client", "The stripe_user_id " + id + " does not exist or is not connected to your application."}
	}
	return a, nil
}
