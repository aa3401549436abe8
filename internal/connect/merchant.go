package connect

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/metadata"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/text"
)

// Status is where a merchant's connection stands.
type Status string

// Connection statuses.
const (
	// StatusNotConnected: no Stripe account.
	StatusNotConnected Status = "not_connected"
	// StatusPending: connected, but Stripe still needs information
	// (onboarding unfinished, or requirements due).
	StatusPending Status = "pending"
	// StatusRestricted: charges or payouts are disabled; Requirements says
	// why.
	StatusRestricted Status = "restricted"
	// StatusEnabled: the account can take charges and receive payouts.
	StatusEnabled Status = "enabled"
	// StatusDeauthorized: the account disconnected from the platform at
	// Stripe; reconnecting takes a new link.
	StatusDeauthorized Status = "deauthorized"
)

// Validate accepts a known status or empty (for filters).
func (s Status) Validate() error {
	switch s {
	case "", StatusNotConnected, StatusPending, StatusRestricted, StatusEnabled, StatusDeauthorized:
		return nil
	}
	return errs.Invalidf("status", "status must be one of not_connected, pending, restricted, enabled, deauthorized, not %q", string(s))
}

// AccountType is how a merchant's account was connected.
type AccountType string

// Account types Tender connects.
const (
	AccountStandard AccountType = "standard"
	AccountExpress  AccountType = "express"
)

// Event types recorded in the outbox.
const (
	EventMerchantConnected     event.Type = "merchant.connected"
	EventMerchantStatusChanged event.Type = "merchant.status_changed"
	EventMerchantDeauthorized  event.Type = "merchant.deauthorized"
	EventMerchantDisconnected  event.Type = "merchant.disconnected"
)

// Requirements are what Stripe still needs from the account holder.
type Requirements struct {
	CurrentlyDue   []string `json:"currently_due"`
	EventuallyDue  []string `json:"eventually_due"`
	PastDue        []string `json:"past_due"`
	DisabledReason string   `json:"disabled_reason,omitempty"`
}

// Connection is a merchant's Stripe account as Tender last saw it.
type Connection struct {
	Status           Status
	AccountID        string // acct_…; empty when not connected
	AccountType      AccountType
	ChargesEnabled   bool
	PayoutsEnabled   bool
	DetailsSubmitted bool
	Requirements     Requirements
	ConnectedAt      time.Time
	CheckedAt        time.Time // when the status was last read from Stripe
}

// Merchant is a seller on a platform.
type Merchant struct {
	ID              string
	PlatformID      string
	ExternalID      string // the platform's own id; unique per platform
	Name            string
	Email           string
	Country         string // ISO 3166-1 alpha-2, upper case
	DefaultCurrency string // ISO 4217, lower case
	Metadata        map[string]string
	Connection      Connection
	Archived        time.Time
	Created         time.Time
	Updated         time.Time
}

// MerchantParams are the fields of a create or update; nil fields are left
// alone (on create, unset).
type MerchantParams struct {
	ExternalID      *string            `json:"external_id" text:"255"`
	Name            *string            `json:"name" text:"255"`
	Email           *string            `json:"email" text:"254"`
	Country         *string            `json:"country" text:"32"`
	DefaultCurrency *string            `json:"default_currency" text:"32"`
	Metadata        map[string]*string `json:"metadata" text:"500,multiline,keys=40"`
}

func (p MerchantParams) apply(m *Merchant) error {
	if err := text.Validate(p); err != nil {
		return err
	}
	if p.ExternalID != nil {
		m.ExternalID = strings.TrimSpace(*p.ExternalID)
	}
	if p.Name != nil {
		m.Name = strings.TrimSpace(*p.Name)
	}
	if p.Email != nil {
		e := strings.TrimSpace(*p.Email)
		if e != "" && (!strings.Contains(e, "@") || len(e) > 254 || strings.ContainsAny(e, " \t\r\n")) {
			return errs.Invalidf("email", "%q is not an email address", e)
		}
		m.Email = e
	}
	if p.Country != nil {
		c := strings.ToUpper(strings.TrimSpace(*p.Country))
		if c != "" && (len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z') {
			return errs.Invalidf("country", "country must be a two-letter ISO 3166-1 code such as US or FR, not %q", *p.Country)
		}
		m.Country = c
	}
	if p.DefaultCurrency != nil {
		m.DefaultCurrency = ""
		if *p.DefaultCurrency != "" {
			c, err := money.ParseCurrency(*p.DefaultCurrency)
			if err != nil {
				return errs.Invalidf("default_currency", "%q is not an ISO 4217 currency code", *p.DefaultCurrency)
			}
			m.DefaultCurrency = c.Lower()
		}
	}
	return applyMetadata(m, p.Metadata)
}

func applyMetadata(m *Merchant, updates map[string]*string) error {
	md, err := metadata.Apply(m.Metadata, updates)
	if err != nil {
		return err
	}
	m.Metadata = md
	return nil
}

// CreateMerchant validates and stores a new merchant, not yet connected,
// with the request's answer (its view) when it has an Idempotency-Key.
// Returns errs.Invalid naming the field at fault, or errs.Conflict (reason
// external_id_taken) if another merchant of the platform has the same
// external_id.
func (s *Service) CreateMerchant(ctx context.Context, platformID string, p MerchantParams) (*Merchant, error) {
	now := store.TimeOf(s.now()).Time
	m := &Merchant{ID: id.For(ctx, MerchantPrefix), PlatformID: platformID, Metadata: map[string]string{},
		Connection: Connection{Status: StatusNotConnected}, Created: now, Updated: now}
	if err := p.apply(m); err != nil {
		return nil, err
	}
	md, err := json.Marshal(m.Metadata)
	if err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO merchants (platform_id, id, external_id, name, email, country, default_currency,
			metadata, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
			m.PlatformID, m.ID, nullString(m.ExternalID), m.Name, m.Email, m.Country, m.DefaultCurrency, string(md),
			string(m.Connection.Status), store.TimeOf(now))
		if err != nil {
			return err
		}
		return idempotency.Commit(ctx, tx, m.View())
	})
	if store.IsUniqueViolation(err) {
		return nil, externalIDTaken(m.ExternalID)
	}
	if err != nil {
		return nil, fmt.Errorf("insert merchant: %w", err)
	}
	return m, nil
}

func externalIDTaken(ext string) *errs.Error {
	e := errs.E(errs.Conflict, "Another merchant of this platform has external_id %q.", ext).WithReason("external_id_taken")
	e.Param = "external_id"
	return e
}

// Merchant returns one of the platform's merchants. Returns errs.NotFound if
// the platform has no such merchant.
func (s *Service) Merchant(ctx context.Context, platformID, merchantID string) (*Merchant, error) {
	return getMerchant(ctx, s.db, platformID, merchantID)
}

func getMerchant(ctx context.Context, q store.Querier, platformID, merchantID string) (*Merchant, error) {
	if !id.Valid(merchantID, MerchantPrefix) { // a hosted page's path may hold any bytes
		return nil, errs.NotFoundf("merchant", "No such merchant: '%s'.", merchantID)
	}
	m, err := scanMerchant(q.QueryRowContext(ctx, `SELECT `+merchantCols+` FROM merchants WHERE platform_id = $1 AND id = $2`,
		platformID, merchantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("merchant", "No such merchant: '%s'.", merchantID)
	}
	return m, err
}

// UpdateMerchant validates and applies p, with the request's answer when
// it has an Idempotency-Key (so a retry replays rather than applying p
// again over a later change). Returns errs.Invalid naming the
// field at fault (nothing changes), errs.NotFound, or errs.Conflict if the
// new external_id is taken or the merchant is archived.
func (s *Service) UpdateMerchant(ctx context.Context, platformID, merchantID string, p MerchantParams) (*Merchant, error) {
	var out *Merchant
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		m, err := getMerchant(ctx, tx, platformID, merchantID)
		if err != nil {
			return err
		}
		if !m.Archived.IsZero() {
			return errs.E(errs.Conflict, "Merchant %s is archived and cannot be changed.", m.ID).WithReason("merchant_archived")
		}
		if err := p.apply(m); err != nil {
			return err
		}
		md, err := json.Marshal(m.Metadata)
		if err != nil {
			return err
		}
		m.Updated = store.TimeOf(s.now()).Time
		_, err = tx.ExecContext(ctx, `UPDATE merchants SET external_id = $3, name = $4, email = $5, country = $6,
			default_currency = $7, metadata = $8, updated_at = $9 WHERE platform_id = $1 AND id = $2`,
			platformID, m.ID, nullString(m.ExternalID), m.Name, m.Email, m.Country, m.DefaultCurrency, string(md), store.TimeOf(m.Updated))
		if store.IsUniqueViolation(err) {
			return externalIDTaken(m.ExternalID)
		}
		if err != nil {
			return err
		}
		out = m
		return idempotency.Commit(ctx, tx, m.View())
	})
	return out, err
}

// MerchantFilter narrows a list of merchants.
type MerchantFilter struct {
	ExternalID string
	Status     Status
	AccountID  string
	// Archived includes archived merchants; by default they are left out.
	Archived bool
}

// Merchants lists the platform's merchants, newest first.
func (s *Service) Merchants(ctx context.Context, platformID string, f MerchantFilter, page store.Page) ([]*Merchant, bool, error) {
	return store.List(ctx, s.db, page, scanMerchant, `SELECT `+merchantCols+` FROM merchants WHERE platform_id = $1
		AND ($2 = '' OR external_id = $2) AND ($3 = '' OR status = $3) AND ($4 = '' OR account_id = $4)
		AND ($5 OR archived_at IS NULL)`,
		platformID, f.ExternalID, string(f.Status), f.AccountID, f.Archived)
}

// ArchiveMerchant hides the merchant from lists and refuses new links and
// payments for it. A connected merchant must be disconnected first, so
// that an account is never left connected to no one. Returns errs.NotFound
// or errs.Conflict (reason merchant_connected). Archiving twice is harmless.
func (s *Service) ArchiveMerchant(ctx context.Context, platformID, merchantID string) (*Merchant, error) {
	var out *Merchant
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		m, err := getMerchant(ctx, tx, platformID, merchantID)
		if err != nil {
			return err
		}
		if !m.Archived.IsZero() {
			out = m
			return nil
		}
		if m.Connection.AccountID != "" && m.Connection.Status != StatusDeauthorized {
			return errs.E(errs.Conflict, "Merchant %s is connected to %s: disconnect it first (POST /v1/merchants/%s/disconnect).",
				m.ID, m.Connection.AccountID, m.ID).WithReason("merchant_connected")
		}
		now := store.TimeOf(s.now())
		m.Archived, m.Updated = now.Time, now.Time
		_, err = tx.ExecContext(ctx, `UPDATE merchants SET archived_at = $3, updated_at = $3 WHERE platform_id = $1 AND id = $2`,
			platformID, m.ID, now)
		out = m
		return err
	})
	return out, err
}

const merchantCols = `platform_id, id, external_id, name, email, country, default_currency, metadata, account_id, account_type,
	status, charges_enabled, payouts_enabled, details_submitted, requirements, connected_at, status_checked_at, archived_at,
	created_at, updated_at`

func scanMerchant(row store.Scanner) (*Merchant, error) {
	var m Merchant
	var ext, acct sql.NullString
	var md, reqs, status, acctType string
	var connected, checked, archived, created, updated store.Time
	c := &m.Connection
	if err := row.Scan(&m.PlatformID, &m.ID, &ext, &m.Name, &m.Email, &m.Country, &m.DefaultCurrency, &md, &acct, &acctType,
		&status, &c.ChargesEnabled, &c.PayoutsEnabled, &c.DetailsSubmitted, &reqs, &connected, &checked, &archived,
		&created, &updated); err != nil {
		return nil, err
	}
	m.ExternalID, c.AccountID, c.Status, c.AccountType = ext.String, acct.String, Status(status), AccountType(acctType)
	if err := json.Unmarshal([]byte(md), &m.Metadata); err != nil {
		return nil, fmt.Errorf("merchant %s metadata: %w", m.ID, err)
	}
	if err := json.Unmarshal([]byte(reqs), &c.Requirements); err != nil {
		return nil, fmt.Errorf("merchant %s requirements: %w", m.ID, err)
	}
	c.ConnectedAt, c.CheckedAt, m.Archived = connected.Time, checked.Time, archived.Time
	m.Created, m.Updated = created.Time, updated.Time
	return &m, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// ConnectedAccounts returns the Stripe accounts the platform's merchants
// are connected to and can still be reached on (not deauthorized), each
// once, in order.
func (s *Service) ConnectedAccounts(ctx context.Context, platformID string) ([]string, error) {
	return store.All(ctx, s.db, func(sc store.Scanner) (string, error) {
		var a string
		return a, sc.Scan(&a)
	}, `SELECT DISTINCT account_id FROM merchants WHERE platform_id = $1 AND account_id IS NOT NULL AND account_id <> ''
		AND status <> $2 ORDER BY account_id`, platformID, string(StatusDeauthorized))
}

// FirstMerchantOf returns the id of the platform's merchant made first of
// those connected to accountID, archived ones included: where money Stripe
// moves on a shared account is booked. Returns errs.NotFound when none is.
func (s *Service) FirstMerchantOf(ctx context.Context, platformID, accountID string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM merchants WHERE platform_id = $1 AND account_id = $2 ORDER BY id LIMIT 1`,
		platformID, accountID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.NotFoundf("", "No merchant of this platform is connected to %s.", accountID)
	}
	return id, err
}
