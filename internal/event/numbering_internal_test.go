package event

import (
	"slices"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/store"
)

// TestNumberingOrder: a pass numbers by creation time, except that an
// object's events keep the order of their object numbers even when their
// times say otherwise (a job's clock behind a request's).
func TestNumberingOrder(t *testing.T) {
	at := func(s int) store.Time { return store.TimeOf(time.Unix(int64(s), 0)) }
	events := []unnumbered{
		{id: "evt_c", objectID: "pay_1", objectSeq: 2, created: at(1)}, // its clock was behind
		{id: "evt_b", objectID: "pay_2", objectSeq: 1, created: at(2)},
		{id: "evt_a", objectID: "pay_1", objectSeq: 1, created: at(3)},
		{id: "evt_d", objectID: "pay_3", objectSeq: 1, created: at(3)},
	}
	numberingOrder(events)
	var got []string
	for _, e := range events {
		got = append(got, e.id)
	}
	// pay_1's events hold the first and third places, in their own order.
	if want := []string{"evt_a", "evt_b", "evt_c", "evt_d"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}
