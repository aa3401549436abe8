package stripeevents

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/tenderpay/tender/internal/nullable"
)

// View is an event of the inbox as the API shows it. The event as Stripe
// sent it, and the request it came in, are shown with one event, not in
// lists.
type View struct {
	ID                string          `json:"id"`
	Object            string          `json:"object"`
	StripeID          string          `json:"stripe_id"`
	Type              string          `json:"type"`
	Account           *string         `json:"account"`
	ObjectID          *string         `json:"object_id"`
	Livemode          bool            `json:"livemode"`
	APIVersion        *string         `json:"api_version"`
	StripeCreated     time.Time       `json:"stripe_created_at"`
	Source            string          `json:"source"`
	WebhookDeliveries int             `json:"webhook_deliveries"`
	State             State           `json:"state"`
	Attempts          int             `json:"attempts"`
	Outcome           *string         `json:"outcome"`
	LastError         *string         `json:"last_error"`
	Received          time.Time       `json:"received_at"`
	Applied           *time.Time      `json:"applied_at"`
	Request           *RequestView    `json:"request,omitempty"`
	Payload           json.RawMessage `json:"payload,omitempty"`
}

// RequestView is the request that brought an event by webhook.
type RequestView struct {
	RemoteAddr string      `json:"remote_addr"`
	Headers    http.Header `json:"headers"`
}

// View returns the event as lists show it.
func (e *Event) View() View {
	return View{ID: e.ID, Object: "stripe_event", StripeID: e.StripeID, Type: e.Type, Account: nullable.String(e.Account),
		ObjectID: nullable.String(e.ObjectID), Livemode: e.Livemode, APIVersion: nullable.String(e.APIVersion),
		StripeCreated: e.StripeCreated, Source: e.Source, WebhookDeliveries: e.WebhookDeliveries, State: e.State,
		Attempts: e.Attempts, Outcome: nullable.String(e.Outcome), LastError: nullable.String(e.LastError),
		Received: e.Received, Applied: e.Applied}
}

// FullView returns the event with what Stripe sent and how.
func (e *Event) FullView() View {
	v := e.View()
	v.Payload = e.Body()
	if e.Source == sourceWebhook || e.WebhookDeliveries > 0 {
		v.Request = &RequestView{RemoteAddr: e.RemoteAddr, Headers: e.Headers}
	}
	return v
}
