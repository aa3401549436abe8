package wallet

import (
	"time"

	"github.com/tenderpay/tender/internal/nullable"
)

// CustomerView is a customer as the API shows it.
type CustomerView struct {
	ID                   string            `json:"id"`
	Object               string            `json:"object"`
	ExternalID           *string           `json:"external_id"`
	Email                *string           `json:"email"`
	Name                 *string           `json:"name"`
	Metadata             map[string]string `json:"metadata"`
	DefaultPaymentMethod *string           `json:"default_payment_method"`
	StripeCustomer       *string           `json:"stripe_customer"`
	Archived             bool              `json:"archived"`
	ArchivedAt           *time.Time        `json:"archived_at"`
	CreatedAt            time.Time         `json:"created_at"`
	UpdatedAt            time.Time         `json:"updated_at"`
}

// View returns c as the API shows it.
func (c *Customer) View() CustomerView {
	md := c.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return CustomerView{ID: c.ID, Object: "customer", ExternalID: nullable.String(c.ExternalID), Email: nullable.String(c.Email), Name: nullable.String(c.Name),
		Metadata: md, DefaultPaymentMethod: nullable.String(c.DefaultPaymentMethodID), StripeCustomer: nullable.String(c.StripeCustomerID),
		Archived: !c.Archived.IsZero(), ArchivedAt: nullable.Time(c.Archived), CreatedAt: c.Created, UpdatedAt: c.Updated}
}

// PaymentMethodView is a saved card as the API shows it.
type PaymentMethodView struct {
	ID                  string     `json:"id"`
	Object              string     `json:"object"`
	Customer            string     `json:"customer"`
	StripePaymentMethod string     `json:"stripe_payment_method"`
	Status              string     `json:"status"`
	Card                CardView   `json:"card"`
	CreatedAt           time.Time  `json:"created_at"`
	DetachedAt          *time.Time `json:"detached_at"`
}

// CardView is what Stripe shows of a card.
type CardView struct {
	Brand       string  `json:"brand"`
	Last4       string  `json:"last4"`
	ExpMonth    int64   `json:"exp_month"`
	ExpYear     int64   `json:"exp_year"`
	Fingerprint string  `json:"fingerprint"`
	Wallet      *string `json:"wallet"`
}

// View returns pm as the API shows it.
func (pm *PaymentMethod) View() PaymentMethodView {
	return PaymentMethodView{ID: pm.ID, Object: "payment_method", Customer: pm.CustomerID, StripePaymentMethod: pm.StripeID,
		Status: pm.Status, Card: CardView{Brand: pm.Brand, Last4: pm.Last4, ExpMonth: pm.ExpMonth, ExpYear: pm.ExpYear,
			Fingerprint: pm.Fingerprint, Wallet: nullable.String(pm.Wallet)},
		CreatedAt: pm.Created, DetachedAt: nullable.Time(pm.Detached)}
}

// ConsentView is a consent as the API shows it.
type ConsentView struct {
	ID            string     `json:"id"`
	Object        string     `json:"object"`
	Customer      string     `json:"customer"`
	Merchant      string     `json:"merchant"`
	PaymentMethod string     `json:"payment_method"`
	Scope         string     `json:"scope"`
	Evidence      Evidence   `json:"evidence"`
	Active        bool       `json:"active"`
	GrantedAt     time.Time  `json:"granted_at"`
	RevokedAt     *time.Time `json:"revoked_at"`
	RevokedReason *string    `json:"revoked_reason"`
}

// View returns c as the API shows it.
func (c *Consent) View() ConsentView {
	pm := c.PaymentMethodID
	if pm == "" {
		pm = DefaultCard
	}
	return ConsentView{ID: c.ID, Object: "consent", Customer: c.CustomerID, Merchant: c.MerchantID, PaymentMethod: pm,
		Scope: c.Scope, Evidence: c.Evidence, Active: c.Revoked.IsZero(), GrantedAt: c.Granted, RevokedAt: nullable.Time(c.Revoked),
		RevokedReason: nullable.String(c.RevokedReason)}
}

// SetupIntentView is what a front end needs to save a card with Stripe.js.
type SetupIntentView struct {
	Object         string `json:"object"`
	ID             string `json:"id"`
	ClientSecret   string `json:"client_secret"`
	PublishableKey string `json:"publishable_key"`
	Status         string `json:"status"`
	Usage          string `json:"usage"`
	Customer       string `json:"customer"`
}
