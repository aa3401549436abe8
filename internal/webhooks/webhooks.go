// Package webhooks delivers Tender's events to the platforms' webhook
// endpoints, signed per the Standard Webhooks spec, retried until they are
// delivered or their retries run out, and never dropped.
//
// The events table (package event) is the outbox. Delivery reads it in
// three steps, each safe to repeat and to run on several nodes at once:
//
//   - Fan-out (Run, every PollInterval): for each enabled endpoint whose
//     cursor is behind its platform's latest event, write a delivery for
//     each newer event it subscribes to and move the cursor, in one
//     transaction, with a drain job for the endpoint. Two nodes that fan out the same events race on
//     the cursor; the loser rolls back.
//   - Drain (DrainWorker, on the job queue): up to MaxInFlight senders take
//     the endpoint's heads, each object's oldest pending delivery, one at a
//     time under a lease, so per endpoint and object a newer event is never
//     sent before an older one has succeeded or exhausted its retries.
//   - Sweep (Run, every SweepEvery): start a drain for every endpoint with
//     a head that is due and not leased: retries whose time has come, and
//     heads a dead sender held.
//
// Endpoints are disabled by the platform, by a 410 Gone, or after failing
// everything for DisableAfter; their deliveries and their place in the
// feed wait for them to be enabled again.
package webhooks

import (
	"log/slog"
	"sync"
	"time"

	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/jobs"
	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/store"
)

// EndpointPrefix and AttemptPrefix are the id prefixes of endpoints and of
// delivery attempts.
const (
	EndpointPrefix = "we"
	AttemptPrefix  = "wha"
)

// EventEndpointDisabled is recorded when an endpoint is disabled by
// Tender (410 Gone, or failing for DisableAfter), not by the platform.
const EventEndpointDisabled event.Type = "webhook_endpoint.disabled"

// Defaults of Config.
const (
	// DefaultTimeout is how long one delivery may take, as Standard
	// Webhooks recommends (15 s).
	DefaultTimeout = 15 * time.Second
	// DefaultDisableAfter is how long an endpoint may fail everything
	// before it is disabled.
	DefaultDisableAfter = 5 * 24 * time.Hour
	// DefaultRotationOverlap is how long a rotated-out secret still signs.
	DefaultRotationOverlap = 24 * time.Hour
	// DefaultMaxInFlight bounds the deliveries one node sends to one
	// endpoint at once.
	DefaultMaxInFlight = 8
	// DefaultPollInterval is how often a node looks for new events to
	// fan out.
	DefaultPollInterval = 250 * time.Millisecond
	// SweepEvery is how often a node looks for due retries and heads left
	// by a dead sender: about River's own scheduler's pace (5 s), which
	// would otherwise be the resolution of a scheduled retry.
	SweepEvery = 5 * time.Second
	// MaxEndpoints bounds a platform's endpoints, as Stripe's 16.
	MaxEndpoints = 16
)

// Schedule is how long to wait after each failed attempt before the next:
// the first attempt is immediate, and Svix's schedule (5 s, 5 min, 30 min,
// 2 h, 5 h, 10 h, 10 h) is extended by 12 h, 12 h and 24 h so that the
// retries of one event span three days (75 h 35 min). Each wait gets ±10 %
// jitter, so that an endpoint that comes back is not hit by every retry in
// the same second. After the last, the delivery has failed.
var Schedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 10 * time.Hour, 12 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// Config is what the Service needs.
type Config struct {
	DB       *store.DB
	Keys     *secret.Keyring
	JobsFunc func() *jobs.Client
	NowFunc  func() time.Time
	Logger   *slog.Logger
	// AllowPrivate lets endpoints be on loopback and private addresses, and
	// on plain http at loopback (TENDER_WEBHOOK_ALLOW_PRIVATE): for tests
	// and local development, never for a Tender that platforms share.
	AllowPrivate bool
	// Zero values take the defaults above.
	Timeout      time.Duration
	DisableAfter time.Duration
	MaxInFlight  int
	PollInterval time.Duration
	// Schedule replaces the package's Schedule (tests shorten it).
	Schedule []time.Duration
}

// Service manages endpoints and delivers events to them.
type Service struct {
	db           *store.DB
	keys         *secret.Keyring
	jobs         func() *jobs.Client
	now          func() time.Time
	log          *slog.Logger
	allowPrivate bool
	sender       *Sender
	timeout      time.Duration
	disableAfter time.Duration
	maxInFlight  int
	poll         time.Duration
	schedule     []time.Duration
	events       *event.Store

	mu       sync.Mutex
	inFlight map[string]int
}

// NewService returns a Service from cfg.
func NewService(cfg Config) *Service {
	s := &Service{
		db: cfg.DB, keys: cfg.Keys, jobs: cfg.JobsFunc, now: cfg.NowFunc, log: cfg.Logger,
		allowPrivate: cfg.AllowPrivate, disableAfter: cfg.DisableAfter, maxInFlight: cfg.MaxInFlight,
		poll: cfg.PollInterval, schedule: cfg.Schedule, events: event.NewStore(cfg.DB), inFlight: map[string]int{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if s.disableAfter <= 0 {
		s.disableAfter = DefaultDisableAfter
	}
	if s.maxInFlight <= 0 {
		s.maxInFlight = DefaultMaxInFlight
	}
	if s.poll <= 0 {
		s.poll = DefaultPollInterval
	}
	if s.schedule == nil {
		s.schedule = Schedule
	}
	s.timeout = cfg.Timeout
	s.sender = NewSender(cfg.Timeout, cfg.AllowPrivate)
	return s
}
