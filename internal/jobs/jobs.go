// Package jobs runs Tender's background work on River, on either database:
// riversqlite for SQLite and riverdatabasesql for PostgreSQL, behind one
// river.Client[*sql.Tx]. Jobs are inserted with InsertTx inside the caller's
// transaction, so a row and the job that acts on it commit together or not at
// all. Workers are registered in one place, internal/app, each kind with the
// time one run of it may take (Add); rescue.go sets how soon River runs again
// a job whose process died.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/store"
)

// Client is River's client over database/sql transactions.
type Client = river.Client[*sql.Tx]

// QueueWebhooks is the queue of webhook deliveries.
const QueueWebhooks = "webhooks"

// Config tunes job processing.
type Config struct {
	// Workers is how many jobs run at once (default 10).
	Workers int
	// WebhookWorkers is how many webhook deliveries run at once, on their
	// own queue (QueueWebhooks), so that endpoints that are slow to answer
	// never take the workers payments need (default 10).
	WebhookWorkers int
	// PollInterval is how often idle workers look for new jobs (default
	// 500ms). Neither database/sql driver supports LISTEN, so this bounds
	// how soon a job inserted by another process starts.
	PollInterval time.Duration
	Logger       *slog.Logger
}

func driver(db *store.DB) riverdriver.Driver[*sql.Tx] {
	if db.Dialect == store.Postgres {
		return riverdatabasesql.New(db.DB)
	}
	return riversqlite.New(db.DB)
}

// New returns a River client for db that runs the given workers and periodic
// jobs. It does not start it. It returns EINVALID if a kind's timeout leaves
// less than RescueMargin before RescueAfter: a live run of it could then be
// rescued and run twice at once.
func New(db *store.DB, cfg Config, workers *Workers, periodic []*river.PeriodicJob) (*Client, error) {
	if workers.longest+RescueMargin > RescueAfter {
		return nil, errs.E(errs.Invalid, "jobs: a timeout of %s leaves less than %s before the rescue at %s", workers.longest, RescueMargin, RescueAfter)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 10
	}
	if cfg.WebhookWorkers <= 0 {
		cfg.WebhookWorkers = 10
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 500 * time.Millisecond
	}
	logger := slog.New(slog.DiscardHandler)
	if cfg.Logger != nil {
		logger = slog.New(quietHandler{cfg.Logger.Handler()})
	}
	client, err := river.NewClient(driver(db), &river.Config{
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: cfg.Workers},
			QueueWebhooks:      {MaxWorkers: cfg.WebhookWorkers},
		},
		Workers:      workers.river,
		PeriodicJobs: periodic,
		// Every kind has its own timeout (Add); this one is River's
		// fallback and must not exceed the rescue threshold.
		JobTimeout:           DefaultTimeout,
		RescueStuckJobsAfter: RescueAfter,
		RetryPolicy:          &retryPolicy{nowFunc: time.Now},
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        min(cfg.PollInterval, 100*time.Millisecond),
		Logger:               logger,
		// Neither driver listens for notifications; poll instead.
		PollOnly: true,
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return client, nil
}

func migrator(db *store.DB) (*rivermigrate.Migrator[*sql.Tx], error) {
	return rivermigrate.New(driver(db), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
}

// Migrate applies River's own migrations and returns how many it applied.
func Migrate(ctx context.Context, db *store.DB) (int, error) {
	m, err := migrator(db)
	if err != nil {
		return 0, err
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return 0, fmt.Errorf("migrate jobs: %w", err)
	}
	return len(res.Versions), nil
}

// MigrationsCurrent reports whether River's tables are fully migrated.
func MigrationsCurrent(ctx context.Context, db *store.DB) (bool, error) {
	m, err := migrator(db)
	if err != nil {
		return false, err
	}
	res, err := m.Validate(ctx)
	if err != nil {
		return false, err
	}
	return res.OK, nil
}

// quietHandler passes River's warnings and errors on, and its routine info
// ("River client started", "entering poll only mode") only when the logger
// is at debug level: an operator needs to hear about failing jobs, not about
// the queue starting.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	if l < slog.LevelWarn && !h.Handler.Enabled(ctx, slog.LevelDebug) {
		return false
	}
	return h.Handler.Enabled(ctx, l)
}

// Handle drops River's complaints that an operation was cancelled: they
// come from stopping the client on shutdown, and an ERROR line at every
// clean stop would teach operators to ignore errors.
func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	cancelled := false
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && errors.Is(err, context.Canceled) {
			cancelled = true
			return false
		}
		return true
	})
	if cancelled && !h.Handler.Enabled(ctx, slog.LevelDebug) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(attrs)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name)}
}
