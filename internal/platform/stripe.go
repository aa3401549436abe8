package platform

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/store"
)

// StripeSource says where a platform's Stripe settings come from.
type StripeSource string

// Sources of Stripe settings.
const (
	// StripeFromDatabase: set through the API, secrets sealed in the database.
	StripeFromDatabase StripeSource = "database"
	// StripeFromEnvironment: the default platform's TENDER_STRIPE_* variables.
	StripeFromEnvironment StripeSource = "environment"
	// StripeFromEmulator: no Stripe configured, so the in-process emulator.
	StripeFromEmulator StripeSource = "emulator"
)

// Stripe is how a platform reaches its Stripe account. SecretKey and
// WebhookSecrets are secrets: they are never returned by the API or logged
// (String leaves them out), and they rest in the database only sealed.
type Stripe struct {
	SecretKey      string // sk_test_…, sk_live_…, or restricted rk_…
	PublishableKey string // pk_test_…, pk_live_…, for Stripe.js on hosted pages
	ClientID       string // ca_…, the Connect application, for OAuth
	// WebhookSecrets verify Stripe's webhook signatures (whsec_…): one per
	// endpoint, typically one for the account's events and one for its
	// connected accounts'; several are tried, so a secret can be rolled.
	WebhookSecrets []string
	// APIBase is the base URL of Stripe's API; empty means Stripe itself.
	APIBase string
	// ConnectBase is the base URL of Connect's OAuth pages and token
	// endpoint; empty means https://connect.stripe.com.
	ConnectBase string
	Source      StripeSource
}

// DefaultConnectBase is where Stripe serves Connect OAuth.
const DefaultConnectBase = "https://connect.stripe.com"

// Livemode reports whether the secret key is a live one.
func (s *Stripe) Livemode() bool { return strings.Contains(s.SecretKey, "_live_") }

// ConnectURL is the base for OAuth: ConnectBase or Stripe's.
func (s *Stripe) ConnectURL() string {
	if s.ConnectBase != "" {
		return strings.TrimSuffix(s.ConnectBase, "/")
	}
	return DefaultConnectBase
}

// SecretKeyHint is the key's prefix and last four characters, to tell keys
// apart without revealing them.
func (s *Stripe) SecretKeyHint() string { return keyHint(s.SecretKey) }

// String describes the settings without their secrets.
func (s *Stripe) String() string {
	return fmt.Sprintf("stripe{source=%s key=%s publishable=%s client_id=%s webhook_secrets=%d api_base=%q}",
		s.Source, s.SecretKeyHint(), s.PublishableKey, s.ClientID, len(s.WebhookSecrets), s.APIBase)
}

func keyHint(key string) string {
	if len(key) < 12 {
		return strings.Repeat("*", len(key))
	}
	i := strings.LastIndex(key[:len(key)-4], "_")
	return key[:i+1] + "…" + key[len(key)-4:]
}

// StripeUpdate sets a platform's Stripe settings; nil fields are left
// alone, and an empty string clears an optional one.
type StripeUpdate struct {
	SecretKey      *string   `json:"secret_key" text:"255"`
	PublishableKey *string   `json:"publishable_key" text:"255"`
	ClientID       *string   `json:"client_id" text:"255"`
	WebhookSecrets *[]string `json:"webhook_secrets" text:"255"` // each
	APIBase        *string   `json:"api_base" text:"2048"`
	ConnectBase    *string   `json:"connect_base" text:"2048"`
}

// validate checks the settings as a whole once u is applied.
func (s *Stripe) validate() error {
	switch {
	case s.SecretKey == "":
		return errs.Missing("secret_key")
	case !hasAnyPrefix(s.SecretKey, "sk_test_", "sk_live_", "rk_test_", "rk_live_") || len(s.SecretKey) < 16:
		return errs.Invalidf("secret_key", "secret_key must be a Stripe secret key (sk_test_…, sk_live_…) or restricted key (rk_…)")
	}
	mode := "test"
	if s.Livemode() {
		mode = "live"
	}
	if s.PublishableKey != "" && !strings.HasPrefix(s.PublishableKey, "pk_"+mode+"_") {
		return errs.Invalidf("publishable_key", "publishable_key must be a %s-mode publishable key (pk_%s_…), like the secret key", mode, mode)
	}
	if s.ClientID != "" && !strings.HasPrefix(s.ClientID, "ca_") {
		return errs.Invalidf("client_id", "client_id must be a Connect client id (ca_…)")
	}
	for i, w := range s.WebhookSecrets {
		if !strings.HasPrefix(w, "whsec_") || len(w) < 12 {
			return errs.Invalidf(fmt.Sprintf("webhook_secrets[%d]", i), "each webhook secret must be a Stripe signing secret (whsec_…)")
		}
	}
	if len(s.WebhookSecrets) > 5 {
		return errs.Invalidf("webhook_secrets", "at most 5 webhook secrets may be kept")
	}
	for param, base := range map[string]string{"api_base": s.APIBase, "connect_base": s.ConnectBase} {
		if base == "" {
			continue
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			return errs.Invalidf(param, "%s must be an http or https URL with no query", param)
		}
	}
	return nil
}

func (u StripeUpdate) apply(s *Stripe) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&s.SecretKey, u.SecretKey)
	set(&s.PublishableKey, u.PublishableKey)
	set(&s.ClientID, u.ClientID)
	set(&s.APIBase, u.APIBase)
	set(&s.ConnectBase, u.ConnectBase)
	if u.WebhookSecrets != nil {
		s.WebhookSecrets = append([]string(nil), (*u.WebhookSecrets)...)
	}
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// ErrStripeNotConfigured is the reason of the error Stripe returns for a
// platform with no Stripe settings.
const ErrStripeNotConfigured = "stripe_not_configured"

// Stripe returns the platform's Stripe settings, decrypted. The default
// platform's come from the configuration when it has any (see
// WithDefaultStripe). Returns errs.Conflict (reason stripe_not_configured)
// if the platform has none, and an internal error if its secrets cannot be
// opened with the master keys held.
func (s *Service) Stripe(ctx context.Context, platformID string) (*Stripe, error) {
	if s.defaultStripe != nil {
		p, err := s.Get(ctx, platformID)
		if err != nil {
			return nil, err
		}
		if p.IsDefault {
			c := *s.defaultStripe
			return &c, nil
		}
	}
	return s.storedStripe(ctx, s.db, platformID)
}

func (s *Service) storedStripe(ctx context.Context, q store.Querier, platformID string) (*Stripe, error) {
	var sealedKey, sealedHooks string
	st := &Stripe{Source: StripeFromDatabase}
	err := q.QueryRowContext(ctx, `SELECT secret_key_sealed, publishable_key, client_id, webhook_secrets_sealed, api_base, connect_base
		FROM platform_stripe WHERE platform_id = $1`, platformID).
		Scan(&sealedKey, &st.PublishableKey, &st.ClientID, &sealedHooks, &st.APIBase, &st.ConnectBase)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.Conflict, "This platform has no Stripe account configured: set one with POST /v1/platform/stripe.").WithReason(ErrStripeNotConfigured)
	}
	if err != nil {
		return nil, err
	}
	if s.keys == nil {
		return nil, errors.New("platform: Stripe settings are stored but no master key is configured")
	}
	if st.SecretKey, err = s.keys.Open(sealedKey, stripeWhere(platformID, "secret_key")); err != nil {
		return nil, fmt.Errorf("platform %s: open Stripe secret key: %w", platformID, err)
	}
	if sealedHooks != "" {
		hooks, err := s.keys.Open(sealedHooks, stripeWhere(platformID, "webhook_secrets"))
		if err != nil {
			return nil, fmt.Errorf("platform %s: open webhook secrets: %w", platformID, err)
		}
		if err := json.Unmarshal([]byte(hooks), &st.WebhookSecrets); err != nil {
			return nil, fmt.Errorf("platform %s: webhook secrets: %w", platformID, err)
		}
	}
	return st, nil
}

// stripeWhere binds a sealed value to its row and column, so a sealed
// value copied to another platform's row does not open.
func stripeWhere(platformID, column string) string {
	return "platform_stripe/" + platformID + "/" + column
}

// SetStripe validates and stores the platform's Stripe settings, sealing
// its secrets, with the request's answer when it has an Idempotency-Key.
// Returns errs.Invalid naming the field at fault (nothing
// changes), or errs.Conflict if the platform's settings come from the
// environment.
func (s *Service) SetStripe(ctx context.Context, platformID string, u StripeUpdate) (*Stripe, error) {
	if s.keys == nil {
		return nil, errs.E(errs.Conflict, "Tender has no master key to seal Stripe secrets with: set TENDER_MASTER_KEY.").WithReason("master_key_missing")
	}
	var out *Stripe
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		p, err := scanPlatform(tx.QueryRowContext(ctx, `SELECT `+platformCols+` FROM platforms WHERE id = $1`, platformID))
		if err != nil {
			return err
		}
		if p.IsDefault && s.defaultStripe != nil {
			return errs.E(errs.Conflict, "This platform's Stripe settings come from Tender's configuration (%s); change them there.", s.defaultStripe.Source).WithReason("stripe_configured_by_environment")
		}
		cur, err := s.storedStripe(ctx, tx, platformID)
		if errs.Is(err, errs.Conflict) {
			cur, err = &Stripe{Source: StripeFromDatabase}, nil
		}
		if err != nil {
			return err
		}
		u.apply(cur)
		if err := cur.validate(); err != nil {
			return err
		}
		if err := s.writeStripe(ctx, tx, platformID, cur); err != nil {
			return err
		}
		out = cur
		return idempotency.Commit(ctx, tx, cur.View())
	})
	return out, err
}

func (s *Service) writeStripe(ctx context.Context, tx *sql.Tx, platformID string, st *Stripe) error {
	var sealedHooks string
	if len(st.WebhookSecrets) > 0 {
		b, err := json.Marshal(st.WebhookSecrets)
		if err != nil {
			return err
		}
		sealedHooks = s.keys.Seal(string(b), stripeWhere(platformID, "webhook_secrets"))
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO platform_stripe
		(platform_id, secret_key_sealed, secret_key_hint, publishable_key, client_id, webhook_secrets_sealed, api_base, connect_base, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (platform_id) DO UPDATE SET secret_key_sealed = excluded.secret_key_sealed,
			secret_key_hint = excluded.secret_key_hint, publishable_key = excluded.publishable_key,
			client_id = excluded.client_id, webhook_secrets_sealed = excluded.webhook_secrets_sealed,
			api_base = excluded.api_base, connect_base = excluded.connect_base, updated_at = excluded.updated_at`,
		platformID, s.keys.Seal(st.SecretKey, stripeWhere(platformID, "secret_key")), st.SecretKeyHint(),
		st.PublishableKey, st.ClientID, sealedHooks, st.APIBase, st.ConnectBase, store.TimeOf(s.now()))
	if err != nil {
		return fmt.Errorf("store Stripe settings: %w", err)
	}
	return nil
}

// ResealStripe seals every stored Stripe secret again under the current
// master key, after a rotation, so the previous key can be retired. It
// returns how many platforms' settings it resealed.
func (s *Service) ResealStripe(ctx context.Context) (int, error) {
	if s.keys == nil {
		return 0, errors.New("platform: no master key configured")
	}
	n := 0
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT platform_id, secret_key_sealed, webhook_secrets_sealed FROM platform_stripe ORDER BY platform_id`)
		if err != nil {
			return err
		}
		type row struct{ id, key, hooks string }
		var stale []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.key, &r.hooks); err != nil {
				rows.Close()
				return err
			}
			if s.keys.NeedsReseal(r.key) || (r.hooks != "" && s.keys.NeedsReseal(r.hooks)) {
				stale = append(stale, r)
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, r := range stale {
			if err := s.resealRow(ctx, tx, r.id, r.key, r.hooks); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

func (s *Service) resealRow(ctx context.Context, tx *sql.Tx, platformID, key, hooks string) error {
	key, err := s.keys.Reseal(key, stripeWhere(platformID, "secret_key"))
	if err != nil {
		return fmt.Errorf("platform %s: %w", platformID, err)
	}
	if hooks != "" {
		if hooks, err = s.keys.Reseal(hooks, stripeWhere(platformID, "webhook_secrets")); err != nil {
			return fmt.Errorf("platform %s: %w", platformID, err)
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE platform_stripe SET secret_key_sealed = $2, webhook_secrets_sealed = $3 WHERE platform_id = $1`,
		platformID, key, hooks)
	return err
}

// Option configures a Service.
type Option func(*Service)

// WithKeys gives the Service the master keys that seal Stripe secrets.
// Without them, Stripe settings cannot be stored or read from the database.
func WithKeys(k *secret.Keyring) Option { return func(s *Service) { s.keys = k } }

// WithDefaultStripe gives the default platform Stripe settings from
// Tender's configuration (the environment, or the in-process emulator);
// they take precedence over the database and cannot be changed through
// the API.
func WithDefaultStripe(st *Stripe) Option {
	return func(s *Service) {
		if st != nil {
			c := *st
			s.defaultStripe = &c
		}
	}
}
