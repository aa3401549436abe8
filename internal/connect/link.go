package connect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v85"
	"golang.org/x/oauth2"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
)

// Paths of the connection flow's pages, under the public URL.
const (
	LinkPath          = "/connect/links/"
	CallbackPath      = "/connect/oauth/callback"
	ExpressReturnPath = "/connect/express/return"
	ExpressRefreshPth = "/connect/express/refresh"
)

// DefaultLinkTTL is how long a connection link works; MaxLinkTTL bounds
// what a platform may ask.
const (
	DefaultLinkTTL = 30 * time.Minute
	MaxLinkTTL     = 7 * 24 * time.Hour
)

// LinkState is where a connection link is in its single use.
type LinkState string

// Link states.
const (
	LinkCreated   LinkState = "created"   // not yet used
	LinkOpened    LinkState = "opened"    // the merchant went on to Stripe
	LinkCompleted LinkState = "completed" // an account is connected
	LinkFailed    LinkState = "failed"    // denied, or refused; Result says why
)

// Link is a single-use, expiring URL through which a merchant's owner
// connects the merchant's Stripe account.
type Link struct {
	ID         string
	PlatformID string
	MerchantID string
	Type       AccountType
	ReturnURL  string
	RefreshURL string
	State      LinkState
	Result     string // the outcome's code once finished: connected, access_denied, …
	AccountID  string
	Expires    time.Time
	Created    time.Time
	// URL is the link itself; it is known only when the link is created:
	// Tender keeps only a hash of its token.
	URL string
}

// LinkParams ask for a connection link.
type LinkParams struct {
	Type       string `json:"type" text:"32"`
	ReturnURL  string `json:"return_url" text:"2048"`
	RefreshURL string `json:"refresh_url" text:"2048"`
	// ExpiresIn is the link's lifetime in seconds; zero means 30 minutes.
	ExpiresIn int64 `json:"expires_in"`
}

// PageError is a failure of a connection flow in the merchant's browser.
// The web package shows it as a page that says what happened and what to
// do, with a way back to the platform when one is known.
type PageError struct {
	Code    string // stable: access_denied, link_expired, link_used, already_connected, …
	Status  int    // the page's HTTP status
	Title   string
	Message string
	// BackURL, if set, returns the merchant to the platform with the
	// outcome in its query.
	BackURL string
	// PlatformID is the platform whose flow failed, when known, so the page
	// can carry its name.
	PlatformID string
}

func (e PageError) Error() string { return "connect: " + e.Code + ": " + e.Message }

// at returns e for link l's flow, with back as the way back.
func (e PageError) at(l *Link, back string) PageError {
	e.PlatformID, e.BackURL = l.PlatformID, back
	return e
}

var (
	errLinkUnknown = PageError{Code: "link_invalid", Status: 404, Title: "This connection link is not valid",
		Message: "Check that the address was copied whole, or ask the platform for a new connection link."}
	errLinkUsed = PageError{Code: "link_used", Status: 410, Title: "This connection link has already been used",
		Message: "Each connection link works once. Ask the platform for a new one if you still need to connect."}
	errAccessDenied = PageError{Code: "access_denied", Status: 403, Title: "You did not connect your Stripe account",
		Message: "You chose not to connect. Nothing was shared. You can go back and try again whenever you like."}
	errAlreadyConnected = PageError{Code: "already_connected", Status: 409, Title: "This merchant is already connected to another Stripe account",
		Message: "A merchant can have one Stripe account. The platform must disconnect the current one before another can be connected."}
	errStripeFailed = PageError{Code: "stripe_error", Status: 502, Title: "Stripe could not complete the connection",
		Message: "Nothing was connected. Please try again in a few minutes with a new link from the platform."}
)

// CreateLink makes a connection link for the merchant, with the request's
// answer (the link's view, its URL included) when it has an
// Idempotency-Key. Returns errs.Invalid
// naming the field at fault, errs.NotFound, or errs.Conflict when the
// merchant is archived, already connected through the other type of
// account, or the platform's Stripe settings lack what the flow needs.
func (s *Service) CreateLink(ctx context.Context, platformID, merchantID string, p LinkParams) (*Link, error) {
	typ, ttl, err := p.validate()
	if err != nil {
		return nil, err
	}
	m, err := s.Merchant(ctx, platformID, merchantID)
	if err != nil {
		return nil, err
	}
	if err := linkable(m, typ); err != nil {
		return nil, err
	}
	st, err := s.platforms.Stripe(ctx, platformID)
	if err != nil {
		return nil, err
	}
	if typ == AccountStandard && st.ClientID == "" {
		return nil, errs.E(errs.Conflict, "Standard accounts connect through OAuth, which needs the platform's Connect client id (ca_…): set client_id with POST /v1/platform/stripe.").WithReason("client_id_missing")
	}
	if s.keys == nil {
		return nil, errs.E(errs.Conflict, "Tender has no master key to sign connection links with.").WithReason("master_key_missing")
	}
	now := store.TimeOf(s.now())
	token := randomToken(32)
	l := &Link{ID: id.For(ctx, LinkPrefix), PlatformID: platformID, MerchantID: m.ID, Type: typ, ReturnURL: p.ReturnURL,
		RefreshURL: p.RefreshURL, State: LinkCreated, Expires: now.Add(ttl), Created: now.Time,
		URL: s.publicURL + LinkPath + token}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO connect_links (platform_id, id, merchant_id, type, return_url, refresh_url,
			token_hash, state, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			l.PlatformID, l.ID, l.MerchantID, string(l.Type), l.ReturnURL, l.RefreshURL, tokenHash(token), string(l.State),
			store.TimeOf(l.Expires), now)
		if err != nil {
			return err
		}
		return idempotency.Commit(ctx, tx, l.View())
	})
	if err != nil {
		return nil, fmt.Errorf("insert connect link: %w", err)
	}
	return l, nil
}

func (p LinkParams) validate() (AccountType, time.Duration, error) {
	typ := AccountType(p.Type)
	if p.Type == "" {
		return "", 0, errs.Missing("type")
	}
	if typ != AccountStandard && typ != AccountExpress {
		return "", 0, errs.Invalidf("type", "type must be standard or express, not %q", p.Type)
	}
	for param, u := range map[string]string{"return_url": p.ReturnURL, "refresh_url": p.RefreshURL} {
		if u == "" {
			return "", 0, errs.Missing(param)
		}
		if err := checkRedirectURL(param, u); err != nil {
			return "", 0, err
		}
	}
	ttl := DefaultLinkTTL
	if p.ExpiresIn != 0 {
		// The count is checked before it becomes a Duration: in
		// nanoseconds a large one overflows and wraps to an expiry long
		// past, which a check of the Duration would let through.
		if p.ExpiresIn < 60 || p.ExpiresIn > int64(MaxLinkTTL/time.Second) {
			return "", 0, errs.Invalidf("expires_in", "expires_in must be from 60 to %d seconds", int64(MaxLinkTTL/time.Second))
		}
		ttl = time.Duration(p.ExpiresIn) * time.Second
	}
	return typ, ttl, nil
}

func checkRedirectURL(param, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return errs.Invalidf(param, "%s must be an absolute http or https URL without credentials or fragment", param)
	}
	return nil
}

// linkable refuses a link the merchant could not use.
func linkable(m *Merchant, typ AccountType) error {
	c := m.Connection
	switch {
	case !m.Archived.IsZero():
		return errs.E(errs.Conflict, "Merchant %s is archived.", m.ID).WithReason("merchant_archived")
	case c.AccountID == "" || c.Status == StatusDeauthorized:
		return nil
	case c.AccountType != typ:
		return errs.E(errs.Conflict, "Merchant %s is connected to a %s account (%s): disconnect it before connecting a %s one.",
			m.ID, c.AccountType, c.AccountID, typ).WithReason("merchant_connected")
	case typ == AccountStandard && c.Status == StatusEnabled:
		return errs.E(errs.Conflict, "Merchant %s is already connected to %s and enabled.", m.ID, c.AccountID).WithReason("merchant_connected")
	}
	return nil // an Express account still onboarding continues; a Standard one may reconnect the same account
}

const linkCols = `platform_id, id, merchant_id, type, return_url, refresh_url, state, result, account_id, expires_at, created_at`

func scanLink(row store.Scanner) (*Link, error) {
	var l Link
	var typ, st string
	var acct sql.NullString
	var expires, created store.Time
	if err := row.Scan(&l.PlatformID, &l.ID, &l.MerchantID, &typ, &l.ReturnURL, &l.RefreshURL, &st, &l.Result, &acct,
		&expires, &created); err != nil {
		return nil, err
	}
	l.Type, l.State, l.AccountID, l.Expires, l.Created = AccountType(typ), LinkState(st), acct.String, expires.Time, created.Time
	return &l, nil
}

// Opening is what the interstitial page shows before the merchant goes on
// to Stripe.
type Opening struct {
	Link     *Link
	Merchant *Merchant
	Platform *platform.Platform
}

// OpenLink finds the link behind a token, for the interstitial page. It
// changes nothing, so a mail scanner fetching the link does not use it up.
// Returns a PageError if the link is unknown, used or expired.
func (s *Service) OpenLink(ctx context.Context, token string) (*Opening, error) {
	l, err := scanLink(s.db.QueryRowContext(ctx, `SELECT `+linkCols+` FROM connect_links WHERE token_hash = $1`, tokenHash(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errLinkUnknown
	}
	if err != nil {
		return nil, err
	}
	switch {
	case l.State != LinkCreated:
		return nil, errLinkUsed.at(l, l.ReturnURL)
	case !s.now().Before(l.Expires):
		return nil, errStateExpired.at(l, l.RefreshURL)
	}
	m, err := s.Merchant(ctx, l.PlatformID, l.MerchantID)
	if err != nil {
		return nil, err
	}
	p, err := s.platforms.Get(ctx, l.PlatformID)
	if err != nil {
		return nil, err
	}
	return &Opening{Link: l, Merchant: m, Platform: p}, nil
}

// Begin uses the link: it marks it opened, once, and returns where to send
// the merchant: Stripe's authorize page for Standard, an account link for
// Express. A link used, or opened twice at once, gets a PageError.
func (s *Service) Begin(ctx context.Context, token string) (redirect string, err error) {
	o, err := s.OpenLink(ctx, token)
	if err != nil {
		return "", err
	}
	l := o.Link
	nonce := randomToken(16)
	now := store.TimeOf(s.now())
	res, err := s.db.ExecContext(ctx, `UPDATE connect_links SET state = $3, nonce = $4, opened_at = $5
		WHERE platform_id = $1 AND id = $2 AND state = 'created' AND expires_at > $5`,
		l.PlatformID, l.ID, string(LinkOpened), nonce, now)
	if err != nil {
		return "", err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return "", errLinkUsed.at(l, l.ReturnURL)
	}
	st := state{Platform: l.PlatformID, Link: l.ID, Nonce: nonce, Expires: l.Expires.Unix()}
	if l.Type == AccountStandard {
		return s.authorizeURL(ctx, o, st)
	}
	return s.beginExpress(ctx, o, st)
}

// authorizeURL is Stripe's OAuth page for a Standard account, prefilled
// with what Tender knows of the merchant.
func (s *Service) authorizeURL(ctx context.Context, o *Opening, st state) (string, error) {
	conf, err := s.oauthConfig(ctx, o.Link.PlatformID)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("scope", "read_write")}
	m := o.Merchant
	for k, v := range map[string]string{"stripe_user[email]": m.Email, "stripe_user[business_name]": m.Name, "stripe_user[country]": m.Country} {
		if v != "" {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
	}
	return conf.AuthCodeURL(s.signState(purposeOAuth, st), opts...), nil
}

func (s *Service) oauthConfig(ctx context.Context, platformID string) (*oauth2.Config, error) {
	st, err := s.platforms.Stripe(ctx, platformID)
	if err != nil {
		return nil, err
	}
	base := st.ConnectURL()
	return &oauth2.Config{
		ClientID:     st.ClientID,
		ClientSecret: st.SecretKey,
		Endpoint: oauth2.Endpoint{AuthURL: base + "/oauth/authorize", TokenURL: base + "/oauth/token",
			// Stripe reads client_secret from the form.
			AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: s.publicURL + CallbackPath,
	}, nil
}

// Outcome is where a finished flow sends the merchant: back to the
// platform's return_url with the result in its query.
type Outcome struct {
	Merchant *Merchant
	Redirect string
}

// backURL is the platform's return_url with the outcome added.
func backURL(l *Link, result string, m *Merchant) string {
	u, err := url.Parse(l.ReturnURL)
	if err != nil {
		return l.ReturnURL
	}
	q := u.Query()
	q.Set("merchant", l.MerchantID)
	q.Set("connect_link", l.ID)
	q.Set("result", result)
	if m != nil {
		q.Set("status", string(m.Connection.Status))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Callback completes a Standard connection when Stripe sends the merchant
// back: it checks the state (signature, expiry, single use), exchanges the
// code, keeps only the account id, reads the account and saves the
// merchant's connection. Every failure is a PageError and changes nothing
// of the merchant.
func (s *Service) Callback(ctx context.Context, q url.Values) (*Outcome, error) {
	st, err := s.verifyState(purposeOAuth, q.Get("state"))
	if err != nil {
		return nil, err
	}
	l, err := s.consume(ctx, st)
	if err != nil {
		return nil, err
	}
	if e := q.Get("error"); e != "" {
		result := "error"
		if e == "access_denied" {
			result = "access_denied"
		}
		s.finish(ctx, l, LinkFailed, result, "")
		if result == "access_denied" {
			return nil, errAccessDenied.at(l, backURL(l, result, nil))
		}
		s.logger.WarnContext(ctx, "Connect OAuth returned an error", "link", l.ID, "error", e, "description", q.Get("error_description"))
		return nil, errStripeFailed.at(l, backURL(l, result, nil))
	}
	accountID, err := s.exchange(ctx, l.PlatformID, q.Get("code"))
	if err != nil {
		s.logger.ErrorContext(ctx, "Connect OAuth code exchange failed", "link", l.ID, "err", err)
		s.finish(ctx, l, LinkFailed, "stripe_error", "")
		return nil, errStripeFailed.at(l, backURL(l, "stripe_error", nil))
	}
	return s.attach(ctx, l, accountID, AccountStandard)
}

// consume checks the state against its link and uses up its nonce, in one
// statement, so a state replayed (or raced) is refused.
func (s *Service) consume(ctx context.Context, st state) (*Link, error) {
	l, err := scanLink(s.db.QueryRowContext(ctx, `SELECT `+linkCols+` FROM connect_links WHERE platform_id = $1 AND id = $2`,
		st.Platform, st.Link))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errStateInvalid
	}
	if err != nil {
		return nil, err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE connect_links SET nonce = NULL
		WHERE platform_id = $1 AND id = $2 AND state = 'opened' AND nonce = $3`, l.PlatformID, l.ID, st.Nonce)
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, errLinkUsed.at(l, l.ReturnURL)
	}
	return l, nil
}

// exchange trades the code for the account id. The access and refresh
// tokens in the answer are dropped here: Tender acts on the account with
// the platform's key.
func (s *Service) exchange(ctx context.Context, platformID, code string) (string, error) {
	if code == "" {
		return "", errors.New("no code in the callback")
	}
	conf, err := s.oauthConfig(ctx, platformID)
	if err != nil {
		return "", err
	}
	if s.httpClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, s.httpClient)
	}
	tok, err := conf.Exchange(ctx, code)
	if err != nil {
		return "", err
	}
	acct, _ := tok.Extra("stripe_user_id").(string)
	if !strings.HasPrefix(acct, "acct_") {
		return "", fmt.Errorf("token answer has no stripe_user_id")
	}
	return acct, nil
}

// attach saves accountID as the merchant's account, unless the merchant is
// connected to another one, and finishes the link.
func (s *Service) attach(ctx context.Context, l *Link, accountID string, typ AccountType) (*Outcome, error) {
	acct, err := s.readAccount(ctx, l.PlatformID, accountID)
	if err != nil {
		s.logger.ErrorContext(ctx, "reading the connected account failed", "link", l.ID, "account", accountID, "err", err)
		s.finish(ctx, l, LinkFailed, "stripe_error", accountID)
		return nil, errStripeFailed.at(l, backURL(l, "stripe_error", nil))
	}
	var m *Merchant
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if m, err = getMerchant(ctx, tx, l.PlatformID, l.MerchantID); err != nil {
			return err
		}
		c := m.Connection
		if c.AccountID != "" && c.AccountID != accountID && c.Status != StatusDeauthorized {
			return errAlreadyConnected
		}
		if err := s.saveConnection(ctx, tx, m, connectionOf(acct, typ)); err != nil {
			return err
		}
		return finishLink(ctx, tx, l, LinkCompleted, "connected", accountID, s.now())
	})
	if errors.Is(err, errAlreadyConnected) {
		s.finish(ctx, l, LinkFailed, "already_connected", accountID)
		s.releaseUnused(ctx, l.PlatformID, accountID, typ)
		return nil, errAlreadyConnected.at(l, backURL(l, "already_connected", m))
	}
	if err != nil {
		return nil, err
	}
	return &Outcome{Merchant: m, Redirect: backURL(l, "connected", m)}, nil
}

// releaseUnused deauthorizes a Standard account that was just connected
// but refused, unless another merchant of the platform uses it: the
// platform must not keep access it will never use.
func (s *Service) releaseUnused(ctx context.Context, platformID, accountID string, typ AccountType) {
	if typ != AccountStandard {
		return
	}
	ms, err := s.merchantsOfAccount(ctx, platformID, accountID)
	if err != nil || len(ms) > 0 {
		return
	}
	if err := s.deauthorize(ctx, platformID, accountID); err != nil {
		s.logger.WarnContext(ctx, "could not deauthorize a refused account", "account", accountID, "err", err)
	}
}

func (s *Service) finish(ctx context.Context, l *Link, st LinkState, result, accountID string) {
	if err := finishLink(ctx, s.db, l, st, result, accountID, s.now()); err != nil {
		s.logger.ErrorContext(ctx, "recording a connect link's outcome", "link", l.ID, "err", err)
	}
}

func finishLink(ctx context.Context, q store.Querier, l *Link, st LinkState, result, accountID string, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE connect_links SET state = $3, result = $4, account_id = $5, finished_at = $6
		WHERE platform_id = $1 AND id = $2`, l.PlatformID, l.ID, string(st), result, nullString(accountID), store.TimeOf(now))
	return err
}

// beginExpress makes (or, for a merchant already onboarding, reuses) the
// merchant's Express account and returns an account link to its
// onboarding. The account is created with an idempotency key derived from
// the link, so a retried request cannot make a second one.
func (s *Service) beginExpress(ctx context.Context, o *Opening, st state) (string, error) {
	l, m := o.Link, o.Merchant
	accountID := m.Connection.AccountID
	if accountID == "" || m.Connection.Status == StatusDeauthorized {
		acct, err := s.createExpressAccount(ctx, l, m)
		if err != nil {
			s.finish(ctx, l, LinkFailed, "stripe_error", "")
			s.logger.ErrorContext(ctx, "creating an Express account failed", "link", l.ID, "err", err)
			return "", errStripeFailed.at(l, backURL(l, "stripe_error", nil))
		}
		accountID = acct.ID
		if _, err := s.attachExpress(ctx, l, acct); err != nil {
			return "", err
		}
	}
	return s.accountLink(ctx, l, accountID, st)
}

func (s *Service) createExpressAccount(ctx context.Context, l *Link, m *Merchant) (*stripe.Account, error) {
	sc, err := s.client(ctx, l.PlatformID)
	if err != nil {
		return nil, err
	}
	p := &stripe.AccountCreateParams{Type: stripe.String("express")}
	if m.Email != "" {
		p.Email = stripe.String(m.Email)
	}
	if m.Country != "" {
		p.Country = stripe.String(m.Country)
	}
	if m.Name != "" {
		p.BusinessProfile = &stripe.AccountCreateBusinessProfileParams{Name: stripe.String(m.Name)}
	}
	p.AddMetadata("tender_merchant", m.ID)
	p.AddMetadata("tender_platform", m.PlatformID)
	p.SetIdempotencyKey(stripeapi.IdempotencyKey("connect-express", l.ID))
	return sc.V1Accounts.Create(ctx, p)
}

// attachExpress records a newly created Express account on the merchant.
func (s *Service) attachExpress(ctx context.Context, l *Link, acct *stripe.Account) (*Merchant, error) {
	var m *Merchant
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if m, err = getMerchant(ctx, tx, l.PlatformID, l.MerchantID); err != nil {
			return err
		}
		if c := m.Connection; c.AccountID != "" && c.AccountID != acct.ID && c.Status != StatusDeauthorized {
			return errAlreadyConnected.at(l, backURL(l, "already_connected", m))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE connect_links SET account_id = $3 WHERE platform_id = $1 AND id = $2`,
			l.PlatformID, l.ID, acct.ID); err != nil {
			return err
		}
		return s.saveConnection(ctx, tx, m, connectionOf(acct, AccountExpress))
	})
	return m, err
}

// accountLink asks Stripe for an onboarding link whose return and refresh
// URLs come back to Tender with a signed state.
func (s *Service) accountLink(ctx context.Context, l *Link, accountID string, st state) (string, error) {
	sc, err := s.client(ctx, l.PlatformID)
	if err != nil {
		return "", err
	}
	signed := url.QueryEscape(s.signState(purposeExpress, st))
	al, err := sc.V1AccountLinks.Create(ctx, &stripe.AccountLinkCreateParams{
		Account:    stripe.String(accountID),
		Type:       stripe.String("account_onboarding"),
		RefreshURL: stripe.String(s.publicURL + ExpressRefreshPth + "?state=" + signed),
		ReturnURL:  stripe.String(s.publicURL + ExpressReturnPath + "?state=" + signed),
	})
	if err != nil {
		s.logger.ErrorContext(ctx, "creating an account link failed", "link", l.ID, "err", err)
		return "", errStripeFailed.at(l, backURL(l, "stripe_error", nil))
	}
	return al.URL, nil
}

// expressLink checks an Express state and returns its link, still open.
func (s *Service) expressLink(ctx context.Context, raw string) (*Link, state, error) {
	st, err := s.verifyState(purposeExpress, raw)
	if err != nil {
		return nil, st, err
	}
	l, err := scanLink(s.db.QueryRowContext(ctx, `SELECT `+linkCols+` FROM connect_links WHERE platform_id = $1 AND id = $2`,
		st.Platform, st.Link))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, st, errStateInvalid
	}
	if err != nil {
		return nil, st, err
	}
	if l.State != LinkOpened || l.AccountID == "" {
		return nil, st, errLinkUsed.at(l, l.ReturnURL)
	}
	return l, st, nil
}

// ExpressRefresh answers Stripe's refresh_url, reached when an account link
// expired or was reused: a fresh account link for the same account, as long
// as Tender's own link has not expired.
func (s *Service) ExpressRefresh(ctx context.Context, raw string) (string, error) {
	l, st, err := s.expressLink(ctx, raw)
	if err != nil {
		return "", err
	}
	return s.accountLink(ctx, l, l.AccountID, st)
}

// ExpressReturn answers Stripe's return_url: the merchant left onboarding,
// finished or not. The account is read, the merchant's status saved (pending
// if requirements are still due) and the link completed.
func (s *Service) ExpressReturn(ctx context.Context, raw string) (*Outcome, error) {
	l, _, err := s.expressLink(ctx, raw)
	if err != nil {
		return nil, err
	}
	return s.attach(ctx, l, l.AccountID, AccountExpress)
}
