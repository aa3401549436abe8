package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// plan draws the orders from the seed: charge types, merchants,
// customers, amounts, fees, captures and refunds. The same seed and world
// plan the same orders.
func plan(seed uint64, n int, w *world) []Order {
	rng := rand.New(rand.NewPCG(seed, 0x6f72646572)) // "order"
	orders := make([]Order, n)
	for i := range orders {
		orders[i] = planOrder(rng, seed, i, w)
	}
	return orders
}

func planOrder(rng *rand.Rand, seed uint64, i int, w *world) Order {
	o := Order{N: i, Key: fmt.Sprintf("chaos-%d-pay-%05d", seed, i),
		ChargeType: []string{chargeDirect, chargeDestination, chargeSeparate}[rng.IntN(3)],
		Merchant:   w.merchants[rng.IntN(len(w.merchants))].id,
		Customer:   w.customers[rng.IntN(len(w.customers))],
		Amount:     500 + rng.Int64N(49_500),
	}
	// A fee of 0–15 % of the amount, in whole minor units, rounded down.
	o.Fee = o.Amount * rng.Int64N(16) / 100
	if o.ChargeType == chargeSeparate {
		o.Splits = planSplits(rng, o.Merchant, o.Amount, w)
	}
	if rng.IntN(10) < 3 {
		o.Manual = true
		if rng.IntN(2) == 0 {
			o.CaptureAmount = o.Amount/2 + rng.Int64N(o.Amount/2) // a partial capture, at least half
		}
	}
	o.Refunds = planRefunds(rng, o.Key, o.planned())
	return o
}

// planSplits shares a separate charge between the payment's merchant and
// up to two others, each at least one unit.
func planSplits(rng *rand.Rand, first string, amount int64, w *world) []Split {
	splits := []Split{{Merchant: first}}
	for _, m := range rng.Perm(len(w.merchants)) {
		if id := w.merchants[m].id; id != first && len(splits) < 3 && rng.IntN(3) > 0 {
			splits = append(splits, Split{Merchant: id, Amount: 1 + rng.Int64N(amount/4)})
		}
	}
	rest := amount
	for _, s := range splits[1:] {
		rest -= s.Amount
	}
	splits[0].Amount = rest
	return splits
}

// planRefunds is none (half the orders), one partial, one full, or a
// partial then a full one for the rest.
func planRefunds(rng *rand.Rand, key string, captured int64) []RefundOrder {
	partial := RefundOrder{Key: key + "-refund-1", Amount: 1 + rng.Int64N(captured/2)}
	partial.Expected = partial.Amount
	switch r := rng.IntN(20); {
	case r < 10:
		return nil
	case r < 14:
		return []RefundOrder{partial}
	case r < 17:
		return []RefundOrder{{Key: key + "-refund-1", Expected: captured}}
	default:
		return []RefundOrder{partial, {Key: key + "-refund-2", Expected: captured - partial.Amount}}
	}
}

// load drives the orders through Tender with concurrent clients.
type load struct {
	c         *client
	orderWait time.Duration // how long a client waits for a payment to be final before moving on
	created   atomic.Int64  // payment requests sent, which paces the kills
	finished  atomic.Int64  // orders done with
}

// run sends every order with conc clients, each its own seeded random
// source for backoff jitter, and returns when all are done or ctx ends.
func (l *load) run(ctx context.Context, seed uint64, orders []Order, conc int) {
	next := make(chan int)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)+1))
			for i := range next {
				l.order(ctx, rng, &orders[i])
				l.finished.Add(1)
			}
		})
	}
	for i := range orders {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
}

// paymentState is what the client reads of a payment while it waits.
type paymentState struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// order creates a payment, waits for it to be final, captures it when
// manual, then asks for its refunds in turn.
func (l *load) order(ctx context.Context, rng *rand.Rand, o *Order) {
	l.created.Add(1)
	var p paymentState
	ex, _ := l.c.do(ctx, rng, "payment", "POST", "/v1/payments", o.Key, o.createBody(), &p)
	if o.Answer, o.PaymentID = answerOf(ex), p.ID; o.Answer != AnswerOK {
		o.Skipped = "POST /v1/payments answered " + describeExchange(ex)
		return
	}
	status, ok := l.awaitFinal(ctx, rng, o.PaymentID)
	if !ok {
		o.Skipped = fmt.Sprintf("payment still %s after %v", status, l.orderWait)
		return
	}
	if o.Manual && status == "requires_capture" {
		status = l.capture(ctx, rng, o)
	}
	if status != "succeeded" {
		return // checkPayment reports the status
	}
	for i := range o.Refunds {
		l.refund(ctx, rng, o, &o.Refunds[i])
	}
}

func describeExchange(ex Exchange) string {
	if ex.Status == 0 {
		return "nothing definitive (" + ex.Err + ")"
	}
	return fmt.Sprintf("%d %s", ex.Status, ex.Body)
}

func (o *Order) createBody() map[string]any {
	b := map[string]any{"merchant": o.Merchant, "customer": o.Customer, "amount": o.Amount, "currency": "usd",
		"charge_type": o.ChargeType, "application_fee": o.Fee, "off_session": true,
		"metadata": map[string]string{"chaos_key": o.Key, "chaos_order": fmt.Sprint(o.N)}}
	if o.Manual {
		b["capture"] = "manual"
	}
	if len(o.Splits) > 0 {
		b["splits"] = o.Splits
	}
	return b
}

// awaitFinal polls the payment until Tender has finished charging it, or
// the order's wait is over.
func (l *load) awaitFinal(ctx context.Context, rng *rand.Rand, id string) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, l.orderWait)
	defer cancel()
	status := "unknown"
	for {
		var p paymentState
		if ex, err := l.c.do(ctx, rng, "poll", "GET", "/v1/payments/"+id, "", nil, &p); err == nil && ex.Status == 200 {
			if status = p.Status; finalPayment(status) {
				return status, true
			}
		}
		if !sleep(ctx, 200*time.Millisecond) {
			return status, false
		}
	}
}

// capture captures a manual payment, in part when the order says so, and
// returns the payment's status.
func (l *load) capture(ctx context.Context, rng *rand.Rand, o *Order) string {
	body := map[string]any{}
	if o.CaptureAmount > 0 {
		body["amount_to_capture"] = o.CaptureAmount
	}
	var p paymentState
	ex, _ := l.c.do(ctx, rng, "capture", "POST", "/v1/payments/"+o.PaymentID+"/capture", o.Key+"-capture", body, &p)
	o.CaptureAnswer = answerOf(ex)
	o.Captured = o.CaptureAnswer == AnswerOK
	return p.Status
}

func (l *load) refund(ctx context.Context, rng *rand.Rand, o *Order, ro *RefundOrder) {
	body := map[string]any{"metadata": map[string]string{"chaos_key": ro.Key}}
	if ro.Amount > 0 {
		body["amount"] = ro.Amount
	}
	var r struct{ ID string }
	ex, _ := l.c.do(ctx, rng, "refund", "POST", "/v1/payments/"+o.PaymentID+"/refunds", ro.Key, body, &r)
	ro.Answer, ro.RefundID = answerOf(ex), r.ID
}
