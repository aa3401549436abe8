// Package platform owns platforms — the operators Tender serves — and their
// secret API keys. Every other table belongs to exactly one platform, and an
// API key is how a request proves which one it acts for.
package platform

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/text"
)

// Platform is an operator of a marketplace and its settings.
type Platform struct {
	ID        string
	Name      string
	IsDefault bool
	Settings  Settings
	Created   time.Time
	Updated   time.Time
}

// Settings are a platform's adjustable preferences.
type Settings struct {
	// DefaultCurrency is the ISO 4217 code used when a request names none,
	// in lower case as Stripe writes it ("" if unset).
	DefaultCurrency string `json:"default_currency,omitempty"`
	// SupportEmail is shown on hosted pages so customers know whom to ask.
	SupportEmail string `json:"support_email,omitempty"`
	// DefaultChargeType is the charge type of a payment that names none
	// and has no splits: direct, destination or separate ("" is direct).
	DefaultChargeType string `json:"default_charge_type,omitempty"`
}

// ChargeType returns the platform's default charge type.
func (s Settings) ChargeType() string {
	if s.DefaultChargeType == "" {
		return "direct"
	}
	return s.DefaultChargeType
}

// Service manages platforms and API keys.
type Service struct {
	db            *store.DB
	now           func() time.Time
	keys          *secret.Keyring
	defaultStripe *Stripe
}

// NewService returns a Service over db. now is the clock (time.Now if nil).
func NewService(db *store.DB, now func() time.Time, opts ...Option) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{db: db, now: now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Create makes a new platform.
func (s *Service) Create(ctx context.Context, name string) (*Platform, error) {
	return s.create(ctx, s.db, name, false)
}

func (s *Service) create(ctx context.Context, q store.Querier, name string, isDefault bool) (*Platform, error) {
	if strings.TrimSpace(name) == "" {
		return nil, errs.Missing("name")
	}
	now := store.TimeOf(s.now())
	p := &Platform{ID: id.New(id.Platform), Name: name, IsDefault: isDefault, Created: now.Time, Updated: now.Time}
	_, err := q.ExecContext(ctx, `INSERT INTO platforms (id, name, is_default, settings, created_at, updated_at) VALUES ($1, $2, $3, '{}', $4, $4)`,
		p.ID, p.Name, p.IsDefault, now)
	if err != nil {
		return nil, fmt.Errorf("insert platform: %w", err)
	}
	return p, nil
}

// EnsureDefault returns the default platform, creating it with a first test
// API key if there is none. secret is that key, non-empty only when it was
// just created: it is never stored in clear, so this is the one time anyone
// sees it.
func (s *Service) EnsureDefault(ctx context.Context, name string) (p *Platform, key *APIKey, secret string, err error) {
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		p, err = scanPlatform(tx.QueryRowContext(ctx, `SELECT `+platformCols+` FROM platforms WHERE is_default`))
		if err == nil {
			return nil
		}
		if !errs.Is(err, errs.NotFound) {
			return err
		}
		if p, err = s.create(ctx, tx, name, true); err != nil {
			return err
		}
		key, secret, err = s.createKey(ctx, tx, p.ID, ModeTest, "first key")
		return err
	})
	return p, key, secret, err
}

// Default returns the default platform. Returns errs.NotFound if there is
// none yet (run `tender serve` or `tender migrate up` first).
func (s *Service) Default(ctx context.Context) (*Platform, error) {
	return scanPlatform(s.db.QueryRowContext(ctx, `SELECT `+platformCols+` FROM platforms WHERE is_default`))
}

// Get returns the platform with the given id. Returns errs.NotFound if there
// is none.
func (s *Service) Get(ctx context.Context, platformID string) (*Platform, error) {
	return scanPlatform(s.db.QueryRowContext(ctx, `SELECT `+platformCols+` FROM platforms WHERE id = $1`, platformID))
}

// Update holds the changes to a platform; nil fields are left alone.
type Update struct {
	Name            *string `json:"name" text:"255"`
	DefaultCurrency *string `json:"default_currency" text:"32"`
	SupportEmail    *string `json:"support_email" text:"254"`
	// DefaultChargeType is direct, destination or separate; empty resets
	// it to direct.
	DefaultChargeType *string `json:"default_charge_type" text:"32"`
}

// Update validates and applies u, with the request's answer when it has an
// Idempotency-Key (a retry replays it rather than applying u again over a
// later change). Returns errs.Invalid naming the field at fault, in which
// case nothing changes.
func (s *Service) Update(ctx context.Context, platformID string, u Update) (*Platform, error) {
	var out *Platform
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		p, err := scanPlatform(tx.QueryRowContext(ctx, `SELECT `+platformCols+` FROM platforms WHERE id = $1`, platformID))
		if err != nil {
			return err
		}
		if err := u.apply(p); err != nil {
			return err
		}
		settings, err := json.Marshal(p.Settings)
		if err != nil {
			return err
		}
		p.Updated = store.TimeOf(s.now()).Time
		_, err = tx.ExecContext(ctx, `UPDATE platforms SET name = $2, settings = $3, updated_at = $4 WHERE id = $1`,
			p.ID, p.Name, string(settings), store.TimeOf(p.Updated))
		if err != nil {
			return err
		}
		out = p
		return idempotency.Commit(ctx, tx, p.View())
	})
	return out, err
}

func (u Update) apply(p *Platform) error {
	if err := text.Validate(u); err != nil {
		return err
	}
	if u.Name != nil {
		if strings.TrimSpace(*u.Name) == "" {
			return errs.Invalidf("name", "name must not be empty")
		}
		p.Name = *u.Name
	}
	if u.DefaultCurrency != nil {
		if *u.DefaultCurrency == "" {
			p.Settings.DefaultCurrency = ""
		} else {
			c, err := money.ParseCurrency(*u.DefaultCurrency)
			if err != nil {
				return errs.Invalidf("default_currency", "%q is not an ISO 4217 currency code", *u.DefaultCurrency)
			}
			p.Settings.DefaultCurrency = c.Lower()
		}
	}
	if u.SupportEmail != nil {
		if e := *u.SupportEmail; e != "" && (!strings.Contains(e, "@") || len(e) > 254) {
			return errs.Invalidf("support_email", "%q is not an email address", e)
		}
		p.Settings.SupportEmail = *u.SupportEmail
	}
	if u.DefaultChargeType != nil {
		switch ct := *u.DefaultChargeType; ct {
		case "", "direct", "destination", "separate":
			p.Settings.DefaultChargeType = ct
		default:
			return errs.Invalidf("default_charge_type", "default_charge_type must be direct, destination or separate, not %q", ct)
		}
	}
	return nil
}

const platformCols = `id, name, is_default, settings, created_at, updated_at`

func scanPlatform(row *sql.Row) (*Platform, error) {
	var p Platform
	var settings string
	var created, updated store.Time
	if err := row.Scan(&p.ID, &p.Name, &p.IsDefault, &settings, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.NotFoundf("", "No such platform.")
		}
		return nil, err
	}
	if err := json.Unmarshal([]byte(settings), &p.Settings); err != nil {
		return nil, fmt.Errorf("platform %s settings: %w", p.ID, err)
	}
	p.Created, p.Updated = created.Time, updated.Time
	return &p, nil
}
