package stripeevents

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
)

// Endpoint is one of Tender's webhook endpoints at Stripe. Its signing
// secret is never shown.
type Endpoint struct {
	ID            string     `json:"id"`
	Object        string     `json:"object"`
	Scope         Scope      `json:"scope"`
	StripeID      string     `json:"stripe_id"`
	URL           string     `json:"url"`
	EnabledEvents []string   `json:"enabled_events"`
	Status        string     `json:"status"`
	ExpiresAt     *time.Time `json:"expires_at"`
	Created       time.Time  `json:"created_at"`
	secret        string
}

// Endpoint statuses: the current one of its scope; replaced by a roll and
// verifying until it expires; retired (deleted at Stripe, secret dropped).
const (
	endpointActive   = "active"
	endpointExpiring = "expiring"
	endpointRetired  = "retired"
)

// DefaultOverlap is how long a rolled secret keeps verifying: Stripe's
// Dashboard offers up to 24 hours for a rolled secret too.
const DefaultOverlap = 24 * time.Hour

// MaxOverlap bounds a roll's overlap.
const MaxOverlap = 7 * 24 * time.Hour

// endpointSecrets are what verifies one endpoint's deliveries, cached.
type endpointSecrets struct {
	livemode bool
	secrets  []string
	expires  []time.Time // zero: never
}

// valid returns the secrets that verify at now: a rolled one until its
// expiry.
func (es *endpointSecrets) valid(now time.Time) []string {
	out := make([]string, 0, len(es.secrets))
	for i, s := range es.secrets {
		if es.expires[i].IsZero() || now.Before(es.expires[i]) {
			out = append(out, s)
		}
	}
	return out
}

type endpointKey struct {
	platformID string
	scope      Scope
}

// secretsFor returns the secrets of a platform's endpoint of a scope: those
// of Tender's endpoints at Stripe, and any set by hand in the platform's
// Stripe settings (webhook_secrets, for endpoints made in Stripe's
// Dashboard), which verify either scope. They are read once and cached;
// fresh reads them again.
func (s *Service) secretsFor(ctx context.Context, platformID string, scope Scope, fresh bool) (*endpointSecrets, error) {
	k := endpointKey{platformID, scope}
	if v, ok := s.secrets.Load(k); ok && !fresh {
		return v.(*endpointSecrets), nil
	}
	st, err := s.platforms.Stripe(ctx, platformID)
	if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid) {
		return nil, errs.NotFoundf("", "No such endpoint.")
	}
	if err != nil {
		return nil, err
	}
	es := &endpointSecrets{livemode: st.Livemode()}
	for _, sec := range st.WebhookSecrets {
		es.secrets, es.expires = append(es.secrets, sec), append(es.expires, time.Time{})
	}
	eps, err := s.endpoints(ctx, s.db, platformID, `AND scope = $2 AND status <> $3`, string(scope), endpointRetired)
	if err != nil {
		return nil, err
	}
	for _, e := range eps {
		var exp time.Time
		if e.ExpiresAt != nil {
			exp = *e.ExpiresAt
		}
		es.secrets, es.expires = append(es.secrets, e.secret), append(es.expires, exp)
	}
	s.secrets.Store(k, es)
	return es, nil
}

const endpointCols = `id, scope, stripe_id, url, enabled_events, secret, status, expires_at, created_at`

func (s *Service) endpoints(ctx context.Context, q store.Querier, platformID, where string, args ...any) ([]*Endpoint, error) {
	return store.All(ctx, q, func(sc store.Scanner) (*Endpoint, error) {
		e := &Endpoint{Object: "stripe_webhook_endpoint"}
		var events, sealed string
		var expires store.Time
		var created store.Time
		if err := sc.Scan(&e.ID, &e.Scope, &e.StripeID, &e.URL, &events, &sealed, &e.Status, &expires, &created); err != nil {
			return nil, err
		}
		e.ExpiresAt, e.Created = expires.Ptr(), created.Time
		if err := json.Unmarshal([]byte(events), &e.EnabledEvents); err != nil {
			return nil, err
		}
		if sealed != "" {
			sec, err := s.keys.Open(sealed, endpointWhere(platformID, e.ID))
			if err != nil {
				return nil, fmt.Errorf("stripe webhook endpoint %s: open secret: %w", e.ID, err)
			}
			e.secret = sec
		}
		return e, nil
	}, `SELECT `+endpointCols+` FROM stripe_webhook_endpoints WHERE platform_id = $1 `+where+` ORDER BY created_at DESC, id DESC`,
		append([]any{platformID}, args...)...)
}

// endpointWhere binds a sealed secret to its row.
func endpointWhere(platformID, endpointID string) string {
	return "stripe_webhook_endpoints/" + platformID + "/" + endpointID
}

// Endpoints lists the platform's endpoints at Stripe, newest first,
// retired ones included.
func (s *Service) Endpoints(ctx context.Context, platformID string) (*EndpointList, error) {
	eps, err := s.endpoints(ctx, s.db, platformID, "")
	if err != nil {
		return nil, err
	}
	return listOf(eps), nil
}

// Setup makes sure the platform has both its endpoints at Stripe, at
// Tender's URL, subscribed to exactly the event types Tender handles; their
// secrets are stored sealed. Running it again changes nothing that is
// right: an endpoint deleted at Stripe is made again, one whose URL or
// types differ is updated. It also deletes endpoints at Stripe that Tender
// made for this platform but holds no secret of (a run cut short after
// Stripe made one, past Stripe's 24 hours of idempotency).
func (s *Service) Setup(ctx context.Context, platformID string) (*EndpointList, error) {
	sc, err := s.client(ctx, platformID)
	if err != nil {
		return nil, err
	}
	for _, scope := range Scopes {
		if err := s.ensure(ctx, sc, platformID, scope); err != nil {
			return nil, err
		}
	}
	if err := s.deleteOrphans(ctx, sc, platformID); err != nil {
		return nil, err
	}
	return s.Endpoints(ctx, platformID)
}

func (s *Service) client(ctx context.Context, platformID string) (*stripe.Client, error) {
	if s.keys == nil {
		return nil, errs.E(errs.Conflict, "Tender has no master key to seal webhook secrets with: set TENDER_MASTER_KEY.").WithReason("master_key_missing")
	}
	if s.publicURL == "" {
		return nil, errs.E(errs.Conflict, "Tender has no public URL for Stripe to reach: set TENDER_PUBLIC_URL.").WithReason("public_url_missing")
	}
	c, err := s.stripe.Client(ctx, platformID)
	if err != nil {
		return nil, err
	}
	return c.Stripe(), nil
}

// ensure makes the scope's active endpoint right at Stripe, or a new one.
func (s *Service) ensure(ctx context.Context, sc *stripe.Client, platformID string, scope Scope) error {
	active, err := s.endpoints(ctx, s.db, platformID, `AND scope = $2 AND status = $3`, string(scope), endpointActive)
	if err != nil {
		return err
	}
	url, types := s.publicURL+Path(platformID, scope), HandledTypes()
	for _, e := range active {
		we, err := sc.V1WebhookEndpoints.Retrieve(ctx, e.StripeID, nil)
		if stripeapi.Classify(err).Kind == stripeapi.KindNotFound {
			if err := s.setStatus(ctx, platformID, e.ID, endpointRetired); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return stripeapi.AsError(err)
		}
		if we.URL == url && slices.Equal(sorted(we.EnabledEvents), types) && we.Status == "enabled" {
			return nil
		}
		return s.update(ctx, sc, platformID, e, url, types)
	}
	return s.create(ctx, sc, platformID, scope)
}

func sorted(ss []string) []string {
	c := slices.Clone(ss)
	slices.Sort(c)
	return c
}

func (s *Service) update(ctx context.Context, sc *stripe.Client, platformID string, e *Endpoint, url string, types []string) error {
	params := &stripe.WebhookEndpointUpdateParams{URL: stripe.String(url), EnabledEvents: stripe.StringSlice(types),
		Disabled: stripe.Bool(false)}
	if _, err := sc.V1WebhookEndpoints.Update(ctx, e.StripeID, params); err != nil {
		return stripeapi.AsError(err)
	}
	events, _ := json.Marshal(types)
	_, err := s.db.ExecContext(ctx, `UPDATE stripe_webhook_endpoints SET url = $3, enabled_events = $4, updated_at = $5
		WHERE platform_id = $1 AND id = $2`, platformID, e.ID, url, string(events), store.TimeOf(s.now()))
	return err
}

// made is an endpoint Stripe made, with its secret, not stored yet.
type made struct {
	endpoint *Endpoint
	secret   string
}

// create makes an endpoint at Stripe and stores it with its secret.
func (s *Service) create(ctx context.Context, sc *stripe.Client, platformID string, scope Scope) error {
	m, err := s.makeAtStripe(ctx, sc, platformID, scope)
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error { return s.insert(ctx, tx, platformID, m) })
	s.secrets.Delete(endpointKey{platformID, scope})
	return err
}

// makeAtStripe makes an endpoint at Stripe at Tender's URL for the scope.
// Its idempotency key and metadata are derived from how many endpoints the
// scope has had: a run cut short between Stripe's answer and the insert
// gets the same endpoint, secret included, when run again within Stripe's
// 24 hours; two runs at once insert it once (stripe_id is unique).
func (s *Service) makeAtStripe(ctx context.Context, sc *stripe.Client, platformID string, scope Scope) (*made, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM stripe_webhook_endpoints WHERE platform_id = $1 AND scope = $2`,
		platformID, string(scope)).Scan(&n); err != nil {
		return nil, err
	}
	url, types := s.publicURL+Path(platformID, scope), HandledTypes()
	generation := strconv.Itoa(n + 1)
	params := &stripe.WebhookEndpointCreateParams{
		URL: stripe.String(url), EnabledEvents: stripe.StringSlice(types), APIVersion: stripe.String(stripe.APIVersion),
		Connect:     stripe.Bool(scope == ScopeConnect),
		Description: stripe.String("Tender: " + describe(scope)),
		Metadata:    map[string]string{"tender_platform": platformID, "tender_scope": string(scope), "tender_generation": generation},
	}
	params.SetIdempotencyKey("tender-webhook-endpoint-" + platformID + "-" + string(scope) + "-" + generation)
	we, err := sc.V1WebhookEndpoints.Create(ctx, params)
	if err != nil {
		return nil, stripeapi.AsError(err)
	}
	if we.Secret == "" {
		return nil, fmt.Errorf("stripe webhook endpoint %s: Stripe returned no secret", we.ID)
	}
	e := &Endpoint{ID: id.New(EndpointPrefix), Object: "stripe_webhook_endpoint", Scope: scope, StripeID: we.ID, URL: url,
		EnabledEvents: types, Status: endpointActive, Created: s.now()}
	return &made{endpoint: e, secret: we.Secret}, nil
}

func (s *Service) insert(ctx context.Context, tx *sql.Tx, platformID string, m *made) error {
	e := m.endpoint
	events, _ := json.Marshal(e.EnabledEvents)
	_, err := tx.ExecContext(ctx, `INSERT INTO stripe_webhook_endpoints (platform_id, id, scope, stripe_id, url, enabled_events,
		secret, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
		ON CONFLICT (platform_id, stripe_id) DO NOTHING`,
		platformID, e.ID, string(e.Scope), e.StripeID, e.URL, string(events), s.keys.Seal(m.secret, endpointWhere(platformID, e.ID)),
		endpointActive, store.TimeOf(e.Created))
	if err != nil {
		return fmt.Errorf("store stripe webhook endpoint: %w", err)
	}
	return nil
}

func describe(scope Scope) string {
	if scope == ScopeConnect {
		return "the platform's connected accounts' events"
	}
	return "the platform account's own events"
}

func (s *Service) setStatus(ctx context.Context, platformID, endpointID, status string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE stripe_webhook_endpoints SET status = $3, secret = CASE WHEN $3 = 'retired' THEN '' ELSE secret END,
		updated_at = $4 WHERE platform_id = $1 AND id = $2`, platformID, endpointID, status, store.TimeOf(s.now()))
	if err == nil {
		s.secrets.Clear()
	}
	return err
}

// deleteOrphans deletes endpoints at Stripe that carry this platform's
// Tender metadata but have no row: Tender cannot verify what they send.
func (s *Service) deleteOrphans(ctx context.Context, sc *stripe.Client, platformID string) error {
	known, err := s.endpoints(ctx, s.db, platformID, "")
	if err != nil {
		return err
	}
	for we, err := range sc.V1WebhookEndpoints.List(ctx, &stripe.WebhookEndpointListParams{}).All(ctx) {
		if err != nil {
			return stripeapi.AsError(err)
		}
		if we.Metadata["tender_platform"] != platformID || slices.ContainsFunc(known, func(e *Endpoint) bool { return e.StripeID == we.ID }) {
			continue
		}
		if _, err := sc.V1WebhookEndpoints.Delete(ctx, we.ID, nil); err != nil && stripeapi.Classify(err).Kind != stripeapi.KindNotFound {
			return stripeapi.AsError(err)
		}
		s.log.Info("deleted a webhook endpoint Tender holds no secret of", "platform", platformID, "stripe_id", we.ID)
	}
	return nil
}

// Roll gives both endpoints new secrets: it makes new endpoints at Stripe
// (Stripe's API cannot roll an endpoint's secret) and keeps the old ones
// verifying for overlap, after which RetireExpired deletes them at Stripe.
// While both exist Stripe delivers each event to both; the inbox keeps it
// once. The new endpoints, the old ones' expiry and the request's answer
// commit together: a roll cut short before is made again with the same
// endpoints at Stripe (see makeAtStripe), one cut short after is
// answered again, not rolled twice.
func (s *Service) Roll(ctx context.Context, platformID string, overlap time.Duration) (*EndpointList, error) {
	if overlap < 0 || overlap > MaxOverlap {
		return nil, errs.Invalidf("expires_in", "expires_in must be between 0 and %d seconds.", int(MaxOverlap/time.Second))
	}
	sc, err := s.client(ctx, platformID)
	if err != nil {
		return nil, err
	}
	var news []*made
	for _, scope := range Scopes {
		old, err := s.endpoints(ctx, s.db, platformID, `AND scope = $2 AND status = $3`, string(scope), endpointActive)
		if err != nil {
			return nil, err
		}
		if len(old) == 0 {
			return nil, errs.E(errs.Conflict, "This platform has no %s endpoint at Stripe to roll: set them up first.", scope).WithReason("webhook_endpoints_missing")
		}
		m, err := s.makeAtStripe(ctx, sc, platformID, scope)
		if err != nil {
			return nil, err
		}
		news = append(news, m)
	}
	var out *EndpointList
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		now := store.TimeOf(s.now())
		for _, m := range news {
			if err := s.insert(ctx, tx, platformID, m); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE stripe_webhook_endpoints SET status = $3, expires_at = $4, updated_at = $5
				WHERE platform_id = $1 AND scope = $2 AND status = 'active' AND stripe_id <> $6`,
				platformID, string(m.endpoint.Scope), endpointExpiring, store.TimeOf(now.Add(overlap)), now, m.endpoint.StripeID)
			if err != nil {
				return err
			}
		}
		eps, err := s.endpoints(ctx, tx, platformID, "")
		if err != nil {
			return err
		}
		out = listOf(eps)
		return idempotency.Commit(ctx, tx, out)
	})
	s.secrets.Clear()
	return out, err
}

// EndpointList is the API's list of a platform's endpoints at Stripe.
type EndpointList struct {
	Object  string      `json:"object"`
	URL     string      `json:"url"`
	HasMore bool        `json:"has_more"`
	Data    []*Endpoint `json:"data"`
}

func listOf(eps []*Endpoint) *EndpointList {
	if eps == nil {
		eps = []*Endpoint{}
	}
	return &EndpointList{Object: "list", URL: "/v1/platform/stripe/webhook_endpoints", Data: eps}
}

// RetireExpired deletes at Stripe the endpoints whose overlap after a roll
// has ended, and drops their secrets. Their secrets stopped verifying at
// expiry whether or not this has run.
func (s *Service) RetireExpired(ctx context.Context) (int, error) {
	type due struct{ platformID, id, stripeID string }
	rows, err := store.All(ctx, s.db, func(sc store.Scanner) (due, error) {
		var d due
		return d, sc.Scan(&d.platformID, &d.id, &d.stripeID)
	}, `SELECT platform_id, id, stripe_id FROM stripe_webhook_endpoints WHERE status = $1 AND expires_at <= $2`,
		endpointExpiring, store.TimeOf(s.now()))
	if err != nil {
		return 0, err
	}
	var errsSeen []error
	n := 0
	for _, d := range rows {
		c, err := s.stripe.Client(ctx, d.platformID)
		if err == nil {
			_, err = c.Stripe().V1WebhookEndpoints.Delete(ctx, d.stripeID, nil)
			if stripeapi.Classify(err).Kind == stripeapi.KindNotFound {
				err = nil
			}
		}
		if err == nil {
			err = s.setStatus(ctx, d.platformID, d.id, endpointRetired)
		}
		if err != nil {
			errsSeen = append(errsSeen, fmt.Errorf("retire stripe webhook endpoint %s: %w", d.id, err))
			continue
		}
		n++
	}
	return n, errors.Join(errsSeen...)
}
