package httpapi

import (
	"net/http"
	"time"

	"github.com/tenderpay/tender/internal/checkout"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/dispute"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/payout"
	"github.com/tenderpay/tender/internal/standing"
	"github.com/tenderpay/tender/internal/stripeevents"
	"github.com/tenderpay/tender/internal/wallet"
	"github.com/tenderpay/tender/internal/webhooks"
)

// Ids in paths: every object is looked up by its Tender id alone (none by
// an external id or Stripe's), so a wildcard that cannot be one is a 404
// before the handler runs (pathID), named as the service names it.
var (
	apiKeyID   = pathID("id", id.APIKey, "API key", "id")
	merchantID = pathID("id", connect.MerchantPrefix, "merchant", "merchant")
	customerID = pathID("id", wallet.CustomerPrefix, "customer", "customer")
	cardID     = pathID("pm", wallet.PaymentMethodPrefix, "payment method", "payment_method")
	consentID  = pathID("consent", wallet.ConsentPrefix, "consent", "consent")
	paymentID  = pathID("id", payment.PaymentPrefix, "payment", "id")
	refundID   = pathID("id", payment.RefundPrefix, "refund", "id")
	checkoutID = pathID("id", checkout.LinkPrefix, "checkout link", "id")
	eventID    = pathID("id", event.Prefix, "event", "id")
	endpointID = pathID("id", webhooks.EndpointPrefix, "webhook endpoint", "id")
	stripeEvID = pathID("id", stripeevents.EventPrefix, "Stripe event", "id")
	disputeID  = pathID("id", dispute.Prefix, "dispute", "id")
	standingID = pathID("id", standing.Prefix, "standing order", "id")
	payoutID   = pathID("id", payout.Prefix, "payout", "id")
)

// addRoutes lists every route of the API. Routes under /v1/ except the
// OpenAPI document need a secret API key; POSTs honour Idempotency-Key.
func addRoutes(mux *http.ServeMux, d Deps) {
	authed := func(h http.Handler) http.Handler {
		return limitBody(requireAPIKey(d.Platforms, d.Logger)(h))
	}
	idempotent := func(h http.Handler) http.Handler {
		return authed(withIdempotency(d.Idempotency, d.Logger)(h))
	}

	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(d.Ready, d.Logger))
	mux.Handle("GET /v1/openapi.json", handleOpenAPI())

	mux.Handle("GET /v1/platform", authed(handlePlatformGet(d.Platforms)))
	mux.Handle("POST /v1/platform", idempotent(handlePlatformUpdate(d.Platforms)))
	mux.Handle("GET /v1/platform/stripe", authed(handlePlatformStripeGet(d.Platforms)))
	mux.Handle("POST /v1/platform/stripe", idempotent(handlePlatformStripeUpdate(d.Platforms, d.forgetStripeClient)))

	mux.Handle("GET /v1/api_keys", authed(handleAPIKeyList(d.Platforms)))
	mux.Handle("GET /v1/api_keys/{id}", authed(apiKeyID(handleAPIKeyGet(d.Platforms))))
	mux.Handle("POST /v1/api_keys/{id}/revoke", idempotent(apiKeyID(handleAPIKeyRevoke(d.Platforms))))

	if d.Connect != nil {
		mux.Handle("POST /v1/merchants", idempotent(handleMerchantCreate(d.Connect)))
		mux.Handle("GET /v1/merchants", authed(handleMerchantList(d.Connect)))
		mux.Handle("GET /v1/merchants/{id}", authed(merchantID(handleMerchantGet(d.Connect))))
		mux.Handle("POST /v1/merchants/{id}", idempotent(merchantID(handleMerchantUpdate(d.Connect))))
		mux.Handle("POST /v1/merchants/{id}/archive", idempotent(merchantID(handleMerchantArchive(d.Connect))))
		mux.Handle("POST /v1/merchants/{id}/connect_links", idempotent(merchantID(handleConnectLinkCreate(d.Connect))))
		mux.Handle("POST /v1/merchants/{id}/refresh", idempotent(merchantID(handleMerchantRefresh(d.Connect))))
		mux.Handle("POST /v1/merchants/{id}/disconnect", idempotent(merchantID(handleMerchantDisconnect(d.Connect))))
	}

	if d.Wallet != nil {
		w := d.Wallet
		mux.Handle("POST /v1/customers", idempotent(handleCustomerCreate(w)))
		mux.Handle("GET /v1/customers", authed(handleCustomerList(w)))
		mux.Handle("GET /v1/customers/{id}", authed(customerID(handleCustomerGet(w))))
		mux.Handle("POST /v1/customers/{id}", idempotent(customerID(handleCustomerUpdate(w))))
		mux.Handle("POST /v1/customers/{id}/archive", idempotent(customerID(handleCustomerArchive(w))))
		mux.Handle("POST /v1/customers/{id}/setup_intents", idempotent(customerID(handleSetupIntentCreate(w))))
		mux.Handle("POST /v1/customers/{id}/payment_methods", idempotent(customerID(handlePaymentMethodRecord(w))))
		mux.Handle("GET /v1/customers/{id}/payment_methods", authed(customerID(handlePaymentMethodList(w))))
		mux.Handle("GET /v1/customers/{id}/payment_methods/{pm}", authed(customerID(cardID(handlePaymentMethodGet(w)))))
		mux.Handle("POST /v1/customers/{id}/payment_methods/{pm}/default", idempotent(customerID(cardID(handlePaymentMethodDefault(w)))))
		mux.Handle("POST /v1/customers/{id}/payment_methods/{pm}/detach", idempotent(customerID(cardID(handlePaymentMethodDetach(w)))))
		mux.Handle("POST /v1/customers/{id}/consents", idempotent(customerID(handleConsentCreate(w))))
		mux.Handle("GET /v1/customers/{id}/consents", authed(customerID(handleConsentList(w))))
		mux.Handle("DELETE /v1/customers/{id}/consents/{consent}", authed(customerID(consentID(handleConsentRevoke(w)))))
		mux.Handle("POST /v1/wallet_sessions", idempotent(handleWalletSessionCreate(w)))
	}

	if d.Payments != nil {
		p := d.Payments
		mux.Handle("GET /v1/fee_policy", authed(handleFeePolicyGet(p)))
		mux.Handle("POST /v1/fee_policy", idempotent(handleFeePolicySet(p)))
		mux.Handle("GET /v1/merchants/{id}/fee_policy", authed(merchantID(handleMerchantFeePolicyGet(p))))
		mux.Handle("POST /v1/merchants/{id}/fee_policy", idempotent(merchantID(handleMerchantFeePolicySet(p))))
		mux.Handle("DELETE /v1/merchants/{id}/fee_policy", authed(merchantID(handleMerchantFeePolicyRemove(p))))
		mux.Handle("POST /v1/payments", idempotent(handlePaymentCreate(p)))
		mux.Handle("GET /v1/payments", authed(handlePaymentList(p)))
		mux.Handle("GET /v1/payments/{id}", authed(paymentID(handlePaymentGet(p))))
		mux.Handle("POST /v1/payments/{id}/capture", idempotent(paymentID(handlePaymentCapture(p))))
		mux.Handle("POST /v1/payments/{id}/cancel", idempotent(paymentID(handlePaymentCancel(p))))
		mux.Handle("POST /v1/payments/{id}/refunds", idempotent(paymentID(handleRefundCreate(p))))
		mux.Handle("GET /v1/payments/{id}/refunds", authed(paymentID(handleRefundList(p))))
		mux.Handle("GET /v1/refunds/{id}", authed(refundID(handleRefundGet(p))))
	}

	if d.Checkout != nil {
		c := d.Checkout
		mux.Handle("POST /v1/checkout_links", idempotent(handleCheckoutLinkCreate(c)))
		mux.Handle("GET /v1/checkout_links/{id}", authed(checkoutID(handleCheckoutLinkGet(c))))
		mux.Handle("POST /v1/checkout_links/{id}/cancel", idempotent(checkoutID(handleCheckoutLinkCancel(c))))
	}

	if d.Events != nil {
		mux.Handle("GET /v1/events", authed(handleEventList(d.Events, d.EventRetention, time.Now)))
		mux.Handle("GET /v1/events/{id}", authed(eventID(handleEventGet(d.Events))))
	}

	if d.Disputes != nil {
		ds := d.Disputes
		mux.Handle("GET /v1/disputes", authed(handleDisputeList(ds)))
		mux.Handle("GET /v1/disputes/{id}", authed(disputeID(handleDisputeGet(ds))))
		mux.Handle("POST /v1/disputes/{id}/evidence", idempotent(disputeID(handleDisputeEvidence(ds))))
		mux.Handle("POST /v1/disputes/{id}/close", idempotent(disputeID(handleDisputeClose(ds))))
	}

	if d.Payouts != nil {
		mux.Handle("GET /v1/payouts", authed(handlePayoutList(d.Payouts)))
		mux.Handle("GET /v1/payouts/{id}", authed(payoutID(handlePayoutGet(d.Payouts))))
	}

	if d.Standing != nil {
		st := d.Standing
		mux.Handle("GET /v1/standing_policy", authed(handleStandingPolicyGet(st)))
		mux.Handle("POST /v1/standing_policy", idempotent(handleStandingPolicySet(st)))
		mux.Handle("POST /v1/standing_orders", idempotent(handleStandingCreate(st)))
		mux.Handle("GET /v1/standing_orders", authed(handleStandingList(st)))
		mux.Handle("GET /v1/standing_orders/{id}", authed(standingID(handleStandingGet(st))))
		mux.Handle("POST /v1/standing_orders/{id}", idempotent(standingID(handleStandingUpdate(st))))
		mux.Handle("POST /v1/standing_orders/{id}/pause", idempotent(standingID(handleStandingMove(st.Pause))))
		mux.Handle("POST /v1/standing_orders/{id}/resume", idempotent(standingID(handleStandingMove(st.Resume))))
		mux.Handle("POST /v1/standing_orders/{id}/cancel", idempotent(standingID(handleStandingMove(st.Cancel))))
		mux.Handle("GET /v1/standing_orders/{id}/cycles", authed(standingID(handleStandingCycles(st))))
	}

	if d.StripeEvents != nil {
		se := d.StripeEvents
		// Stripe's deliveries: signed by Stripe, so no API key, and
		// answered within the request; the body limit is the API's.
		mux.Handle("POST /webhooks/stripe/{platform}/{scope}", limitBody(handleStripeWebhook(se)))
		mux.Handle("GET /v1/platform/stripe/webhook_endpoints", authed(handleStripeEndpointList(se)))
		mux.Handle("POST /v1/platform/stripe/webhook_endpoints", idempotent(handleStripeEndpointSetup(se)))
		mux.Handle("POST /v1/platform/stripe/webhook_endpoints/roll", idempotent(handleStripeEndpointRoll(se)))
		mux.Handle("GET /v1/stripe_events", authed(handleStripeEventList(se)))
		mux.Handle("GET /v1/stripe_events/coverage", authed(handleStripeEventCoverage(se)))
		mux.Handle("GET /v1/stripe_events/{id}", authed(stripeEvID(handleStripeEventGet(se))))
		mux.Handle("POST /v1/stripe_events/{id}/replay", idempotent(stripeEvID(handleStripeEventReplay(se))))
	}

	if d.Webhooks != nil {
		wh := d.Webhooks
		mux.Handle("POST /v1/events/{id}/redeliver", idempotent(eventID(handleEventRedeliver(wh))))
		mux.Handle("POST /v1/webhook_endpoints", idempotent(handleWebhookEndpointCreate(wh)))
		mux.Handle("GET /v1/webhook_endpoints", authed(handleWebhookEndpointList(wh)))
		mux.Handle("GET /v1/webhook_endpoints/{id}", authed(endpointID(handleWebhookEndpointGet(wh))))
		mux.Handle("POST /v1/webhook_endpoints/{id}", idempotent(endpointID(handleWebhookEndpointUpdate(wh))))
		mux.Handle("DELETE /v1/webhook_endpoints/{id}", authed(endpointID(handleWebhookEndpointDelete(wh))))
		mux.Handle("POST /v1/webhook_endpoints/{id}/rotate", idempotent(endpointID(handleWebhookEndpointRotate(wh))))
		mux.Handle("POST /v1/webhook_endpoints/{id}/recover", idempotent(endpointID(handleWebhookEndpointRecover(wh))))
		mux.Handle("GET /v1/webhook_endpoints/{id}/attempts", authed(endpointID(handleWebhookAttemptList(wh))))
	}

	if d.Ledger != nil {
		mux.Handle("GET /v1/balances", authed(handleBalances(d.Ledger, d.Now)))
		mux.Handle("GET /v1/ledger/entries", authed(handleLedgerEntryList(d.Ledger)))
		mux.Handle("GET /v1/reports/transactions", authed(handleTransactionsReport(d.Ledger, d.Now, false)))
		mux.Handle("GET /v1/reports/transactions.csv", authed(handleTransactionsReport(d.Ledger, d.Now, true)))
	}

	mux.Handle("/v1/", authed(handleNoRoute()))
	mux.Handle("/", handleNoRoute())
}
