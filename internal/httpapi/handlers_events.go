package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/text"
	"github.com/tenderpay/tender/internal/webhooks"
)

// eventList is the feed's page: a list, and how far back the feed goes.
type eventList struct {
	list[event.View]
	// RetainedSince is the time before which events are no longer kept.
	RetainedSince time.Time `json:"retained_since"`
	// OldestSequence is the lowest sequence still kept (null when none
	// is): a consumer whose last sequence is below it minus one missed
	// events that were pruned.
	OldestSequence *int64 `json:"oldest_sequence"`
}

func handleEventList(events *event.Store, retention time.Duration, now func() time.Time) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		q, err := eventQuery(r)
		if err != nil {
			return err
		}
		platformID := principalFrom(r.Context()).PlatformID
		evs, more, err := events.List(r.Context(), platformID, q)
		if err != nil {
			return err
		}
		oldest, err := events.Oldest(r.Context(), platformID)
		if err != nil {
			return err
		}
		out := make([]event.View, len(evs))
		for i, e := range evs {
			out[i] = e.View()
		}
		resp := eventList{list: newList(r, out, more), RetainedSince: now().Add(-retention).UTC().Truncate(time.Second)}
		if oldest > 0 {
			resp.OldestSequence = &oldest
		}
		writeJSON(w, http.StatusOK, resp)
		return nil
	})
}

// eventQuery reads the feed's filters: type (one type or a family such as
// payment.*), object, created_at[gte|gt|lte|lt] (RFC 3339) and
// after_sequence, which tails the feed oldest first.
func eventQuery(r *http.Request) (event.Query, error) {
	var q event.Query
	var err error
	if q.Page, err = parsePage(r, event.Prefix); err != nil {
		return q, err
	}
	if q.Type, err = queryText(r, "type", text.Rule{Max: 64}); err != nil {
		return q, err
	}
	if q.Type != "" && !event.ValidPattern(q.Type) {
		return q, errs.Invalidf("type", "%q is not an event type or a family such as \"payment.*\".", q.Type)
	}
	if q.ObjectID, err = queryText(r, "object", text.Rule{Max: 255}); err != nil {
		return q, err
	}
	if s := r.URL.Query().Get("after_sequence"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return q, errs.Invalidf("after_sequence", "after_sequence must be a sequence number (0 or more), not %q.", s)
		}
		if q.Page.StartingAfter != "" || q.Page.EndingBefore != "" {
			return q, errs.Invalidf("after_sequence", "after_sequence cannot be given with starting_after or ending_before.")
		}
		q.After = &n
	}
	return q, createdRange(r, &q)
}

func createdRange(r *http.Request, q *event.Query) error {
	for _, op := range []string{"gte", "gt", "lte", "lt"} {
		name := "created_at[" + op + "]"
		s := r.URL.Query().Get(name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return errs.Invalidf(name, "%s must be a time in RFC 3339, such as 2026-12-01T00:00:00Z, not %q.", name, s)
		}
		// Times are kept to the microsecond: gt and lte move the bound
		// by one to make the range half-open.
		if strings.HasPrefix(op, "gt") {
			if op == "gt" {
				t = t.Add(time.Microsecond)
			}
			q.CreatedFrom = latest(q.CreatedFrom, t)
		} else {
			if op == "lte" {
				t = t.Add(time.Microsecond)
			}
			q.CreatedUntil = earliest(q.CreatedUntil, t)
		}
	}
	return nil
}

func latest(a, b time.Time) time.Time {
	if a.IsZero() || b.After(a) {
		return b
	}
	return a
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func handleEventGet(events *event.Store) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		e, err := events.Get(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, e.View())
		return nil
	})
}

// redeliverParams names one endpoint to send to; without it the event goes
// to every enabled endpoint subscribed to its type.
type redeliverParams struct {
	Endpoint string `json:"endpoint"`
}

type redeliveryView struct {
	Object    string   `json:"object"`
	Event     string   `json:"event"`
	Endpoints []string `json:"webhook_endpoints"`
}

func handleEventRedeliver(svc *webhooks.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p redeliverParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		ids, err := svc.Redeliver(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), p.Endpoint)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, redeliveryView{Object: "event_redelivery", Event: r.PathValue("id"), Endpoints: ids})
		return nil
	})
}
