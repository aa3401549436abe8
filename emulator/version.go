package emulator

import (
	"fmt"
	"reflect"
	"unsafe"
)

// An event records its object as it was when the event happened. Copying
// the object for every event was most of the memory a stored payment
// cost: a confirmed PaymentIntent was kept three times (live, in
// payment_intent.created and in payment_intent.succeeded) and its Charge
// twice. The types that make up that bulk are versioned instead: copy on
// write, the other way round.
//
//   - emit lets the event hold the live object itself when no event holds
//     it yet: the event and the store share one version. A stored
//     idempotent response of an intent points to that event too
//     (Server.replayable).
//   - Before anything changes a versioned object, touch gives the event
//     that holds it a copy of the version it recorded, and the object is
//     free to change. An object that is never changed again after its
//     last event (most payments and charges) is never copied.
//
// The live object's identity never changes, so the store, its lists and
// the handlers' pointers stay valid; only the holding event's Snapshot
// moves to the copy. The cost is one rule: every change to a PaymentIntent
// or Charge that may have been emitted must be preceded by c.touch. In
// tests, checkVersions (set by the package's tests) verifies at Close and
// Reset that every event still shows the version it recorded, so a change
// that forgot to touch fails the suite.
//
// A copy that touch made is then usually a near twin of a later version:
// payment_intent.created's intent differs from payment_intent.succeeded's
// in status, amount_received and latest_charge only. When the call
// commits, such a copy becomes a delta, the few fields in which it differs
// from the version a later event holds (compact, below).
//
// Types that are not versioned keep a copy per event (snapshot).

// cow is embedded in versioned types. Snapshot files do not hold it
// (wire.go).
type cow struct {
	// holder is the event whose Snapshot is this very object, whose
	// current version is therefore also a record of the past.
	holder *Event
}

func (v *cow) version() *cow { return v }

// versioned is an object whose versions events share; see above.
type versioned interface {
	object
	version() *cow
	// copyVersion returns a shallow copy, held by no event. Slices inside
	// objects and their rarely set parts (x) are never modified in place,
	// so it is a true copy.
	copyVersion() object
}

func (pi *PaymentIntent) copyVersion() object {
	c := *pi
	c.cow = cow{}
	return &c
}

func (ch *Charge) copyVersion() object {
	c := *ch
	c.cow = cow{}
	return &c
}

// record returns what event e keeps as its record of o: o itself when o is
// versioned and held by no other event, or else a copy.
func (st *state) record(o object, e *Event) object {
	v, ok := o.(versioned)
	if !ok {
		return snapshot(o)
	}
	if v.version().holder != nil { // two events of one version: rare
		return v.copyVersion()
	}
	v.version().holder = e
	if st.versionCheck != nil {
		st.versionCheck[e] = v.copyVersion()
	}
	return o
}

// touch must come before any change to a versioned object that may have
// been emitted: the event holding its current version gets a copy of it.
// Touching an object no event holds costs nothing.
func (c *call) touch(v versioned) { c.st.touch(v) }

func (st *state) touch(v versioned) {
	cw := v.version()
	if cw.holder == nil {
		return
	}
	cw.holder.Snapshot = v.copyVersion()
	st.copied = append(st.copied, copiedVersion{cw.holder, v})
	cw.holder = nil
}

// copiedVersion is an event given a copy by touch, and the object copied.
type copiedVersion struct {
	e    *Event
	live versioned
}

// maxDelta is the most fields a delta keeps; a version that differs in
// more stays a copy, which is then about as small.
const maxDelta = 8

// compact turns the copies touch made since the last call into deltas
// where it can: when an event holds the object's current version, the
// copy is stored as its differences from that version. Called as a call
// commits its events.
func (st *state) compact() {
	for _, cv := range st.copied {
		base := cv.live.version().holder
		if base == nil {
			continue // changed since with no event: nothing to lean on
		}
		old, ok := cv.e.Snapshot.(versioned)
		if !ok {
			continue
		}
		if diff, ok := diffVersions(old, cv.live); ok {
			cv.e.Snapshot = &delta{base: base, diff: diff}
		}
	}
	clear(st.copied)
	st.copied = st.copied[:0]
}

// delta is a past version of a versioned object kept as the fields in
// which it differs from a later version, the one event base records.
// base's record never changes: touch gives it a copy of that same version,
// which may in turn become a delta against a still later one. Deltas
// render by rebuilding the whole version (full); only events hold them,
// and snapshots are written with whole versions (materializeEvents).
type delta struct {
	base *Event
	diff []fieldValue
}

// fieldValue is one exported field of a versioned struct: its index and
// the value this version has, nil for the zero value (a cleared field
// costs no allocation).
type fieldValue struct {
	index int
	value any
}

// diffVersions lists the fields in which old differs from cur, both
// pointers to the same struct type; ok is false when there are more than
// maxDelta. Slices and pointers (to rarely set fields, which are never
// changed in place either) are compared by identity: objects never change
// a slice in place, they replace it.
func diffVersions(old, cur versioned) (diff []fieldValue, ok bool) {
	a, b := reflect.ValueOf(old).Elem(), reflect.ValueOf(cur).Elem()
	t := a.Type()
	var buf [maxDelta]fieldValue
	n := 0
	for i := range t.NumField() {
		if t.Field(i).Type == cowType {
			continue
		}
		fa, fb := structField(a, i), structField(b, i)
		var same bool
		switch fa.Kind() {
		case reflect.Slice:
			same = fa.Pointer() == fb.Pointer() && fa.Len() == fb.Len() && fa.Cap() == fb.Cap()
		case reflect.Map, reflect.Func, reflect.Interface, reflect.Chan:
			return nil, false // no versioned type has these; do not guess
		default:
			same = fa.Equal(fb)
		}
		if same {
			continue
		}
		if n == maxDelta {
			return nil, false
		}
		buf[n].index = i
		if !fa.IsZero() {
			buf[n].value = fa.Interface()
		}
		n++
	}
	return append([]fieldValue(nil), buf[:n]...), true
}

var cowType = reflect.TypeFor[cow]()

// structField is field i of the addressable struct v, readable and settable
// even when unexported (the rarely set fields' pointer).
func structField(v reflect.Value, i int) reflect.Value {
	f := v.Field(i)
	if !v.Type().Field(i).IsExported() {
		f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
	}
	return f
}

// full rebuilds the version: a copy of the newest version down the chain
// of bases, with the deltas' fields set from the newest to this one.
func (d *delta) full() object {
	chain := []*delta{d}
	o := d.base.Snapshot
	for {
		next, ok := o.(*delta)
		if !ok {
			break
		}
		chain = append(chain, next)
		o = next.base.Snapshot
	}
	v := o.(versioned).copyVersion()
	rv := reflect.ValueOf(v).Elem()
	for i := len(chain) - 1; i >= 0; i-- {
		for _, f := range chain[i].diff {
			if f.value == nil {
				structField(rv, f.index).SetZero()
			} else {
				structField(rv, f.index).Set(reflect.ValueOf(f.value))
			}
		}
	}
	return v
}

// meta is the same in every version of an object: the newest version's.
func (d *delta) meta() *Meta {
	o := d.base.Snapshot
	for {
		next, ok := o.(*delta)
		if !ok {
			return o.meta()
		}
		o = next.base.Snapshot
	}
}

func (d *delta) render(st *state) obj { return d.full().render(st) }

// materialize returns o, or the whole version when o is a delta.
func materialize(o object) object {
	if d, ok := o.(*delta); ok {
		return d.full()
	}
	return o
}

// materializeEvents gives every event that holds a delta the whole
// version instead, for a snapshot file, which stores objects as they are.
func (st *state) materializeEvents() {
	for _, e := range st.Events {
		if d, ok := e.Snapshot.(*delta); ok {
			e.Snapshot = d.full()
		}
	}
}

// checkVersions makes every server keep a copy of each version an event
// shares and compare the two at Close and Reset (see verifyVersions). Only
// tests set it: the copies cost what sharing saves.
var checkVersions bool

// verifyVersions panics if an event no longer shows the version of its
// object that it recorded: some change to a versioned object did not call
// touch first.
func (st *state) verifyVersions() {
	for e, want := range st.versionCheck {
		got := materialize(e.Snapshot).(versioned).copyVersion()
		if !reflect.DeepEqual(got, want) {
			panic(fmt.Sprintf("emulator: %s %s changed after event %s (%s) recorded it: a change without touch\nrecorded %+v\nnow      %+v",
				kindOf(got), got.meta().ID, e.ID, e.Type(), want, got))
		}
	}
}
