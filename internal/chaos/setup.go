package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
)

// world is what the setup made through Tender's public API: connected
// merchants and customers with a saved card and consent to every merchant.
type world struct {
	merchants []merchant
	customers []string
}

type merchant struct {
	id      string
	account string // acct_…
}

// stripeClient is the platform's key at the emulator, for confirming
// SetupIntents as Stripe.js would and for reading what Tender did.
func stripeClient(base string) *stripe.Client {
	cfg := &stripe.BackendConfig{URL: stripe.String(base), MaxNetworkRetries: stripe.Int64(2)}
	return stripe.NewClient(emulator.DefaultSecretKey, stripe.WithBackends(stripe.NewBackendsWithConfig(cfg)))
}

// setUp makes the merchants and customers. It runs before any kill.
func setUp(ctx context.Context, c *client, sc *stripe.Client, rng *rand.Rand, merchants, customers int) (*world, error) {
	w := &world{}
	for i := range merchants {
		m, err := connectMerchant(ctx, c, rng, i)
		if err != nil {
			return nil, fmt.Errorf("merchant %d: %w", i, err)
		}
		w.merchants = append(w.merchants, m)
	}
	for i := range customers {
		id, err := customer(ctx, c, sc, rng, i, w.merchants)
		if err != nil {
			return nil, fmt.Errorf("customer %d: %w", i, err)
		}
		w.customers = append(w.customers, id)
	}
	return w, nil
}

// connectMerchant creates a merchant and connects it through an Express
// link, which the emulator enables at once: opening the link's page (a
// POST, as its form does) makes the account and redirects to Stripe.
func connectMerchant(ctx context.Context, c *client, rng *rand.Rand, i int) (merchant, error) {
	var m struct{ ID string }
	if err := c.must(ctx, rng, "setup", "POST", "/v1/merchants", fmt.Sprintf("setup-merchant-%d", i),
		map[string]string{"name": fmt.Sprintf("Chaos merchant %d", i)}, &m); err != nil {
		return merchant{}, err
	}
	var l struct{ URL string }
	if err := c.must(ctx, rng, "setup", "POST", "/v1/merchants/"+m.ID+"/connect_links", fmt.Sprintf("setup-link-%d", i),
		map[string]string{"type": "express", "return_url": "https://platform.example/done", "refresh_url": "https://platform.example/again"}, &l); err != nil {
		return merchant{}, err
	}
	if err := openLink(ctx, l.URL); err != nil {
		return merchant{}, err
	}
	var got struct {
		Connection struct {
			Status    string  `json:"status"`
			AccountID *string `json:"account_id"`
		} `json:"connection"`
	}
	if err := c.must(ctx, rng, "setup", "GET", "/v1/merchants/"+m.ID, "", nil, &got); err != nil {
		return merchant{}, err
	}
	if got.Connection.Status != "enabled" || got.Connection.AccountID == nil {
		return merchant{}, fmt.Errorf("merchant %s is %s after its Express link", m.ID, got.Connection.Status)
	}
	return merchant{id: m.ID, account: *got.Connection.AccountID}, nil
}

func openLink(ctx context.Context, link string) error {
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, link, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Body, req.ContentLength = http.NoBody, 0
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("open connect link: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("open connect link: %s, want 303", resp.Status)
	}
	return nil
}

// customer creates a customer, saves pm_card_visa as a front end would (a
// SetupIntent from Tender, confirmed at Stripe in Stripe.js's place, then
// recorded) and consents to off-session charges by every merchant.
func customer(ctx context.Context, c *client, sc *stripe.Client, rng *rand.Rand, i int, ms []merchant) (string, error) {
	var cu struct{ ID string }
	if err := c.must(ctx, rng, "setup", "POST", "/v1/customers", fmt.Sprintf("setup-customer-%d", i),
		map[string]string{"email": fmt.Sprintf("chaos%d@example.com", i)}, &cu); err != nil {
		return "", err
	}
	var si struct{ ID string }
	if err := c.must(ctx, rng, "setup", "POST", "/v1/customers/"+cu.ID+"/setup_intents", fmt.Sprintf("setup-si-%d", i), struct{}{}, &si); err != nil {
		return "", err
	}
	got, err := sc.V1SetupIntents.Confirm(ctx, si.ID, &stripe.SetupIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa")})
	if err != nil {
		return "", fmt.Errorf("confirm %s at the emulator: %w", si.ID, err)
	}
	if got.Status != stripe.SetupIntentStatusSucceeded {
		return "", fmt.Errorf("setup intent %s is %s", si.ID, got.Status)
	}
	if err := c.must(ctx, rng, "setup", "POST", "/v1/customers/"+cu.ID+"/payment_methods", fmt.Sprintf("setup-pm-%d", i),
		map[string]string{"setup_intent": si.ID}, nil); err != nil {
		return "", err
	}
	for j, m := range ms {
		body := map[string]any{"merchant": m.id, "evidence": map[string]string{
			"text": "I allow " + m.id + " to charge my card when I am not there.", "text_version": "1"}}
		if err := c.must(ctx, rng, "setup", "POST", "/v1/customers/"+cu.ID+"/consents", fmt.Sprintf("setup-consent-%d-%d", i, j), body, nil); err != nil {
			return "", err
		}
	}
	return cu.ID, nil
}
