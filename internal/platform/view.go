package platform

import (
	"time"

	"github.com/tenderpay/tender/internal/nullable"
)

// View is a platform as the API shows it.
type View struct {
	ID              string  `json:"id"`
	Object          string  `json:"object"`
	Name            string  `json:"name"`
	DefaultCurrency *string `json:"default_currency"`
	SupportEmail    *string `json:"support_email"`
	// DefaultChargeType is what a payment naming no charge type gets.
	DefaultChargeType string    `json:"default_charge_type"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// View returns the platform as the API shows it.
func (p *Platform) View() View {
	return View{
		ID: p.ID, Object: "platform", Name: p.Name,
		DefaultCurrency: nullable.String(p.Settings.DefaultCurrency), SupportEmail: nullable.String(p.Settings.SupportEmail),
		DefaultChargeType: p.Settings.ChargeType(), CreatedAt: p.Created, UpdatedAt: p.Updated,
	}
}

// APIKeyView is an API key as the API shows it; the secret is never shown
// after creation.
type APIKeyView struct {
	ID         string     `json:"id"`
	Object     string     `json:"object"`
	Name       string     `json:"name"`
	Mode       string     `json:"mode"`
	Hint       string     `json:"hint"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// View returns the key as the API shows it.
func (k *APIKey) View() APIKeyView {
	return APIKeyView{
		ID: k.ID, Object: "api_key", Name: k.Name, Mode: string(k.Mode), Hint: k.Hint,
		CreatedAt: k.Created, LastUsedAt: nullable.Time(k.LastUsed), RevokedAt: nullable.Time(k.Revoked),
	}
}

// StripeView is a platform's Stripe settings as the API shows them: what
// is configured, never a secret.
type StripeView struct {
	Object             string  `json:"object"`
	Source             string  `json:"source"`
	Livemode           bool    `json:"livemode"`
	SecretKeyHint      string  `json:"secret_key_hint"`
	PublishableKey     *string `json:"publishable_key"`
	ClientID           *string `json:"client_id"`
	WebhookSecretCount int     `json:"webhook_secret_count"`
	APIBase            *string `json:"api_base"`
	ConnectBase        *string `json:"connect_base"`
}

// View returns the settings as the API shows them.
func (s *Stripe) View() StripeView {
	return StripeView{
		Object: "platform_stripe", Source: string(s.Source), Livemode: s.Livemode(),
		SecretKeyHint: s.SecretKeyHint(), PublishableKey: nullable.String(s.PublishableKey), ClientID: nullable.String(s.ClientID),
		WebhookSecretCount: len(s.WebhookSecrets), APIBase: nullable.String(s.APIBase), ConnectBase: nullable.String(s.ConnectBase),
	}
}
