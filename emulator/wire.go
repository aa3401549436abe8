package emulator

import (
	"fmt"
	"reflect"
)

// Snapshot files are gob: every object with its exported fields, by name.
// A Charge and a PaymentIntent keep their rarely set fields apart
// (chargeExtra, piExtra), and an Event its type as a number and its
// request in a part shared with other events, where gob does not look, so
// the file holds them in the shape they always had: chargeWire, piWire
// and eventWire, registered under the names Charge, PaymentIntent and
// Event had, with the same fields. Files written before and after read
// alike. The conversion goes field by field by name; TestWireTypesMatch
// keeps the types in step.

// chargeWire is a Charge as snapshot files hold it.
type chargeWire struct {
	Meta
	Amount         int64
	AmountCaptured int64
	AmountRefunded int64
	Currency       string
	Status         ChargeStatus
	Customer       string
	PaymentIntent  string
	PaymentMethod  string
	Description    string
	Metadata       Metadata
	FailureCode    string
	FailureMessage string
	DeclineCode    string
	BalanceTxn     string
	AppFee         string
	AppFeeAmount   int64
	Transfer       string
	TransferDest   string
	TransferAmount int64
	OnBehalfOf     string
	TransferGroup  string
	SourceTransfer string
	AvailableOn    int64
	Transferred    int64
	Dispute        string
	DisputeDue     int64
	Captured       bool
	HasAppFee      bool
	HasTransferAmt bool
}

func (w *chargeWire) meta() *Meta { return &w.Meta }

func (w *chargeWire) render(*state) obj { panic("emulator: a chargeWire is only for snapshot files") }

// piWire is a PaymentIntent as snapshot files hold it.
type piWire struct {
	Meta
	Amount             int64
	AmountCapturable   int64
	AmountReceived     int64
	Currency           string
	Status             PIStatus
	CaptureMethod      string
	ConfirmationMethod string
	Customer           string
	PaymentMethod      string
	Description        string
	Metadata           Metadata
	AppFeeAmount       int64
	HasAppFee          bool
	TransferDest       string
	TransferAmount     int64
	HasTransferAmt     bool
	OnBehalfOf         string
	TransferGroup      string
	LatestCharge       string
	LastError          *lastError
	Secret             string
	SetupFutureUsage   string
	ReceiptEmail       string
	ReturnURL          string
	ActionURL          string
	CanceledAt         int64
	CancelReason       string
	Authenticated      bool
}

func (w *piWire) meta() *Meta { return &w.Meta }

func (w *piWire) render(*state) obj { panic("emulator: a piWire is only for snapshot files") }

// eventWire is an Event as snapshot files hold it.
type eventWire struct {
	Meta
	Type      string
	Snapshot  object
	Connected bool
	Pending   int32
	ReqID     string
	IdemKey   string
	Before    object
}

func (w *eventWire) meta() *Meta { return &w.Meta }

func (w *eventWire) render(*state) obj { panic("emulator: an eventWire is only for snapshot files") }

// toWire returns o as a snapshot file holds it.
func toWire(o object) object {
	switch o := o.(type) {
	case *Charge:
		w := new(chargeWire)
		copyByName(w, o)
		x := o.extra()
		copyByName(w, &x)
		return w
	case *PaymentIntent:
		w := new(piWire)
		copyByName(w, o)
		x := o.extra()
		copyByName(w, &x)
		return w
	case *Event:
		w := new(eventWire)
		copyByName(w, o)
		w.Type, w.Snapshot = o.Type(), toWire(o.Snapshot)
		w.ReqID, w.IdemKey, w.Before = o.req.ReqID, o.req.IdemKey, toWire(o.req.Before)
		return w
	}
	return o
}

// fromWire returns the object a snapshot file's o stands for.
func fromWire(o object) object {
	switch o := o.(type) {
	case *chargeWire:
		ch := new(Charge)
		copyByName(ch, o)
		var x chargeExtra
		copyByName(&x, o)
		ch.setExtra(x)
		return ch
	case *piWire:
		pi := new(PaymentIntent)
		copyByName(pi, o)
		var x piExtra
		copyByName(&x, o)
		pi.setExtra(x)
		return pi
	case *eventWire:
		e := new(Event)
		copyByName(e, o)
		e.Snapshot, e.typ = fromWire(o.Snapshot), eventTypeID(o.Type)
		e.req = &eventRequest{ReqID: o.ReqID, IdemKey: o.IdemKey, Before: fromWire(o.Before)}
		return e
	}
	return o
}

// fromWireLists turns a snapshot file's lists into the objects they stand
// for, in place. The events of one request share their eventRequest again.
func fromWireLists(lists map[listKey][]object) {
	for _, l := range lists {
		var last *eventRequest
		for i, o := range l {
			o = fromWire(o)
			if e, ok := o.(*Event); ok {
				if last != nil && *e.req == *last && last.Before == nil {
					e.req = last
				}
				last = e.req
			}
			l[i] = o
		}
	}
}

// wireLists returns lists with every object as snapshot files hold it.
func wireLists(lists map[listKey][]object) map[listKey][]object {
	out := make(map[listKey][]object, len(lists))
	for k, l := range lists {
		if k.Kind != "charge" && k.Kind != "payment_intent" && k.Kind != "event" {
			out[k] = l
			continue
		}
		w := make([]object, len(l))
		for i, o := range l {
			w[i] = toWire(o)
		}
		out[k] = w
	}
	return out
}

// copyByName sets every exported field of the struct dst points to from
// the field of the struct src points to that has its name, when there is
// one. Both must hold the same type under a name, or it panics.
func copyByName(dst, src any) {
	d, s := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	for i := range d.NumField() {
		f := d.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		sf, ok := s.Type().FieldByName(f.Name)
		if !ok || len(sf.Index) != 1 || !sf.IsExported() {
			continue
		}
		if sf.Type != f.Type {
			panic(fmt.Sprintf("emulator: field %s is %s in %s and %s in %s", f.Name, f.Type, d.Type(), sf.Type, s.Type()))
		}
		d.Field(i).Set(s.Field(sf.Index[0]))
	}
}
