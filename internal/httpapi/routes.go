package httpapi

import "net/http"

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
	mux.Handle("GET /v1/api_keys/{id}", authed(handleAPIKeyGet(d.Platforms)))
	mux.Handle("POST /v1/api_keys/{id}/revoke", idempotent(handleAPIKeyRevoke(d.Platforms)))

	if d.Connect != nil {
		mux.Handle("POST /v1/merchants", idempotent(handleMerchantCreate(d.Connect)))
		mux.Handle("GET /v1/merchants", authed(handleMerchantList(d.Connect)))
		mux.Handle("GET /v1/merchants/{id}", authed(handleMerchantGet(d.Connect)))
		mux.Handle("POST /v1/merchants/{id}", idempotent(handleMerchantUpdate(d.Connect)))
		mux.Handle("POST /v1/merchants/{id}/archive", idempotent(handleMerchantArchive(d.Connect)))
		mux.Handle("POST /v1/merchants/{id}/connect_links", idempotent(handleConnectLinkCreate(d.Connect)))
		mux.Handle("POST /v1/merchants/{id}/refresh", idempotent(handleMerchantRefresh(d.Connect)))
		mux.Handle("POST /v1/merchants/{id}/disconnect", idempotent(handleMerchantDisconnect(d.Connect)))
	}

	if d.Wallet != nil {
		w := d.Wallet
		mux.Handle("POST /v1/customers", idempotent(handleCustomerCreate(w)))
		mux.Handle("GET /v1/customers", authed(handleCustomerList(w)))
		mux.Handle("GET /v1/customers/{id}", authed(handleCustomerGet(w)))
		mux.Handle("POST /v1/customers/{id}", idempotent(handleCustomerUpdate(w)))
		mux.Handle("POST /v1/customers/{id}/archive", idempotent(handleCustomerArchive(w)))
		mux.Handle("POST /v1/customers/{id}/setup_intents", idempotent(handleSetupIntentCreate(w)))
		mux.Handle("POST /v1/customers/{id}/payment_methods", idempotent(handlePaymentMethodRecord(w)))
		mux.Handle("GET /v1/customers/{id}/payment_methods", authed(handlePaymentMethodList(w)))
		mux.Handle("GET /v1/customers/{id}/payment_methods/{pm}", authed(handlePaymentMethodGet(w)))
		mux.Handle("POST /v1/customers/{id}/payment_methods/{pm}/default", idempotent(handlePaymentMethodDefault(w)))
		mux.Handle("POST /v1/customers/{id}/payment_methods/{pm}/detach", idempotent(handlePaymentMethodDetach(w)))
		mux.Handle("POST /v1/customers/{id}/consents", idempotent(handleConsentCreate(w)))
		mux.Handle("GET /v1/customers/{id}/consents", authed(handleConsentList(w)))
		mux.Handle("DELETE /v1/customers/{id}/consents/{consent}", authed(handleConsentRevoke(w)))
		mux.Handle("POST /v1/wallet_sessions", idempotent(handleWalletSessionCreate(w)))
	}

	if d.Payments != nil {
		p := d.Payments
		mux.Handle("GET /v1/fee_policy", authed(handleFeePolicyGet(p)))
		mux.Handle("POST /v1/fee_policy", idempotent(handleFeePolicySet(p)))
		mux.Handle("GET /v1/merchants/{id}/fee_policy", authed(handleMerchantFeePolicyGet(p)))
		mux.Handle("POST /v1/merchants/{id}/fee_policy", idempotent(handleMerchantFeePolicySet(p)))
		mux.Handle("DELETE /v1/merchants/{id}/fee_policy", authed(handleMerchantFeePolicyRemove(p)))
		mux.Handle("POST /v1/payments", idempotent(handlePaymentCreate(p)))
		mux.Handle("GET /v1/payments", authed(handlePaymentList(p)))
		mux.Handle("GET /v1/payments/{id}", authed(handlePaymentGet(p)))
		mux.Handle("POST /v1/payments/{id}/capture", idempotent(handlePaymentCapture(p)))
		mux.Handle("POST /v1/payments/{id}/cancel", idempotent(handlePaymentCancel(p)))
		mux.Handle("POST /v1/payments/{id}/refunds", idempotent(handleRefundCreate(p)))
		mux.Handle("GET /v1/payments/{id}/refunds", authed(handleRefundList(p)))
		mux.Handle("GET /v1/refunds/{id}", authed(handleRefundGet(p)))
		mux.Handle("POST /v1/checkout_links", idempotent(handleCheckoutLinkCreate(p)))
		mux.Handle("GET /v1/checkout_links/{id}", authed(handleCheckoutLinkGet(p)))
		mux.Handle("POST /v1/checkout_links/{id}/cancel", idempotent(handleCheckoutLinkCancel(p)))
	}

	mux.Handle("/v1/", authed(handleNoRoute()))
	mux.Handle("/", handleNoRoute())
}
