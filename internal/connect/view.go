package connect

import (
	"time"

	"github.com/tenderpay/tender/internal/nullable"
)

// MerchantView is a merchant as the API shows it, and as the data of its
// events: one shape in both, so a webhook receiver needs no second request.
type MerchantView struct {
	ID              string            `json:"id"`
	Object          string            `json:"object"`
	ExternalID      *string           `json:"external_id"`
	Name            string            `json:"name"`
	Email           *string           `json:"email"`
	Country         *string           `json:"country"`
	DefaultCurrency *string           `json:"default_currency"`
	Metadata        map[string]string `json:"metadata"`
	Connection      ConnectionView    `json:"connection"`
	Archived        bool              `json:"archived"`
	ArchivedAt      *time.Time        `json:"archived_at"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
}

// ConnectionView is the API's view of a connection.
type ConnectionView struct {
	Status           Status           `json:"status"`
	AccountID        *string          `json:"account_id"`
	AccountType      *string          `json:"account_type"`
	ChargesEnabled   bool             `json:"charges_enabled"`
	PayoutsEnabled   bool             `json:"payouts_enabled"`
	DetailsSubmitted bool             `json:"details_submitted"`
	Requirements     RequirementsView `json:"requirements"`
	ConnectedAt      *time.Time       `json:"connected_at"`
	CheckedAt        *time.Time       `json:"checked_at"`
}

// RequirementsView is the API's view of what Stripe still needs.
type RequirementsView struct {
	CurrentlyDue   []string `json:"currently_due"`
	EventuallyDue  []string `json:"eventually_due"`
	PastDue        []string `json:"past_due"`
	DisabledReason *string  `json:"disabled_reason"`
}

// View returns m as the API shows it.
func (m *Merchant) View() MerchantView {
	c := m.Connection
	reqs := c.Requirements
	for _, l := range []*[]string{&reqs.CurrentlyDue, &reqs.EventuallyDue, &reqs.PastDue} {
		if *l == nil {
			*l = []string{}
		}
	}
	md := m.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return MerchantView{
		ID: m.ID, Object: "merchant", ExternalID: nullable.String(m.ExternalID), Name: m.Name, Email: nullable.String(m.Email),
		Country: nullable.String(m.Country), DefaultCurrency: nullable.String(m.DefaultCurrency), Metadata: md,
		Connection: ConnectionView{
			Status: c.Status, AccountID: nullable.String(c.AccountID), AccountType: nullable.String(string(c.AccountType)),
			ChargesEnabled: c.ChargesEnabled, PayoutsEnabled: c.PayoutsEnabled, DetailsSubmitted: c.DetailsSubmitted,
			Requirements: RequirementsView{CurrentlyDue: reqs.CurrentlyDue, EventuallyDue: reqs.EventuallyDue,
				PastDue: reqs.PastDue, DisabledReason: nullable.String(reqs.DisabledReason)},
			ConnectedAt: nullable.Time(c.ConnectedAt), CheckedAt: nullable.Time(c.CheckedAt),
		},
		Archived: !m.Archived.IsZero(), ArchivedAt: nullable.Time(m.Archived), CreatedAt: m.Created, UpdatedAt: m.Updated,
	}
}

// LinkView is a connection link as the API shows it. The URL is shown
// only in the response that creates it.
type LinkView struct {
	ID         string    `json:"id"`
	Object     string    `json:"object"`
	Merchant   string    `json:"merchant"`
	Type       string    `json:"type"`
	URL        string    `json:"url"`
	ReturnURL  string    `json:"return_url"`
	RefreshURL string    `json:"refresh_url"`
	ExpiresAt  time.Time `json:"expires_at"`
	CreatedAt  time.Time `json:"created_at"`
}

// View returns the link as the API shows it.
func (l *Link) View() LinkView {
	return LinkView{
		ID: l.ID, Object: "connect_link", Merchant: l.MerchantID, Type: string(l.Type), URL: l.URL,
		ReturnURL: l.ReturnURL, RefreshURL: l.RefreshURL, ExpiresAt: l.Expires, CreatedAt: l.Created,
	}
}
