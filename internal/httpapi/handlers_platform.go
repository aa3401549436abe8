package httpapi

import (
	"net/http"
	"time"

	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/nullable"
	"github.com/tenderpay/tender/internal/platform"
)

// platformJSON is the API's view of a platform.
type platformJSON struct {
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

func toPlatformJSON(p *platform.Platform) platformJSON {
	return platformJSON{
		ID: p.ID, Object: "platform", Name: p.Name,
		DefaultCurrency: nullable.String(p.Settings.DefaultCurrency), SupportEmail: nullable.String(p.Settings.SupportEmail),
		DefaultChargeType: p.Settings.ChargeType(), CreatedAt: p.Created, UpdatedAt: p.Updated,
	}
}

// apiKeyJSON is the API's view of an API key; the secret is never shown
// after creation.
type apiKeyJSON struct {
	ID         string     `json:"id"`
	Object     string     `json:"object"`
	Name       string     `json:"name"`
	Mode       string     `json:"mode"`
	Hint       string     `json:"hint"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func toAPIKeyJSON(k *platform.APIKey) apiKeyJSON {
	return apiKeyJSON{
		ID: k.ID, Object: "api_key", Name: k.Name, Mode: string(k.Mode), Hint: k.Hint,
		CreatedAt: k.Created, LastUsedAt: nullable.Time(k.LastUsed), RevokedAt: nullable.Time(k.Revoked),
	}
}

func handlePlatformGet(platforms *platform.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		p, err := platforms.Get(r.Context(), principalFrom(r.Context()).PlatformID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toPlatformJSON(p))
		return nil
	})
}

func handlePlatformUpdate(platforms *platform.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var u platform.Update
		if err := decodeJSON(r, &u); err != nil {
			return err
		}
		p, err := platforms.Update(r.Context(), principalFrom(r.Context()).PlatformID, u)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toPlatformJSON(p))
		return nil
	})
}

func handleAPIKeyList(platforms *platform.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		page, err := parsePage(r, id.APIKey)
		if err != nil {
			return err
		}
		keys, more, err := platforms.ListKeys(r.Context(), principalFrom(r.Context()).PlatformID, page)
		if err != nil {
			return err
		}
		out := make([]apiKeyJSON, len(keys))
		for i, k := range keys {
			out[i] = toAPIKeyJSON(k)
		}
		writeJSON(w, http.StatusOK, newList(r, out, more))
		return nil
	})
}

func handleAPIKeyGet(platforms *platform.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		k, err := platforms.GetKey(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toAPIKeyJSON(k))
		return nil
	})
}

func handleAPIKeyRevoke(platforms *platform.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		if err := decodeJSON(r, &struct{}{}); err != nil {
			return err
		}
		k, err := platforms.RevokeKey(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toAPIKeyJSON(k))
		return nil
	})
}

// stripeJSON is the API's view of a platform's Stripe settings: what is
// configured, never a secret.
type stripeJSON struct {
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

func toStripeJSON(s *platform.Stripe) stripeJSON {
	return stripeJSON{
		Object: "platform_stripe", Source: string(s.Source), Livemode: s.Livemode(),
		SecretKeyHint: s.SecretKeyHint(), PublishableKey: nullable.String(s.PublishableKey), ClientID: nullable.String(s.ClientID),
		WebhookSecretCount: len(s.WebhookSecrets), APIBase: nullable.String(s.APIBase), ConnectBase: nullable.String(s.ConnectBase),
	}
}

func handlePlatformStripeGet(platforms *platform.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		s, err := platforms.Stripe(r.Context(), principalFrom(r.Context()).PlatformID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toStripeJSON(s))
		return nil
	})
}

func handlePlatformStripeUpdate(platforms *platform.Service, forget func(platformID string)) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var u platform.StripeUpdate
		if err := decodeJSON(r, &u); err != nil {
			return err
		}
		platformID := principalFrom(r.Context()).PlatformID
		s, err := platforms.SetStripe(r.Context(), platformID, u)
		if err != nil {
			return err
		}
		if forget != nil {
			forget(platformID) // the next Stripe call uses the new key
		}
		writeJSON(w, http.StatusOK, toStripeJSON(s))
		return nil
	})
}
