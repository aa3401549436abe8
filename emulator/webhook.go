package emulator

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// WebhookEndpoint is a URL that receives events. Endpoints with Connect set
// live on a platform and receive its connected accounts' events.
type WebhookEndpoint struct {
	Meta
	URL           string
	EnabledEvents []string
	Connect       bool
	Secret        string
	Disabled      bool
	Description   string
	Metadata      Metadata
	APIVersion    string
	showSecret    bool
}

func (w *WebhookEndpoint) render(st *state) obj {
	status := "enabled"
	if w.Disabled {
		status = "disabled"
	}
	o := obj{
		{"id", w.ID}, {"object", "webhook_endpoint"},
		{"api_version", strOrNil(w.APIVersion)}, {"application", nil},
		{"created", w.Created}, {"description", strOrNil(w.Description)},
		{"enabled_events", w.EnabledEvents}, {"livemode", false},
		{"metadata", w.Metadata.orEmpty()},
	}
	if w.showSecret {
		o = append(o, field{"secret", w.Secret})
	}
	return append(o, field{"status", status}, field{"url", w.URL})
}

func (m Metadata) orEmpty() Metadata {
	if m == nil {
		return Metadata{}
	}
	return m
}

func handleWebhookEndpointCreate(c *call) (any, *Error) {
	url := c.p.required("url")
	events, hasEvents := c.enabledEvents()
	if !hasEvents {
		c.p.fail(missingParam("enabled_events"))
	}
	connect, _ := c.p.boolean("connect")
	desc, _ := c.p.str("description")
	apiVersion, hasVersion := c.p.str("api_version")
	if hasVersion && !apiVersions.has(apiVersion) {
		c.p.fail(invalidRequest("api_version", "Invalid api_version: must be one of %s", apiVersions.list()))
	}
	md := c.p.metadata(nil)
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	w := &WebhookEndpoint{
		Meta: Meta{ID: c.st.newID("we"), Acct: c.acct, Created: c.now},
		URL:  url, EnabledEvents: events, Connect: connect, Description: desc,
		Metadata: md, APIVersion: apiVersion,
		Secret: "whsec_" + c.st.randString(32),
	}
	c.st.put(w)
	shown := *w
	shown.showSecret = true
	return &shown, nil
}

func handleWebhookEndpointRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	return get[*WebhookEndpoint](c.st, c.acct, c.r.PathValue("id"), "webhook endpoint", "id")
}

func handleWebhookEndpointUpdate(c *call) (any, *Error) {
	w, err := get[*WebhookEndpoint](c.st, c.acct, c.r.PathValue("id"), "webhook endpoint", "id")
	if err != nil {
		return nil, err
	}
	url, hasURL := c.p.str("url")
	events, _ := c.enabledEvents()
	disabled, hasDisabled := c.p.boolean("disabled")
	desc, hasDesc := c.p.str("description")
	md := c.p.metadata(w.Metadata)
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	if hasURL {
		w.URL = url
	}
	if events != nil {
		w.EnabledEvents = events
	}
	if hasDisabled {
		w.Disabled = disabled
	}
	if hasDesc {
		w.Description = desc
	}
	w.Metadata = md
	return w, nil
}

// enabledEvents reads enabled_events, if sent: "*" or event types Stripe
// knows (eventTypes). An unknown type is refused as Stripe refuses it,
// naming the element ("Invalid enabled_events[1]: must be one of …").
func (c *call) enabledEvents() ([]string, bool) {
	if !c.p.has("enabled_events") {
		return nil, false
	}
	events := c.p.strs("enabled_events")
	if len(events) == 0 {
		c.p.fail(invalidRequest("enabled_events", "Invalid array"))
	}
	for i, ev := range events {
		if ev != "*" && !eventTypes.has(ev) {
			name := fmt.Sprintf("enabled_events[%d]", i)
			c.p.fail(invalidRequest(name, "Invalid %s: must be one of %s", name, eventTypes.list()))
			break
		}
	}
	return events, true
}

func handleWebhookEndpointDelete(c *call) (any, *Error) {
	w, err := get[*WebhookEndpoint](c.st, c.acct, c.r.PathValue("id"), "webhook endpoint", "id")
	if err != nil {
		return nil, err
	}
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	c.st.remove(w)
	return obj{{"id", w.ID}, {"object", "webhook_endpoint"}, {"deleted", true}}, nil
}

func handleWebhookEndpointList(c *call) (any, *Error) {
	return c.listPage("webhook_endpoint", "/v1/webhook_endpoints", c.st.Lists[listKey{c.acct, "webhook_endpoint"}], nil)
}

// remove deletes an object outright (webhook endpoints; customers keep a
// tombstone instead).
func (st *state) remove(o object) {
	m := o.meta()
	st.Objects.del(m.ID)
	k := listKey{m.Acct, kindOf(o)}
	l := st.Lists[k]
	if i := indexOf(l, m.ID); i >= 0 {
		st.Lists[k] = append(l[:i:i], l[i+1:]...)
	}
}

// delivery is one event on its way to one endpoint. The endpoint's URL and
// secret are looked up at each attempt, so a retry goes where the endpoint
// points by then.
type delivery struct {
	event    *Event
	endpoint string
	body     []byte
	attempts int
	next     time.Time
	// hold puts off the first attempt: a reorder fault, or a duplicate's
	// wait after its original.
	hold time.Duration
	// original is set on a duplicate (WebhookFaults.DuplicateRate): it is
	// tried once, after the original's first attempt is over, and leaves
	// pending_webhooks to the original. firstDone is closed when that
	// first attempt is over.
	original  *delivery
	firstDone chan struct{}
}

// deliveriesFor finds the enabled endpoints that want e: the account's own
// endpoints (not Connect ones), and for a connected account its platform's
// Connect endpoints. An endpoint wants the types in its enabled_events, or
// every type with "*".
func (st *state) deliveriesFor(e *Event) []*delivery {
	var eps []*WebhookEndpoint
	for _, o := range st.Lists[listKey{e.Acct, "webhook_endpoint"}] {
		if w := o.(*WebhookEndpoint); !w.Connect {
			eps = append(eps, w)
		}
	}
	if a, ok := st.Objects.get(e.Acct).(*Account); ok && a.Platform != "" {
		for _, o := range st.Lists[listKey{a.Platform, "webhook_endpoint"}] {
			if w := o.(*WebhookEndpoint); w.Connect {
				eps = append(eps, w)
			}
		}
	}
	var want []*WebhookEndpoint
	for _, w := range eps {
		if !w.Disabled && wants(w.EnabledEvents, e.Type()) {
			want = append(want, w)
		}
	}
	if len(want) == 0 {
		return nil
	}
	e.Pending = int32(len(want))
	body := appendJSON(nil, e.render(st))
	out := make([]*delivery, 0, len(want))
	for _, w := range want {
		out = append(out, &delivery{event: e, endpoint: w.ID, body: body})
	}
	return out
}

func wants(enabled []string, typ string) bool {
	for _, t := range enabled {
		if t == "*" || t == typ {
			return true
		}
	}
	return false
}

// retrySchedule is the wait before each retry of a failed delivery, in
// emulator time. Stripe retries with exponential backoff for up to three
// days in live mode, but "in test mode, Stripe retries three times over a
// few hours" (docs.stripe.com/workbench/webhooks, "Retry sending an
// event"), and the emulator is test mode. Stripe does not publish the
// waits; these grow as a backoff does and end 2 h 35 min after the first
// attempt.
var retrySchedule = []time.Duration{5 * time.Minute, 30 * time.Minute, 2 * time.Hour}

// dispatcher sends webhook deliveries from one goroutine, with at most
// `workers` requests in flight, and retries failures on the emulator clock:
// Server.Advance wakes it, and it sleeps until the next retry is due on a
// running clock. It keeps its own queue rather than the scheduler's jobs
// (scheduler.go), which are state changes made under Server.mu and rebuilt
// from snapshots; deliveries are HTTP requests made outside the lock.
type dispatcher struct {
	s       *Server
	client  *http.Client
	sem     chan struct{}
	mu      sync.Mutex
	queue   []*delivery
	wakeCh  chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped bool
	// sending counts deliveries being posted, so tests can tell when
	// nothing due is left.
	sending atomic.Int64
}

func newDispatcher(s *Server, client *http.Client, workers int) *dispatcher {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if workers <= 0 {
		workers = 4
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &dispatcher{s: s, client: client, sem: make(chan struct{}, workers),
		wakeCh: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
	d.wg.Add(1)
	go d.loop()
	return d
}

func (d *dispatcher) enqueue(ds []*delivery) {
	if len(ds) == 0 {
		return
	}
	now := d.s.clock.now()
	d.mu.Lock()
	for _, x := range ds {
		x.next = now.Add(x.hold)
	}
	d.queue = append(d.queue, ds...)
	d.mu.Unlock()
	d.wake()
}

func (d *dispatcher) wake() {
	select {
	case d.wakeCh <- struct{}{}:
	default:
	}
}

// idle reports whether no delivery is due or being sent at now.
func (d *dispatcher) idle(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, x := range d.queue {
		if !x.next.After(now) {
			return false
		}
	}
	return d.sending.Load() == 0
}

func (d *dispatcher) reset() {
	d.mu.Lock()
	d.queue = nil
	d.mu.Unlock()
}

func (d *dispatcher) close() {
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}

// loop sends what is due and sleeps until the next retry is due (assuming
// the clock runs at real speed) or until woken by new work or a clock jump.
func (d *dispatcher) loop() {
	defer d.wg.Done()
	for {
		wait := d.sendDue()
		t := time.NewTimer(wait)
		select {
		case <-d.ctx.Done():
			t.Stop()
			return
		case <-d.wakeCh:
		case <-t.C:
		}
		t.Stop()
	}
}

func (d *dispatcher) sendDue() time.Duration {
	now := d.s.clock.now()
	d.mu.Lock()
	var due []*delivery
	kept := d.queue[:0]
	wait := time.Hour
	for _, x := range d.queue {
		if !x.next.After(now) {
			due = append(due, x)
			continue
		}
		kept = append(kept, x)
		wait = min(wait, x.next.Sub(now))
	}
	d.queue = kept
	d.sending.Add(int64(len(due)))
	d.mu.Unlock()
	// A clock moved past several due times sends in due order, so a
	// held-back delivery still comes after those that overtook it.
	slices.SortStableFunc(due, func(a, b *delivery) int { return a.next.Compare(b.next) })
	for _, x := range due {
		select {
		case d.sem <- struct{}{}:
		case <-d.ctx.Done():
			return wait
		}
		d.wg.Add(1)
		go func(x *delivery) {
			defer d.wg.Done()
			defer d.sending.Add(-1)
			defer func() { <-d.sem }()
			d.attempt(x)
		}(x)
	}
	return wait
}

// attempt posts one delivery, signed as Stripe signs: HMAC-SHA256 over
// "<timestamp>.<body>" with the endpoint secret. A delivery whose endpoint
// was deleted or disabled meanwhile is dropped: Stripe neither retries
// it nor sends what happened while the endpoint was disabled.
func (d *dispatcher) attempt(x *delivery) {
	if x.firstDone != nil && x.attempts == 0 {
		defer close(x.firstDone)
	}
	if x.original != nil && !d.awaitFirst(x.original) {
		return
	}
	url, secret, live := d.s.endpointTarget(x.endpoint)
	if !live {
		return
	}
	now := d.s.clock.now()
	ok := d.post(x, url, secret, now)
	if x.original != nil {
		return
	}
	d.s.mu.Lock()
	if ok && x.event.Pending > 0 {
		x.event.Pending--
	}
	d.s.mu.Unlock()
	if ok || x.attempts >= len(retrySchedule) {
		return
	}
	// Each retry is due a wait after the attempt was due, not after it was
	// made, so a clock advanced by hours makes every retry that fell due
	// meanwhile, in order.
	x.next = x.next.Add(retrySchedule[x.attempts])
	x.attempts++
	d.requeue(x)
}

// awaitFirst waits until the original of a duplicate has had its first
// attempt, so that the copy never arrives first even when both fall due
// together on different workers. The original holds a worker or is done:
// it is due no later than its copy and so was started before it. It
// reports false when the dispatcher is closing.
func (d *dispatcher) awaitFirst(original *delivery) bool {
	select {
	case <-original.firstDone:
		return true
	case <-d.ctx.Done():
		return false
	}
}

// requeue queues a delivery again, for its retry or its copy, unless the
// dispatcher was closed.
func (d *dispatcher) requeue(x *delivery) {
	d.mu.Lock()
	if !d.stopped {
		d.queue = append(d.queue, x)
	}
	d.mu.Unlock()
	d.wake()
}

// endpointTarget returns where a delivery to the endpoint id goes now, and
// false when the endpoint is gone or disabled.
func (s *Server) endpointTarget(id string) (url, secret string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, found := s.st.Objects.get(id).(*WebhookEndpoint)
	if !found || w.Disabled {
		return "", "", false
	}
	return w.URL, w.Secret, true
}

func (d *dispatcher) post(x *delivery, url, secret string, now time.Time) bool {
	req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, url, bytes.NewReader(x.body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	req.Header.Set("Stripe-Signature", Sign(x.body, secret, now))
	resp, err := d.client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// Sign returns the Stripe-Signature header value for body signed with secret
// at time t, exactly as Stripe computes it.
func Sign(body []byte, secret string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
