package emulator

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Event is a stored event: what happened and a snapshot of the object as it
// was then. Events are most of what the emulator stores (three for a
// confirmed payment), so an Event is kept small: its type is a number, and
// what the request that made it says is shared by the events of one call.
// Snapshot files hold events in their old shape (eventWire).
type Event struct {
	Meta
	// Snapshot is the object as it was; for versioned types it may be the
	// live object itself (see version.go).
	Snapshot object
	req      *eventRequest
	// Pending, the type and Connected share a word.
	Pending int32
	typ     uint16
	// Connected is set when the object lives on a connected account; the
	// event then carries "account".
	Connected bool
}

// eventRequest is the request an event came from, shared by the events of
// one call, and, for an update, the object before it.
type eventRequest struct {
	ReqID   string
	IdemKey string
	// Before is the object before an update, for previous_attributes; an
	// event that has one has its own eventRequest (setBefore).
	Before object
}

// Type is the event's type, such as "payment_intent.succeeded".
func (e *Event) Type() string { return eventTypeName(e.typ) }

// setBefore records the object as it was before the update e announces.
func (e *Event) setBefore(before object) {
	r := *e.req
	r.Before = before
	e.req = &r
}

// eventTypeNames numbers the event types met so far, in this process: an
// event keeps two bytes instead of a string header. The types are the
// emulator's own and those of loaded snapshots, a few dozen. Names are
// read without a lock: a new type publishes a new slice.
var eventTypeNames struct {
	mu    sync.Mutex
	ids   sync.Map // name → uint16
	names atomic.Pointer[[]string]
}

func eventTypeID(name string) uint16 {
	if id, ok := eventTypeNames.ids.Load(name); ok {
		return id.(uint16)
	}
	eventTypeNames.mu.Lock()
	defer eventTypeNames.mu.Unlock()
	if id, ok := eventTypeNames.ids.Load(name); ok {
		return id.(uint16)
	}
	var names []string
	if p := eventTypeNames.names.Load(); p != nil {
		names = *p
	}
	if len(names) > 0xffff {
		panic("emulator: more than 65,536 event types")
	}
	id := uint16(len(names))
	names = append(names[:len(names):len(names)], name)
	eventTypeNames.names.Store(&names)
	eventTypeNames.ids.Store(name, id)
	return id
}

func eventTypeName(id uint16) string { return (*eventTypeNames.names.Load())[id] }

func (e *Event) render(st *state) obj {
	o := obj{{"id", e.ID}, {"object", "event"}}
	if e.Connected {
		o = append(o, field{"account", e.Acct})
	}
	var req any
	if e.req.ReqID != "" {
		req = obj{{"id", e.req.ReqID}, {"idempotency_key", strOrNil(e.req.IdemKey)}}
	} else {
		req = obj{{"id", nil}, {"idempotency_key", nil}}
	}
	data := obj{{"object", e.Snapshot.render(st)}}
	if e.req.Before != nil {
		data = append(data, field{"previous_attributes", previousAttributes(e.req.Before.render(st), data[0].v.(obj))})
	}
	return append(o,
		field{"api_version", APIVersion},
		field{"created", e.Created},
		field{"data", data},
		field{"livemode", false},
		field{"pending_webhooks", int(e.Pending)},
		field{"request", req},
		field{"type", e.Type()},
	)
}

// snapshot copies an object so later changes do not alter past events.
// Slices inside objects are never modified in place, so a shallow copy is a
// true snapshot. Versioned types (PaymentIntent, Charge) are not copied
// here but shared (record, version.go).
func snapshot(o object) object {
	switch v := o.(type) {
	case *Account:
		c := *v
		return &c
	case *Customer:
		c := *v
		return &c
	case *PaymentMethod:
		c := *v
		return &c
	case *SetupIntent:
		c := *v
		return &c
	case *Refund:
		c := *v
		return &c
	case *Transfer:
		c := *v
		return &c
	case *TransferReversal:
		c := *v
		return &c
	case *ApplicationFee:
		c := *v
		return &c
	case *FeeRefund:
		c := *v
		return &c
	case *WebhookEndpoint:
		c := *v
		return &c
	case *Dispute:
		c := *v
		return &c
	case *Payout:
		c := *v
		return &c
	case *BankAccount:
		c := *v
		return &c
	}
	return o
}

// emit records an event for a state change of o made by this call. An
// event belongs to the account the object lives on; a connected account's
// own Account object counts as living on that account, so its
// account.updated reaches the platform's Connect endpoints with "account".
func (c *call) emit(typ string, o object) {
	acct := o.meta().Acct
	if a, ok := o.(*Account); ok && a.Platform != "" {
		acct = a.ID
	}
	if c.eventReq == nil {
		c.eventReq = &eventRequest{ReqID: c.reqID, IdemKey: c.idemKey}
	}
	e := &Event{
		Meta: Meta{ID: c.st.newID("evt"), Acct: acct, Created: c.now},
		req:  c.eventReq,
		typ:  eventTypeID(typ),
	}
	e.Snapshot = c.st.record(o, e)
	if a, ok := c.st.Objects.get(acct).(*Account); ok && a.Platform != "" {
		e.Connected = true
	}
	c.events = append(c.events, e)
}

// commitEvents stores the call's events and plans their webhook deliveries.
func (c *call) commitEvents() []*delivery {
	var out []*delivery
	for _, e := range c.events {
		c.st.put(e)
		c.st.Events = append(c.st.Events, e)
		out = append(out, c.s.faults.planDeliveries(c.st.deliveriesFor(e))...)
	}
	c.st.trimEvents(c.s.opts.EventRetention)
	c.st.compact()
	return out
}

// trimEvents drops the oldest events beyond the retention cap, in batches so
// the cost is amortised.
func (st *state) trimEvents(limit int) {
	if len(st.Events) <= limit+limit/10 {
		return
	}
	drop := st.Events[:len(st.Events)-limit]
	gone := map[string]bool{}
	for _, e := range drop {
		gone[e.ID] = true
		// A dropped event that holds its object's version lets go of the
		// object, so the object does not keep it alive.
		if v, ok := e.Snapshot.(versioned); ok && v.version().holder == e {
			st.touch(v)
		}
		delete(st.versionCheck, e)
	}
	st.Events = append([]*Event(nil), st.Events[len(drop):]...)
	for k, l := range st.Lists {
		if k.Kind != "event" {
			continue
		}
		kept := l[:0:0]
		for _, o := range l {
			if !gone[o.meta().ID] {
				kept = append(kept, o)
			}
		}
		st.Lists[k] = kept
	}
}

func handleEventRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	id := c.r.PathValue("id")
	if e := c.st.findEvent(c.acct, id); e != nil {
		return e, nil
	}
	return nil, noSuch("event", "id", id)
}

// findEvent returns acct's event with this id, or nil. Events are not in
// the id index (see put); the account's list is searched from its newest
// end, where the events a webhook handler fetches back are.
func (st *state) findEvent(acct, id string) *Event {
	l := st.Lists[listKey{acct, "event"}]
	for i := len(l) - 1; i >= 0; i-- {
		if e := l[i].(*Event); e.ID == id {
			return e
		}
	}
	return nil
}

func handleEventList(c *call) (any, *Error) {
	typ, _ := c.p.str("type")
	types := c.p.strs("types")
	created, err := c.createdFilter()
	if err != nil {
		return nil, err
	}
	if typ != "" && len(types) > 0 {
		return nil, invalidRequest("types", "You may only specify one of these parameters: type, types.")
	}
	c.p.ignore("delivery_success")
	keep := func(o object) bool {
		e := o.(*Event)
		if !created(e.Created) {
			return false
		}
		if typ != "" {
			return typeMatches(typ, e.Type())
		}
		if len(types) > 0 {
			for _, t := range types {
				if typeMatches(t, e.Type()) {
					return true
				}
			}
			return false
		}
		return true
	}
	return c.listPage("event", "/v1/events", c.st.Lists[listKey{c.acct, "event"}], keep)
}

// typeMatches supports the "payment_intent.*" wildcard Stripe allows.
func typeMatches(pattern, typ string) bool {
	if strings.HasSuffix(pattern, ".*") {
		return strings.HasPrefix(typ, strings.TrimSuffix(pattern, "*"))
	}
	return pattern == typ
}

// createdFilter reads created=ts or created[gt|gte|lt|lte]=ts.
func (c *call) createdFilter() (func(int64) bool, *Error) {
	return c.rangeFilter("created")
}

// rangeFilter reads a timestamp filter, name=ts or name[gt|gte|lt|lte]=ts.
func (c *call) rangeFilter(name string) (func(int64) bool, *Error) {
	n := c.p.node(name)
	if n == nil {
		return func(int64) bool { return true }, nil
	}
	if n.kids == nil {
		v, _ := c.p.integer(name)
		return func(t int64) bool { return t == v }, c.p.err
	}
	bounds := map[string]int64{}
	for _, op := range []string{"gt", "gte", "lt", "lte"} {
		if v, ok := c.p.integer(name, op); ok {
			bounds[op] = v
		}
	}
	return func(t int64) bool {
		for op, v := range bounds {
			switch {
			case op == "gt" && !(t > v), op == "gte" && !(t >= v), op == "lt" && !(t < v), op == "lte" && !(t <= v):
				return false
			}
		}
		return true
	}, c.p.err
}
