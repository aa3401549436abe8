package stripeapi

import (
	"context"
	"sync"
)

// Pool keeps one Client per platform, made on first use, so that every
// feature package calling Stripe for a platform shares its rate limiter.
// It is safe for concurrent use.
type Pool struct {
	// ConfigFunc returns the Config of a platform, typically by reading and
	// decrypting its secret key. Its errors are returned as they are.
	ConfigFunc func(ctx context.Context, platformID string) (Config, error)

	mu      sync.Mutex
	clients map[string]*Client
}

// Client returns the platform's Client, making it on first use.
func (p *Pool) Client(ctx context.Context, platformID string) (*Client, error) {
	p.mu.Lock()
	c, ok := p.clients[platformID]
	p.mu.Unlock()
	if ok {
		return c, nil
	}
	// Built outside the lock: ConfigFunc may read the database, and a slow
	// read must not hold up platforms whose Client exists.
	cfg, err := p.ConfigFunc(ctx, platformID)
	if err != nil {
		return nil, err
	}
	c, err = New(cfg)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev, ok := p.clients[platformID]; ok {
		return prev, nil // another caller won the race; share its limiter
	}
	if p.clients == nil {
		p.clients = map[string]*Client{}
	}
	p.clients[platformID] = c
	return c, nil
}

// Forget drops the platform's Client, so that the next call makes a new one:
// after its key was rolled, or its settings changed.
func (p *Pool) Forget(platformID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.clients, platformID)
}
