package webhooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/nullable"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/text"
)

// Status is whether an endpoint receives deliveries.
type Status string

// Endpoint statuses.
const (
	StatusEnabled  Status = "enabled"
	StatusDisabled Status = "disabled"
)

// DisabledReason says who or what disabled an endpoint.
type DisabledReason string

// Reasons an endpoint is disabled.
const (
	// DisabledByPlatform: the platform disabled it through the API.
	DisabledByPlatform DisabledReason = "platform"
	// DisabledGone: it answered 410 Gone.
	DisabledGone DisabledReason = "gone"
	// DisabledFailing: every delivery to it failed for DisableAfter.
	DisabledFailing DisabledReason = "failing"
)

// Scheme is how an endpoint's deliveries are signed.
type Scheme string

// Signature schemes of the Standard Webhooks spec.
const (
	// Symmetric: HMAC-SHA256 under a shared "whsec_" secret ("v1").
	Symmetric Scheme = "symmetric"
	// Asymmetric: ed25519 under a private key only Tender holds; the
	// platform verifies with its "whpk_" public key ("v1a").
	Asymmetric Scheme = "asymmetric"
)

func schemeOf(param string, v *string) (Scheme, error) {
	if v == nil {
		return "", nil
	}
	if s := Scheme(*v); s == Symmetric || s == Asymmetric {
		return s, nil
	}
	return "", errs.Invalidf(param, "%s must be \"symmetric\" or \"asymmetric\", not %q.", param, *v)
}

// Endpoint is a URL of a platform's that receives its events.
type Endpoint struct {
	ID             string
	PlatformID     string
	URL            string
	Description    string
	EnabledEvents  []string
	Status         Status
	DisabledReason DisabledReason
	Disabled       time.Time
	// Cursor is the sequence of the last event fanned out to it.
	Cursor int64
	// FailingSince is the first failure since its last success.
	FailingSince time.Time
	LastFailure  *Failure
	// PreviousExpires is when the rotated-out secret stops signing; zero
	// when there is none.
	PreviousExpires time.Time
	// PublicKey and PreviousPublicKey are the current and rotated-out
	// keys' public halves, for asymmetric ones.
	PublicKey, PreviousPublicKey string
	Created                      time.Time
	Updated                      time.Time

	// secret and previous are sealed; secretShown is the new secret in
	// clear, only on the answer to a create or a rotation.
	secret, previous string
	secretShown      string
}

// Failure is an endpoint's last failed attempt, carried by its view and by
// webhook_endpoint.disabled, so an alert says which event failed and how.
type Failure struct {
	Event     string     `json:"event"`
	EventType event.Type `json:"event_type"`
	Status    *int       `json:"status"`
	Error     *string    `json:"error"`
	At        time.Time  `json:"at"`
}

// EndpointParams creates or changes an endpoint. On update, absent fields
// keep their values.
type EndpointParams struct {
	URL           *string  `json:"url" text:"2048"`
	Description   *string  `json:"description" text:"1000,multiline"`
	EnabledEvents []string `json:"enabled_events" text:"64"`
	// Status enables or disables it (update only).
	Status *string `json:"status" text:"32"`
	// SignatureScheme is symmetric (the default) or asymmetric (create
	// only; a rotation changes it).
	SignatureScheme *string `json:"signature_scheme" text:"32"`
}

// MaxEnabledEvents bounds an endpoint's subscriptions.
const MaxEnabledEvents = 100

func (p EndpointParams) validate(allowPrivate, create bool) error {
	if err := text.Validate(p); err != nil {
		return err
	}
	if create && p.URL == nil {
		return errs.Missing("url")
	}
	if p.URL != nil {
		if err := CheckURL(*p.URL, allowPrivate); err != nil {
			return err
		}
	}
	if create && p.EnabledEvents == nil {
		return errs.Missing("enabled_events")
	}
	if p.EnabledEvents != nil && len(p.EnabledEvents) == 0 {
		return errs.Invalidf("enabled_events", "enabled_events needs at least one event type, or \"*\" for all.")
	}
	if len(p.EnabledEvents) > MaxEnabledEvents {
		return errs.Invalidf("enabled_events", "At most %d entries in enabled_events.", MaxEnabledEvents)
	}
	for i, pat := range p.EnabledEvents {
		if !event.ValidPattern(pat) {
			return errs.Invalidf(fmt.Sprintf("enabled_events[%d]", i),
				"%q is not an event type, a family such as \"payment.*\", or \"*\"; see the catalogue in the API document.", pat)
		}
	}
	if _, err := schemeOf("signature_scheme", p.SignatureScheme); err != nil {
		return err
	}
	if p.SignatureScheme != nil && !create {
		return errs.Invalidf("signature_scheme", "An endpoint's signature scheme changes with a rotation (POST …/rotate), which gives it new keys.")
	}
	if p.Status != nil {
		if create {
			return errs.Invalidf("status", "A new endpoint is enabled; disable it with an update.")
		}
		if s := Status(*p.Status); s != StatusEnabled && s != StatusDisabled {
			return errs.Invalidf("status", "status must be \"enabled\" or \"disabled\", not %q.", *p.Status)
		}
	}
	return nil
}

func (e *Endpoint) subscribes(t event.Type) bool {
	return slices.ContainsFunc(e.EnabledEvents, func(p string) bool { return event.Match(p, t) })
}

func where(platformID, endpointID, column string) string {
	return "webhook_endpoint/" + platformID + "/" + endpointID + "/" + column
}

// CreateEndpoint makes an enabled endpoint with a new signing secret, shown
// only in this answer (EndpointView.Secret). It receives events recorded
// from now on. Returns errs.Invalid naming the field for a bad url or
// event type, and errs.Conflict when the platform has MaxEndpoints.
func (s *Service) CreateEndpoint(ctx context.Context, platformID string, p EndpointParams) (*Endpoint, error) {
	if err := p.validate(s.allowPrivate, true); err != nil {
		return nil, err
	}
	scheme, _ := schemeOf("signature_scheme", p.SignatureScheme)
	plain, public, err := s.newSecret(scheme)
	if err != nil {
		return nil, err
	}
	now := store.TimeOf(s.now())
	e := &Endpoint{ID: id.For(ctx, EndpointPrefix), PlatformID: platformID, URL: *p.URL, EnabledEvents: dedupe(p.EnabledEvents),
		Status: StatusEnabled, Created: now.Time, Updated: now.Time, PublicKey: public}
	if public == "" {
		e.secretShown = plain
	}
	if p.Description != nil {
		e.Description = *p.Description
	}
	e.secret = s.keys.Seal(plain, where(platformID, e.ID, "secret"))
	// Events committed before now are numbered first, so that the cursor
	// below is above them all.
	if err := event.AwaitNumbered(ctx, s.db, platformID); err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_endpoints WHERE platform_id = $1`, platformID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxEndpoints {
			return errs.E(errs.Conflict, "A platform has at most %d webhook endpoints; delete one first.", MaxEndpoints).WithReason("too_many_endpoints")
		}
		// From now on: events already committed are not sent (recover
		// sends a range of them on request).
		if e.Cursor, err = event.Latest(ctx, tx, platformID); err != nil {
			return err
		}
		events, _ := json.Marshal(e.EnabledEvents)
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (platform_id, id, url, description, enabled_events, status,
			secret, public_key, cursor_seq, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
			platformID, e.ID, e.URL, e.Description, string(events), string(e.Status), e.secret, nullable.String(e.PublicKey), e.Cursor, now)
		if err != nil {
			return fmt.Errorf("insert webhook endpoint: %w", err)
		}
		return idempotency.Commit(ctx, tx, e.View())
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// newSecret makes a signing secret of scheme (symmetric when empty), and
// for an asymmetric one its public key, if there is a master key to seal
// the secret with (errs.Unavailable if not).
func (s *Service) newSecret(scheme Scheme) (secret, public string, err error) {
	if s.keys == nil {
		return "", "", errs.E(errs.Unavailable, "Tender has no master key to seal the signing secret with.")
	}
	if scheme == Asymmetric {
		return NewSigningKey()
	}
	secret, err = NewSecret()
	return secret, "", err
}

func dedupe(patterns []string) []string {
	out := slices.Clone(patterns)
	slices.Sort(out)
	return slices.Compact(out)
}

// Endpoint returns one of the platform's endpoints. Returns errs.NotFound
// if it has none by that id.
func (s *Service) Endpoint(ctx context.Context, platformID, endpointID string) (*Endpoint, error) {
	return getEndpoint(ctx, s.db, platformID, endpointID)
}

func getEndpoint(ctx context.Context, q store.Querier, platformID, endpointID string) (*Endpoint, error) {
	e, err := scanEndpoint(q.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM webhook_endpoints WHERE platform_id = $1 AND id = $2`,
		platformID, endpointID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("id", "No such webhook endpoint: '%s'.", endpointID)
	}
	return e, err
}

// Endpoints lists the platform's endpoints, newest first.
func (s *Service) Endpoints(ctx context.Context, platformID string, page store.Page) ([]*Endpoint, bool, error) {
	return store.List(ctx, s.db, page, scanEndpoint, `SELECT `+endpointCols+` FROM webhook_endpoints WHERE platform_id = $1`, platformID)
}

// UpdateEndpoint changes an endpoint. Enabling a disabled endpoint sends
// what waited for it at once: its pending deliveries, then the events
// recorded since it stopped. Returns errs.NotFound, or errs.Invalid naming
// the field.
func (s *Service) UpdateEndpoint(ctx context.Context, platformID, endpointID string, p EndpointParams) (*Endpoint, error) {
	if err := p.validate(s.allowPrivate, false); err != nil {
		return nil, err
	}
	now := store.TimeOf(s.now())
	return s.changeEndpoint(ctx, platformID, endpointID, func(tx *sql.Tx, e *Endpoint) error {
		enable := p.Status != nil && Status(*p.Status) == StatusEnabled && e.Status == StatusDisabled
		p.applyTo(e, now.Time)
		events, _ := json.Marshal(e.EnabledEvents)
		_, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET url = $3, description = $4, enabled_events = $5, status = $6,
			disabled_reason = $7, disabled_at = $8, failing_since = $9, updated_at = $10 WHERE platform_id = $1 AND id = $2`,
			platformID, e.ID, e.URL, e.Description, string(events), string(e.Status), nullable.String(string(e.DisabledReason)),
			store.TimeOf(e.Disabled), store.TimeOf(e.FailingSince), now)
		if err != nil {
			return fmt.Errorf("update webhook endpoint: %w", err)
		}
		if enable {
			return s.resume(ctx, tx, e, now.Time)
		}
		return nil
	})
}

// changeEndpoint runs change on the endpoint as read under its row's lock,
// so that a concurrent change (another request, a sender disabling it) is
// neither lost nor undone by a write from an older read, and commits the
// answer (the endpoint's view) with it. Returns errs.NotFound.
func (s *Service) changeEndpoint(ctx context.Context, platformID, endpointID string, change func(tx *sql.Tx, e *Endpoint) error) (*Endpoint, error) {
	var e *Endpoint
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if e, err = lockEndpoint(ctx, tx, platformID, endpointID); err != nil {
			return err
		}
		if err := change(tx, e); err != nil {
			return err
		}
		return idempotency.Commit(ctx, tx, e.View())
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// lockEndpoint reads an endpoint after a write that changes nothing, which
// holds the row's lock until tx ends on PostgreSQL (as SELECT … FOR UPDATE,
// which SQLite lacks) and makes tx the writer on SQLite.
func lockEndpoint(ctx context.Context, tx *sql.Tx, platformID, endpointID string) (*Endpoint, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET updated_at = updated_at WHERE platform_id = $1 AND id = $2`,
		platformID, endpointID); err != nil {
		return nil, err
	}
	return getEndpoint(ctx, tx, platformID, endpointID)
}

func (p EndpointParams) applyTo(e *Endpoint, now time.Time) {
	if p.URL != nil {
		e.URL = *p.URL
	}
	if p.Description != nil {
		e.Description = *p.Description
	}
	if p.EnabledEvents != nil {
		e.EnabledEvents = dedupe(p.EnabledEvents)
	}
	if p.Status != nil && Status(*p.Status) != e.Status {
		e.Status = Status(*p.Status)
		e.DisabledReason, e.Disabled = "", time.Time{}
		if e.Status == StatusDisabled {
			e.DisabledReason, e.Disabled = DisabledByPlatform, now
		} else {
			// A fresh start: the failures before it was disabled do not
			// count towards disabling it again.
			e.FailingSince = time.Time{}
		}
	}
	e.Updated = now
}

// DeleteEndpoint removes an endpoint with its deliveries and attempts.
// Returns errs.NotFound.
func (s *Service) DeleteEndpoint(ctx context.Context, platformID, endpointID string) (*Endpoint, error) {
	var e *Endpoint
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if e, err = getEndpoint(ctx, tx, platformID, endpointID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE platform_id = $1 AND id = $2`, platformID, endpointID)
		return err
	})
	return e, err
}

// MaxRotationOverlap bounds how long a rotated-out secret may keep signing.
const MaxRotationOverlap = 7 * 24 * time.Hour

// RotateSecret gives the endpoint a new signing secret of scheme (empty:
// the one it has), shown only in this answer when symmetric (an asymmetric
// one shows its public key, always). The old one keeps signing beside it
// for overlap (0 ends it at once), so a receiver can switch over, even from
// one scheme to the other, without refusing a delivery; a secret rotated
// out earlier and still in its overlap stops now. Returns errs.NotFound,
// or errs.Invalid naming expires_in or signature_scheme.
func (s *Service) RotateSecret(ctx context.Context, platformID, endpointID string, overlap time.Duration, scheme Scheme) (*Endpoint, error) {
	if overlap < 0 || overlap > MaxRotationOverlap {
		return nil, errs.Invalidf("expires_in", "expires_in is seconds from 0 to %d.", int(MaxRotationOverlap.Seconds()))
	}
	if scheme != "" {
		if _, err := schemeOf("signature_scheme", (*string)(&scheme)); err != nil {
			return nil, err
		}
	}
	now := store.TimeOf(s.now())
	return s.changeEndpoint(ctx, platformID, endpointID, func(tx *sql.Tx, e *Endpoint) error {
		if scheme == "" {
			scheme = e.Scheme()
		}
		plain, public, err := s.newSecret(scheme)
		if err != nil {
			return err
		}
		old, err := s.keys.Open(e.secret, where(platformID, e.ID, "secret"))
		if err != nil {
			return fmt.Errorf("open secret of %s: %w", e.ID, err)
		}
		e.previous, e.PreviousExpires, e.PreviousPublicKey = "", time.Time{}, ""
		if overlap > 0 {
			e.previous, e.PreviousExpires = s.keys.Seal(old, where(platformID, e.ID, "previous_secret")), now.Time.Add(overlap)
			e.PreviousPublicKey = e.PublicKey
		}
		e.secret, e.PublicKey, e.secretShown, e.Updated = s.keys.Seal(plain, where(platformID, e.ID, "secret")), public, "", now.Time
		if public == "" {
			e.secretShown = plain
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET secret = $3, public_key = $4, previous_secret = $5,
			previous_public_key = $6, previous_secret_expires_at = $7, updated_at = $8 WHERE platform_id = $1 AND id = $2`,
			platformID, e.ID, e.secret, nullable.String(e.PublicKey), nullable.String(e.previous), nullable.String(e.PreviousPublicKey),
			store.TimeOf(e.PreviousExpires), now)
		return err
	})
}

// signingSecrets returns the secrets that sign a delivery at now: the
// current one, and the previous one while its overlap lasts.
func (s *Service) signingSecrets(e *Endpoint, now time.Time) ([]string, error) {
	if s.keys == nil {
		return nil, errors.New("webhooks: no master key to open signing secrets with")
	}
	sealed := []string{e.secret}
	places := []string{"secret"}
	if e.previous != "" && now.Before(e.PreviousExpires) {
		sealed, places = append(sealed, e.previous), append(places, "previous_secret")
	}
	var secrets []string
	for i, v := range sealed {
		plain, err := s.keys.Open(v, where(e.PlatformID, e.ID, places[i]))
		if err != nil {
			return nil, fmt.Errorf("open %s of %s: %w", places[i], e.ID, err)
		}
		secrets = append(secrets, plain)
	}
	return secrets, nil
}

// Scheme says how e signs now.
func (e *Endpoint) Scheme() Scheme {
	if e.PublicKey != "" {
		return Asymmetric
	}
	return Symmetric
}

const endpointCols = `platform_id, id, url, description, enabled_events, status, disabled_reason, disabled_at, secret,
	public_key, previous_secret, previous_public_key, previous_secret_expires_at, cursor_seq, failing_since, last_failure,
	created_at, updated_at`

func scanEndpoint(row store.Scanner) (*Endpoint, error) {
	var e Endpoint
	var events, status string
	var reason, previous, failure, public, previousPublic sql.NullString
	var disabled, prevExpires, failing store.Time
	var created, updated store.Time
	err := row.Scan(&e.PlatformID, &e.ID, &e.URL, &e.Description, &events, &status, &reason, &disabled, &e.secret,
		&public, &previous, &previousPublic, &prevExpires, &e.Cursor, &failing, &failure, &created, &updated)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &e.EnabledEvents); err != nil {
		return nil, fmt.Errorf("enabled_events of %s: %w", e.ID, err)
	}
	if failure.Valid {
		e.LastFailure = new(Failure)
		if err := json.Unmarshal([]byte(failure.String), e.LastFailure); err != nil {
			return nil, fmt.Errorf("last_failure of %s: %w", e.ID, err)
		}
	}
	e.Status, e.DisabledReason, e.previous = Status(status), DisabledReason(reason.String), previous.String
	e.PublicKey, e.PreviousPublicKey = public.String, previousPublic.String
	e.Disabled, e.PreviousExpires, e.FailingSince = disabled.Time, prevExpires.Time, failing.Time
	e.Created, e.Updated = created.Time, updated.Time
	return &e, nil
}

// EndpointView is an endpoint as the API shows it, and as the data of its
// events.
type EndpointView struct {
	ID              string     `json:"id"`
	Object          string     `json:"object"`
	URL             string     `json:"url"`
	Description     string     `json:"description"`
	EnabledEvents   []string   `json:"enabled_events"`
	Status          Status     `json:"status"`
	DisabledReason  *string    `json:"disabled_reason"`
	DisabledAt      *time.Time `json:"disabled_at"`
	FailingSince    *time.Time `json:"failing_since"`
	LastFailure     *Failure   `json:"last_failure"`
	SignatureScheme Scheme     `json:"signature_scheme"`
	// Secret is the symmetric signing secret, only in the answer that made
	// it; PublicKey an asymmetric one's public key, always.
	Secret                  string     `json:"secret,omitempty"`
	PublicKey               *string    `json:"public_key"`
	PreviousPublicKey       *string    `json:"previous_public_key"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

// View returns e as the API shows it.
func (e *Endpoint) View() EndpointView {
	return EndpointView{ID: e.ID, Object: "webhook_endpoint", URL: e.URL, Description: e.Description,
		EnabledEvents: e.EnabledEvents, Status: e.Status, DisabledReason: nullable.String(string(e.DisabledReason)),
		DisabledAt: nullable.Time(e.Disabled), FailingSince: nullable.Time(e.FailingSince), LastFailure: e.LastFailure,
		SignatureScheme: e.Scheme(), Secret: e.secretShown, PublicKey: nullable.String(e.PublicKey),
		PreviousPublicKey: nullable.String(e.PreviousPublicKey), PreviousSecretExpiresAt: nullable.Time(e.PreviousExpires),
		CreatedAt: e.Created, UpdatedAt: e.Updated}
}

// errText shortens a transport error for the attempts log and the
// endpoint's last failure: the URL's query is the platform's, and the
// message is for people.
func errText(err error) string {
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	return printable(msg)
}

// printable makes a receiver's bytes storable text: valid UTF-8 without NUL,
// which PostgreSQL refuses in a text column.
func printable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
