package emulator

import (
	"sync"
	"time"
)

// clock is the emulator's time: a base clock plus an offset that only grows.
// Tests advance it instead of sleeping; a running emulator's clock keeps
// ticking with the base clock.
type clock struct {
	base   func() time.Time
	mu     sync.Mutex
	offset time.Duration
}

func newClock(base func() time.Time) *clock {
	if base == nil {
		base = time.Now
	}
	return &clock{base: base}
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// advanced is how far the clock has been moved forward in total.
func (c *clock) advanced() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}
