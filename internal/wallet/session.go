package wallet

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/store"
)

// A wallet session is how a customer reaches the hosted wallet page. The
// platform asks for one and sends the customer to its URL, which carries a
// random token of which Tender keeps only the SHA-256. Opening the URL uses
// the token, once, in one conditional UPDATE, and exchanges it for a
// session cookie (random, also stored only as a hash) scoped to the
// session's page, so the token is never needed again and can leak nowhere
// from there. Every later request of the page is authorized by that cookie,
// and every action also by a CSRF token derived from it.

// Paths of the hosted wallet, under the public URL.
const (
	// SessionLinkPath + token is the single-use link.
	SessionLinkPath = "/wallet/links/"
	// SessionPagePath + session id is the page; the session cookie is
	// scoped to it.
	SessionPagePath = "/wallet/"
)

// SessionPrefix is the id prefix of wallet sessions.
const SessionPrefix = "ws"

// Session lifetimes: the default, and the bounds a platform may ask for.
const (
	DefaultSessionTTL = 30 * time.Minute
	MinSessionTTL     = time.Minute
	MaxSessionTTL     = 24 * time.Hour
)

// MaxSetupsPerSession bounds the SetupIntents one session may open: enough
// for a customer who mistypes a few times, too few for a card tester to
// use the page as an oracle.
const MaxSetupsPerSession = 10

// Session is a customer's single-use, expiring way into the hosted wallet.
type Session struct {
	ID         string
	PlatformID string
	CustomerID string
	ReturnURL  string
	Expires    time.Time
	Opened     time.Time // zero until the link is used
	Created    time.Time
	// URL is the link itself; it is known only when the session is
	// created: Tender keeps only a hash of its token.
	URL string
}

// Page is the session's page, relative to the public URL.
func (ws *Session) Page() string { return SessionPagePath + ws.ID }

// SessionParams ask for a wallet session.
type SessionParams struct {
	Customer  string `json:"customer" text:"255"`
	ReturnURL string `json:"return_url" text:"2048"`
	// ExpiresIn is the session's lifetime in seconds; zero means 30
	// minutes.
	ExpiresIn int64 `json:"expires_in"`
}

func (p SessionParams) validate() (time.Duration, error) {
	if p.Customer == "" {
		return 0, errs.Missing("customer")
	}
	if p.ReturnURL == "" {
		return 0, errs.Missing("return_url")
	}
	u, err := url.Parse(p.ReturnURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return 0, errs.Invalidf("return_url", "return_url must be an absolute http or https URL without credentials or fragment")
	}
	ttl := DefaultSessionTTL
	if p.ExpiresIn != 0 {
		// The count is checked before it becomes a Duration, whose
		// nanoseconds would overflow for a large one.
		if p.ExpiresIn < int64(MinSessionTTL/time.Second) || p.ExpiresIn > int64(MaxSessionTTL/time.Second) {
			return 0, errs.Invalidf("expires_in", "expires_in must be from %d to %d seconds", int64(MinSessionTTL/time.Second), int64(MaxSessionTTL/time.Second))
		}
		ttl = time.Duration(p.ExpiresIn) * time.Second
	}
	return ttl, nil
}

// CreateSession makes a wallet session for the customer, with the
// request's answer (its view, the single-use URL included) when it has an
// Idempotency-Key. Returns
// errs.Invalid naming the field at fault, errs.NotFound (param customer)
// for a customer the platform does not have, or errs.Conflict for an
// archived one.
func (s *Service) CreateSession(ctx context.Context, platformID string, p SessionParams) (*Session, error) {
	ttl, err := p.validate()
	if err != nil {
		return nil, err
	}
	c, err := activeCustomer(ctx, s.db, platformID, p.Customer)
	if err != nil {
		return nil, err
	}
	now := store.TimeOf(s.now())
	token := randomToken()
	ws := &Session{ID: id.For(ctx, SessionPrefix), PlatformID: platformID, CustomerID: c.ID, ReturnURL: p.ReturnURL,
		Expires: now.Add(ttl), Created: now.Time, URL: s.publicURL + SessionLinkPath + token}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO wallet_sessions (platform_id, id, customer_id, return_url, token_hash,
			expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			ws.PlatformID, ws.ID, ws.CustomerID, ws.ReturnURL, hashOf(token), store.TimeOf(ws.Expires), now)
		if err != nil {
			return err
		}
		return idempotency.Commit(ctx, tx, ws.View())
	})
	if err != nil {
		return nil, fmt.Errorf("insert wallet session: %w", err)
	}
	return ws, nil
}

// SessionError is why a wallet link or session cannot be used, with what
// a page needs to send the customer back to the platform when it is known.
// Err's Reason is one of link_invalid, link_used, link_expired,
// session_missing, session_invalid, session_mismatch, session_expired and
// csrf_invalid.
type SessionError struct {
	Err        *errs.Error
	PlatformID string
	ReturnURL  string
}

func (e *SessionError) Error() string { return "wallet session: " + e.Err.Error() }

// Unwrap returns the error's *errs.Error, so errs.CodeOf sees its code.
func (e *SessionError) Unwrap() error { return e.Err }

func sessionError(code errs.Code, reason, message string, ws *Session) *SessionError {
	e := &SessionError{Err: errs.E(code, "%s", message).WithReason(reason)}
	if ws != nil {
		e.PlatformID, e.ReturnURL = ws.PlatformID, ws.ReturnURL
	}
	return e
}

// OpenSession uses a wallet link: the first call for a token that has not
// expired marks its session opened and returns it with a new cookie value,
// which from then on is the only way into the session. Any other call
// gets a *SessionError: link_invalid, link_used or link_expired.
func (s *Service) OpenSession(ctx context.Context, token string) (*Session, string, error) {
	ws, err := scanSession(s.db.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM wallet_sessions WHERE token_hash = $1`, hashOf(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", sessionError(errs.NotFound, "link_invalid", "This wallet link is not valid.", nil)
	}
	if err != nil {
		return nil, "", err
	}
	now := store.TimeOf(s.now())
	switch {
	case !ws.Opened.IsZero():
		return nil, "", sessionError(errs.Gone, "link_used", "This wallet link has already been used.", ws)
	case !now.Before(ws.Expires):
		return nil, "", sessionError(errs.Gone, "link_expired", "This wallet link has expired.", ws)
	}
	cookie := randomToken()
	res, err := s.db.ExecContext(ctx, `UPDATE wallet_sessions SET opened_at = $3, cookie_hash = $4
		WHERE platform_id = $1 AND id = $2 AND opened_at IS NULL AND expires_at > $3`, ws.PlatformID, ws.ID, now, hashOf(cookie))
	if err != nil {
		return nil, "", err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		// Another request used the link between the read and the update.
		return nil, "", sessionError(errs.Gone, "link_used", "This wallet link has already been used.", ws)
	}
	ws.Opened = now.Time
	return ws, cookie, nil
}

// SessionFor returns the open session whose page is sessionID, if cookie
// is that session's. Returns a *SessionError: session_missing (no cookie)
// or session_invalid (a cookie Tender never gave) as errs.Unauthorized,
// session_mismatch (another session's cookie) as errs.Forbidden,
// session_expired as errs.Gone.
func (s *Service) SessionFor(ctx context.Context, sessionID, cookie string) (*Session, error) {
	if cookie == "" {
		return nil, s.noSession(ctx, sessionID, "session_missing")
	}
	ws, err := scanSession(s.db.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM wallet_sessions WHERE cookie_hash = $1`, hashOf(cookie)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, s.noSession(ctx, sessionID, "session_invalid")
	}
	if err != nil {
		return nil, err
	}
	if ws.ID != sessionID {
		return nil, s.noSession(ctx, sessionID, "session_mismatch")
	}
	if !s.now().Before(ws.Expires) {
		return nil, sessionError(errs.Gone, "session_expired", "Your wallet session has ended.", ws)
	}
	return ws, nil
}

// noSession is the error for a request that did not prove its session.
// The session named in the path, if it exists, gives the way back to the
// platform; an expired one is reported as such, since an expired cookie is
// one the browser no longer sends.
func (s *Service) noSession(ctx context.Context, sessionID, reason string) error {
	var ws *Session
	if id.Valid(sessionID, SessionPrefix) { // the page's path may hold any bytes
		var err error
		ws, err = scanSession(s.db.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM wallet_sessions WHERE id = $1`, sessionID))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	if ws != nil && !s.now().Before(ws.Expires) {
		return sessionError(errs.Gone, "session_expired", "Your wallet session has ended.", ws)
	}
	if reason == "session_mismatch" {
		return sessionError(errs.Forbidden, reason, "This page belongs to another wallet session.", ws)
	}
	return sessionError(errs.Unauthorized, reason, "Your wallet session was not found in this browser.", ws)
}

// CSRFToken is the token a session's page sends with every action. It is
// derived from the session cookie, so it needs no storage and survives a
// reload, and another site, which cannot read the cookie, cannot make it.
func CSRFToken(cookie string) string {
	sum := sha256.Sum256([]byte("tender/wallet-csrf\x00" + cookie))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// CheckCSRF returns a *SessionError (csrf_invalid, errs.Forbidden) unless
// token is the CSRF token of cookie.
func CheckCSRF(cookie, token string) error {
	if cookie == "" || subtle.ConstantTimeCompare([]byte(CSRFToken(cookie)), []byte(token)) != 1 {
		return sessionError(errs.Forbidden, "csrf_invalid", "This request could not be verified. Reload the page and try again.", nil)
	}
	return nil
}

// SessionSetupIntent opens a SetupIntent for the session's customer, as
// CreateSetupIntent does, at most MaxSetupsPerSession times per session
// (errs.RateLimited, reason setup_limit, beyond).
func (s *Service) SessionSetupIntent(ctx context.Context, ws *Session) (*SetupIntent, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE wallet_sessions SET setup_count = setup_count + 1
		WHERE platform_id = $1 AND id = $2 AND setup_count < $3`, ws.PlatformID, ws.ID, MaxSetupsPerSession)
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, errs.E(errs.RateLimited, "Too many attempts to add a card in this session. Go back and open your wallet again.").WithReason("setup_limit")
	}
	return s.CreateSetupIntent(ctx, ws.PlatformID, ws.CustomerID, SetupIntentParams{})
}

const sessionCols = `platform_id, id, customer_id, return_url, expires_at, opened_at, created_at`

func scanSession(row store.Scanner) (*Session, error) {
	var ws Session
	var expires, opened, created store.Time
	if err := row.Scan(&ws.PlatformID, &ws.ID, &ws.CustomerID, &ws.ReturnURL, &expires, &opened, &created); err != nil {
		return nil, err
	}
	ws.Expires, ws.Opened, ws.Created = expires.Time, opened.Time, created.Time
	return &ws, nil
}

// randomToken returns 32 random bytes, base64url-encoded: 256 bits, so a
// fast hash is enough to store it.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// SessionView is a wallet session as the API shows it. The URL is shown
// only in the response that creates the session.
type SessionView struct {
	ID        string    `json:"id"`
	Object    string    `json:"object"`
	Customer  string    `json:"customer"`
	URL       string    `json:"url"`
	ReturnURL string    `json:"return_url"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
}

// View returns ws as the API shows it.
func (ws *Session) View() SessionView {
	return SessionView{ID: ws.ID, Object: "wallet_session", Customer: ws.CustomerID, URL: ws.URL, ReturnURL: ws.ReturnURL,
		ExpiresAt: ws.Expires, CreatedAt: ws.Created}
}
