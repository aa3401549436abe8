package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// hookReceiver is the platform's webhook endpoint in a run: it answers 200
// to every delivery and keeps what arrived, so the run can show that every
// event in Tender's feed reached it, through every kill, and that no event
// of an object arrived after a newer one of the same object.
type hookReceiver struct {
	srv *http.Server
	url string

	mu         sync.Mutex
	got        map[string]int   // deliveries by event id
	newest     map[string]int64 // highest object_sequence that arrived, by object
	outOfOrder []string
}

func startReceiver() (*hookReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &hookReceiver{url: "http://" + ln.Addr().String() + "/hooks", got: map[string]int{}, newest: map[string]int64{}}
	h.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go h.srv.Serve(ln)
	return h, nil
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var b struct {
		Data struct {
			ID             string `json:"id"`
			ObjectID       string `json:"object_id"`
			ObjectSequence int64  `json:"object_sequence"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &b); err != nil || b.Data.ID == "" || r.Header.Get("webhook-id") != b.Data.ID {
		http.Error(w, "not a delivery", http.StatusBadRequest)
		return
	}
	d := b.Data
	h.mu.Lock()
	defer h.mu.Unlock()
	// A repeat of an event (sent again after a kill that came between the
	// 2xx and its record) is allowed; a first arrival older than one that
	// already came is not.
	if h.got[d.ID] == 0 && d.ObjectSequence < h.newest[d.ObjectID] {
		h.outOfOrder = append(h.outOfOrder, fmt.Sprintf("%s (%s #%d after #%d)", d.ID, d.ObjectID, d.ObjectSequence, h.newest[d.ObjectID]))
	}
	h.got[d.ID]++
	h.newest[d.ObjectID] = max(h.newest[d.ObjectID], d.ObjectSequence)
	w.WriteHeader(http.StatusOK)
}

func (h *hookReceiver) close() { h.srv.Close() }

// subscribe makes the run's endpoint for every event type, before any kill.
func subscribe(ctx context.Context, c *client, rng *rand.Rand, h *hookReceiver) error {
	return c.must(ctx, rng, "setup", "POST", "/v1/webhook_endpoints", "setup-webhook-endpoint",
		map[string]any{"url": h.url, "enabled_events": []string{"*"}}, nil)
}

// WebhookStats are what the run's endpoint received against the feed.
type WebhookStats struct {
	// Events is how many events the feed held from the endpoint's creation
	// on; Delivered how many of them arrived, Missing how many did not by
	// the end of the wait.
	Events, Delivered, Missing int
	// Repeats are deliveries of an event that had arrived already.
	Repeats int
	// OutOfOrder lists events that arrived after a newer one of their
	// object.
	OutOfOrder []string
	// Settled is how long after the last restart everything had arrived.
	Settled time.Duration
}

// awaitDeliveries reads the feed from the endpoint's creation on and waits
// until every event in it has arrived, or until deadline.
func (r *runner) awaitDeliveries(ctx context.Context, rng *rand.Rand, deadline time.Time) (WebhookStats, error) {
	for {
		ids, err := feedSince(ctx, r.c, rng, r.hookCursor)
		if err != nil {
			return WebhookStats{}, fmt.Errorf("read the event feed: %w", err)
		}
		st := r.hooks.tally(ids)
		if st.Missing == 0 || time.Now().After(deadline) {
			st.Settled = time.Since(r.lastRun)
			return st, nil
		}
		if !sleep(ctx, time.Second) {
			return st, ctx.Err()
		}
	}
}

func (h *hookReceiver) tally(ids []string) WebhookStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := WebhookStats{Events: len(ids), OutOfOrder: append([]string(nil), h.outOfOrder...)}
	for _, id := range ids {
		if n := h.got[id]; n > 0 {
			st.Delivered++
			st.Repeats += n - 1
		} else {
			st.Missing++
		}
	}
	return st
}

// feedCursor is the sequence of the newest event in the feed now.
func feedCursor(ctx context.Context, c *client, rng *rand.Rand) (int64, error) {
	var pg page[struct {
		Sequence int64 `json:"sequence"`
	}]
	if err := c.must(ctx, rng, "read", "GET", "/v1/events?limit=1", "", nil, &pg); err != nil || len(pg.Data) == 0 {
		return 0, err
	}
	return pg.Data[0].Sequence, nil
}

// feedSince reads the ids of every event after sequence after.
func feedSince(ctx context.Context, c *client, rng *rand.Rand, after int64) ([]string, error) {
	var ids []string
	for {
		var pg page[struct {
			ID       string `json:"id"`
			Sequence int64  `json:"sequence"`
		}]
		q := url.Values{"limit": {"100"}, "after_sequence": {strconv.FormatInt(after, 10)}}
		if err := c.must(ctx, rng, "read", "GET", "/v1/events?"+q.Encode(), "", nil, &pg); err != nil {
			return nil, err
		}
		for _, e := range pg.Data {
			ids = append(ids, e.ID)
			after = e.Sequence
		}
		if !pg.HasMore || len(pg.Data) == 0 {
			return ids, nil
		}
	}
}
