package emulator

import (
	"fmt"
	"time"
)

// WebhookFaults makes webhook delivery as unreliable as a receiver must
// expect: Stripe documents that an endpoint may get an event more than once
// and that events come in no guaranteed order, and a drop stands for an
// event whose every attempt failed. Each choice is made once per delivery
// (one event to one endpoint) when the event is committed. It is part of
// Faults, so it must stay comparable: no slices or maps.
type WebhookFaults struct {
	// DropRate is the fraction (0–1) of deliveries lost entirely: no
	// attempt and no retry ever reaches the endpoint, and the event's
	// pending_webhooks keeps counting it.
	DropRate float64 `json:"drop_rate"`
	// DuplicateRate is the fraction (0–1) of deliveries sent a second
	// time: a copy with the same body, signed when it is sent, follows the
	// first attempt after a wait of up to MaxDelay. The copy is tried once
	// and does not change pending_webhooks.
	DuplicateRate float64 `json:"duplicate_rate"`
	// ReorderRate is the fraction (0–1) of deliveries held back before
	// their first attempt by a wait of more than zero and up to MaxDelay,
	// so that deliveries of later events to the same endpoint overtake
	// them. Needs a positive MaxDelay.
	ReorderRate float64 `json:"reorder_rate"`
	// MaxDelay bounds the waits of duplicates and held-back deliveries,
	// on the emulator clock.
	MaxDelay time.Duration `json:"max_delay"`
}

// WebhookFaultCounts counts the webhook faults decided since the server
// started: what a test can compare with what its receiver saw. Reset does
// not clear them.
type WebhookFaultCounts struct {
	Dropped    int64 `json:"dropped"`
	Duplicated int64 `json:"duplicated"`
	Reordered  int64 `json:"reordered"`
}

func (f WebhookFaults) validate() error {
	switch {
	case f.DropRate < 0 || f.DropRate > 1:
		return fmt.Errorf("webhooks.drop_rate must be between 0 and 1")
	case f.DuplicateRate < 0 || f.DuplicateRate > 1:
		return fmt.Errorf("webhooks.duplicate_rate must be between 0 and 1")
	case f.ReorderRate < 0 || f.ReorderRate > 1:
		return fmt.Errorf("webhooks.reorder_rate must be between 0 and 1")
	case f.MaxDelay < 0:
		return fmt.Errorf("webhooks.max_delay must not be negative")
	case f.ReorderRate > 0 && f.MaxDelay == 0:
		return fmt.Errorf("webhooks.max_delay must be positive when webhooks.reorder_rate is set")
	}
	return nil
}

// planDeliveries applies the webhook faults to deliveries about to be
// queued and returns those to send, each duplicate right behind its
// original. It runs under Server.mu as events are committed, so the
// choices follow the order of events, not the order in which goroutines
// reach the dispatcher.
func (fi *faultInjector) planDeliveries(ds []*delivery) []*delivery {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	c := fi.cfg.Webhooks
	if c == (WebhookFaults{}) {
		return ds
	}
	kept := make([]*delivery, 0, len(ds))
	for _, x := range ds {
		f := fi.drawWebhookFault(c)
		if f.drop {
			fi.hookCounts.Dropped++
			continue
		}
		if f.reorder {
			fi.hookCounts.Reordered++
			x.hold = f.hold
		}
		kept = append(kept, x)
		if f.dup {
			fi.hookCounts.Duplicated++
			kept = append(kept, x.duplicate(f.dupWait))
		}
	}
	return kept
}

// webhookFault is what befalls one delivery.
type webhookFault struct {
	drop, dup, reorder bool
	dupWait, hold      time.Duration
}

// drawWebhookFault draws the same five numbers whatever the rates, so
// changing one rate does not reshuffle the choices of the others.
func (fi *faultInjector) drawWebhookFault(c WebhookFaults) webhookFault {
	maxDelay := uint64(max(c.MaxDelay, 0))
	return webhookFault{
		drop:    fi.hookRng.Float64() < c.DropRate,
		dup:     fi.hookRng.Float64() < c.DuplicateRate,
		reorder: fi.hookRng.Float64() < c.ReorderRate,
		dupWait: time.Duration(fi.hookRng.Uint64N(maxDelay + 1)),
		// A hold is never zero, so even on a fixed clock every later
		// delivery overtakes it until the clock moves.
		hold: time.Duration(1 + fi.hookRng.Uint64N(max(maxDelay, 1))),
	}
}

// duplicate returns a copy of x due wait after x's first attempt. It is
// queued with x, right behind it, so that its place in the queue depends
// on the order of events alone.
func (x *delivery) duplicate(wait time.Duration) *delivery {
	x.firstDone = make(chan struct{})
	return &delivery{event: x.event, endpoint: x.endpoint, body: x.body,
		hold: x.hold + wait, original: x}
}

// WebhookFaultCounts returns how many deliveries the webhook faults have
// dropped, duplicated and held back so far.
func (s *Server) WebhookFaultCounts() WebhookFaultCounts {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.hookCounts
}
