package webhooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/store"
)

// Run fans out new events every PollInterval and sweeps for due retries
// every SweepEvery, until ctx ends. Every node runs it; fanning out and
// sweeping are safe to run on several at once.
func (s *Service) Run(ctx context.Context) {
	poll := time.NewTicker(s.poll)
	defer poll.Stop()
	sweep := time.NewTicker(SweepEvery)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
			if _, err := s.FanOut(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("webhook fan-out", "error", err)
			}
		case <-sweep.C:
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("webhook sweep", "error", err)
			}
		}
	}
}

// fanOutBatch bounds the events one transaction fans out to one endpoint.
const fanOutBatch = 500

// errRaced means another node fanned out the same events first.
var errRaced = errors.New("webhooks: another node moved the cursor")

// FanOut writes deliveries of new events to every enabled endpoint behind
// its platform's feed, and returns how many.
func (s *Service) FanOut(ctx context.Context) (int, error) {
	type behind struct{ platformID, endpointID string }
	list, err := store.All(ctx, s.db, func(row store.Scanner) (behind, error) {
		var b behind
		return b, row.Scan(&b.platformID, &b.endpointID)
	}, `SELECT w.platform_id, w.id FROM webhook_endpoints w
		JOIN event_sequences q ON q.platform_id = w.platform_id AND q.object_id = ''
		WHERE w.status = 'enabled' AND q.last > w.cursor_seq`)
	if err != nil {
		return 0, err
	}
	total := 0
	var errsSeen []error
	for _, b := range list {
		for {
			n, full, err := s.fanOutEndpoint(ctx, b.platformID, b.endpointID)
			total += n
			if errors.Is(err, errRaced) {
				break
			}
			if err != nil {
				errsSeen = append(errsSeen, fmt.Errorf("endpoint %s: %w", b.endpointID, err))
				break
			}
			if !full {
				break
			}
		}
	}
	return total, errors.Join(errsSeen...)
}

type newEvent struct {
	id, objectID string
	typ          event.Type
	seq          int64
}

// fanOutEndpoint fans out one batch of events to one endpoint and reports
// whether the batch was full (more may follow).
func (s *Service) fanOutEndpoint(ctx context.Context, platformID, endpointID string) (n int, full bool, err error) {
	now := store.TimeOf(s.now())
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		e, err := getEndpoint(ctx, tx, platformID, endpointID)
		if err != nil || e.Status != StatusEnabled {
			return err
		}
		// seq > 0: numbered events only, written out so that the partial
		// index on the sequence serves (see event.Record).
		events, err := store.All(ctx, tx, func(row store.Scanner) (newEvent, error) {
			var ev newEvent
			var typ string
			err := row.Scan(&ev.id, &typ, &ev.seq, &ev.objectID)
			ev.typ = event.Type(typ)
			return ev, err
		}, fmt.Sprintf(`SELECT id, type, seq, object_id FROM events WHERE platform_id = $1 AND seq > $2 AND seq > 0 ORDER BY seq LIMIT %d`, fanOutBatch),
			platformID, e.Cursor)
		if err != nil || len(events) == 0 {
			return err
		}
		full = len(events) == fanOutBatch
		var owed []newEvent
		for _, ev := range events {
			if e.subscribes(ev.typ) {
				owed = append(owed, ev)
			}
		}
		if n, err = s.insertDeliveries(ctx, tx, e, owed, now.Time); err != nil {
			return err
		}
		if len(owed) > 0 {
			if err := s.enqueueDrain(ctx, tx, DrainArgs{e.PlatformID, e.ID}, false); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET cursor_seq = $3 WHERE platform_id = $1 AND id = $2 AND cursor_seq = $4`,
			platformID, endpointID, events[len(events)-1].seq, e.Cursor)
		if err != nil {
			return err
		}
		if moved, err := res.RowsAffected(); err != nil || moved == 0 {
			return errors.Join(err, errRaced)
		}
		return nil
	})
	return n, full, err
}

// insertRows bounds the rows of one multi-row INSERT (7 arguments each,
// far below either database's limit on arguments).
const insertRows = 100

// insertDeliveries writes a pending delivery of each event to e, due now,
// and returns how many it wrote; a delivery that exists already (a
// recovery got there first) is left as it is.
func (s *Service) insertDeliveries(ctx context.Context, tx *sql.Tx, e *Endpoint, owed []newEvent, now time.Time) (int, error) {
	written := 0
	for start := 0; start < len(owed); start += insertRows {
		chunk := owed[start:min(start+insertRows, len(owed))]
		var values []string
		var args []any
		for _, ev := range chunk {
			n := len(args)
			values = append(values, fmt.Sprintf("($%d, $%d, $%d, $%d, $%d, 'pending', 0, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+6, n+6))
			args = append(args, e.PlatformID, e.ID, ev.id, ev.seq, ev.objectID, store.TimeOf(now))
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (platform_id, endpoint_id, event_id, event_seq, object_id, state,
			attempts, next_attempt_at, created_at, updated_at) VALUES `+strings.Join(values, ", ")+
			` ON CONFLICT (platform_id, endpoint_id, event_id) DO NOTHING`, args...)
		if err != nil {
			return 0, fmt.Errorf("insert deliveries: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		written += int(n)
	}
	return written, nil
}

// sweepBatch bounds the endpoints one sweep starts drains for; the next
// sweep goes on.
const sweepBatch = 1000

// Sweep starts a drain, unless one is waiting or running, for every
// enabled endpoint with a head that is due and not leased, and returns how
// many endpoints it found. Retries are sent this way when their time
// comes, and a head whose drain was lost (its node died) is found again
// once its lease runs out.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := store.TimeOf(s.now())
	due, err := store.All(ctx, s.db, func(row store.Scanner) (DrainArgs, error) {
		var a DrainArgs
		return a, row.Scan(&a.PlatformID, &a.EndpointID)
	}, fmt.Sprintf(`SELECT DISTINCT d.platform_id, d.endpoint_id FROM webhook_deliveries d
		JOIN webhook_endpoints w ON w.platform_id = d.platform_id AND w.id = d.endpoint_id
		WHERE w.status = 'enabled' AND `+headCond("$1", "$2")+` LIMIT %d`, sweepBatch), now, store.TimeOf(time.Now()))
	if err != nil {
		return 0, err
	}
	for _, a := range due {
		if err := s.enqueueDrain(ctx, nil, a, true); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

// resume makes an endpoint's pending deliveries due now, with a fresh set
// of retries, and starts a drain: what waited while it was disabled goes
// out first, and fan-out adds what was recorded since.
func (s *Service) resume(ctx context.Context, tx *sql.Tx, e *Endpoint, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $3, attempts = 0, updated_at = $3
		WHERE platform_id = $1 AND endpoint_id = $2 AND state = 'pending'`, e.PlatformID, e.ID, store.TimeOf(now))
	if err != nil {
		return err
	}
	return s.enqueueDrain(ctx, tx, DrainArgs{e.PlatformID, e.ID}, false)
}
